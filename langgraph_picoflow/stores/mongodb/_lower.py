"""Operations lowered to pymongo calls, shared by the sync and the async store.

:func:`lower` turns one :mod:`._ops` operation into the driver calls that perform it, as
a generator of :class:`Call` (target object, method, arguments): the sync store calls
them, the async one awaits them. Driver errors come back into the generator, which turns
write errors into :class:`~._ops.BulkResult` values the programs can reason about.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pymongo import DeleteMany, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    DocumentTooLarge,
    OperationFailure,
    PyMongoError,
)
from pymongo.write_concern import WriteConcern

from langgraph_picoflow.stores.mongodb._ops import (
    Aggregate,
    Bulk,
    BulkResult,
    Command,
    CreateIndex,
    Delete,
    Distinct,
    Failed,
    Find,
    Insert,
    Model,
    Op,
    Replace,
    Txn,
    Update,
    WriteFailure,
)
from langgraph_picoflow.stores.mongodb._program import lookup_names

_TOO_LARGE_CODES = {10334, 17419, 17420}
_TRANSIENT_CODES = {112, 251}  # WriteConflict, NoSuchTransaction


@dataclass(frozen=True)
class Call:
    """``target.method(*args, **kwargs)``; ``collect``: the result is a cursor to list."""

    target: Any
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    collect: bool = False


@dataclass
class Handles:
    """The driver objects one request runs against (and its transaction session)."""

    client: Any
    colls: Mapping[str, Any]
    namespaces: Mapping[str, str]
    write_concern: WriteConcern
    session: Any = None


Lowered: TypeAlias = Generator[Call, Any, Any]


def run(program: Generator[Op, Any, Any], h: Handles) -> Lowered:
    """Run a store program, lowering each operation it yields into driver calls."""
    try:
        op = next(program)
        while True:
            try:
                answer = yield from lower(op, h)
            except Exception as exc:
                op = program.throw(exc)
            else:
                op = program.send(answer)
    except StopIteration as stop:
        return stop.value
    finally:
        if h.session is not None:  # a program that failed inside a transaction
            yield from _end(h)


def lower(op: Op, h: Handles) -> Lowered:
    """The driver calls performing ``op``; returns its result."""
    s = {"session": h.session} if h.session is not None else {}
    if isinstance(op, Bulk):
        return (yield from _client_bulk(op, h) if op.client else _bulk(op, h))
    if isinstance(op, Txn):
        return (yield from _txn(op, h))
    if isinstance(op, Command):
        return (yield Call(h.client.admin, "command", (op.name,)))
    coll = h.colls[op.coll]
    if isinstance(op, Find):
        kwargs: dict[str, Any] = {"projection": op.projection, "limit": op.limit, **s}
        if op.sort:
            kwargs["sort"] = list(op.sort)
        return (yield Call(coll, "find", (dict(op.filter),), kwargs, collect=True))
    if isinstance(op, Aggregate):
        pipeline = lookup_names(
            op.pipeline, {k: v.split(".", 1)[1] for k, v in h.namespaces.items()}
        )
        try:
            return (yield Call(coll, "aggregate", (pipeline,), s, collect=True))
        except OperationFailure as exc:
            if op.fallible:
                return Failed(exc.code, str(exc))
            raise
    if isinstance(op, Distinct):
        return (yield Call(coll, "distinct", (op.key,), s))
    assert isinstance(op, CreateIndex)
    options = {"name": op.name, **({"sparse": True} if op.sparse else {})}
    return (yield Call(coll, "create_index", (list(op.keys),), options))


# --- transactions ---------------------------------------------------------------------


def _txn(op: Txn, h: Handles) -> Lowered:
    if op.action == "start":
        h.session = yield Call(h.client, "start_session")
        yield Call(h.session, "start_transaction", kwargs={"write_concern": h.write_concern})
        return None
    if op.action == "abort":
        yield from _end(h)
        return None
    try:
        for _ in range(3):
            try:
                yield Call(h.session, "commit_transaction")
                return None
            except PyMongoError as exc:
                # The commit may have applied: committing again is safe, retrying is not.
                if not _labelled(exc, "UnknownTransactionCommitResult"):
                    return _failure(0, exc)
        return _failure(0, OperationFailure("commit outcome unknown"))
    finally:
        yield Call(h.session, "end_session")
        h.session = None


def _end(h: Handles) -> Lowered:
    session, h.session = h.session, None
    # It may be aborted already (a failed write aborts it): nothing left to undo then.
    with contextlib.suppress(PyMongoError):
        yield Call(session, "abort_transaction")
    yield Call(session, "end_session")


# --- bulk writes ----------------------------------------------------------------------


def _labelled(exc: BaseException, label: str) -> bool:
    return isinstance(exc, PyMongoError) and exc.has_error_label(label)


def _failure(
    index: int, exc: BaseException, code: int | None = None, msg: str = ""
) -> WriteFailure:
    code = code if code is not None else getattr(exc, "code", None)
    message = msg or str(exc)
    if code == 11000:
        kind = "duplicate"
    elif (
        isinstance(exc, DocumentTooLarge)
        or code in _TOO_LARGE_CODES
        or "too large" in message.lower()
    ):
        kind = "too_large"
    elif _labelled(exc, "TransientTransactionError") or code in _TRANSIENT_CODES:
        kind = "transient"
    else:
        kind = "other"
    return WriteFailure(index, kind, code, message)  # type: ignore[arg-type]


def _model(m: Model, namespace: str | None = None) -> Any:
    """The pymongo model; ``namespace`` (``db.coll``) only for the client-level bulkWrite."""
    if isinstance(m, Insert):
        return InsertOne(dict(m.doc), namespace=namespace)
    if isinstance(m, Update):
        return UpdateOne(dict(m.filter), dict(m.update), upsert=m.upsert, namespace=namespace)
    if isinstance(m, Replace):
        return ReplaceOne(dict(m.filter), dict(m.doc), upsert=m.upsert, namespace=namespace)
    return DeleteMany(dict(m.filter), namespace=namespace)


def _counted(m: Model) -> bool:
    """Models whose own matched/deleted count the programs read: they run alone."""
    return isinstance(m, Delete) or (isinstance(m, Update | Replace) and not m.upsert)


def _groups(models: Sequence[Model]) -> list[list[Model]]:
    groups: list[list[Model]] = []
    for m in models:
        if (
            groups
            and groups[-1][0].coll == m.coll
            and not _counted(m)
            and not _counted(groups[-1][0])
        ):
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _bulk(op: Bulk, h: Handles) -> Lowered:
    """One ``bulk_write`` per run of models on a collection; stops at the first error."""
    s = {"session": h.session} if h.session is not None else {}
    result, offset = BulkResult(), 0
    for group in _groups(op.models):
        models = [_model(m) for m in group]
        try:
            res = yield Call(
                h.colls[group[0].coll], "bulk_write", (models,), {"ordered": True, **s}
            )
        except BulkWriteError as exc:
            details = exc.details
            result.upserted |= {offset + u["index"] for u in details.get("upserted", [])}
            first = details["writeErrors"][0]
            result.error = _failure(
                offset + first["index"], exc, first.get("code"), first.get("errmsg", "")
            )
            return result
        except (OperationFailure, DocumentTooLarge) as exc:
            result.error = _failure(offset, exc)
            return result
        if len(group) == 1 and _counted(group[0]):
            deleted = isinstance(group[0], Delete)
            result.counts[offset] = res.deleted_count if deleted else res.matched_count
        result.upserted |= {offset + i for i in res.upserted_ids}
        offset += len(group)
    return result


def _client_bulk(op: Bulk, h: Handles) -> Lowered:
    """One client-level ``bulkWrite`` across collections (MongoDB 8.0+)."""
    models = [_model(m, h.namespaces[m.coll]) for m in op.models]
    if h.session is not None:
        kwargs: dict[str, Any] = {"session": h.session}
    else:
        kwargs = {"write_concern": h.write_concern}
    result = BulkResult()
    try:
        res = yield Call(
            h.client, "bulk_write", (models,), {"ordered": True, "verbose_results": True, **kwargs}
        )
    except ClientBulkWriteException as exc:
        if exc.partial_result is not None:
            _verbose(exc.partial_result, result)
        errors: list[Any] = list(exc.write_errors or [])
        if errors:
            first = errors[0]
            result.error = _failure(first["idx"], exc, first.get("code"), first.get("errmsg", ""))
        else:
            error = exc.error if isinstance(exc.error, BaseException) else exc
            result.error = _failure(0, error)
        return result
    except (OperationFailure, DocumentTooLarge) as exc:
        result.error = _failure(0, exc)
        return result
    _verbose(res, result)
    return result


def _verbose(res: Any, result: BulkResult) -> None:
    for i, update in res.update_results.items():
        result.counts[i] = update.matched_count
        if update.upserted_id is not None:
            result.upserted.add(i)
    for i, delete in res.delete_results.items():
        result.counts[i] = delete.deleted_count
