"""Read programs: each yields the Cosmos operations that answer one read request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_picoflow import codec
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.mapping import revision_of
from langgraph_picoflow.patch import AppendHistory, from_json
from langgraph_picoflow.records import CheckpointRecord, SessionRecord
from langgraph_picoflow.stores.cosmos import items as it
from langgraph_picoflow.stores.cosmos.expiry import expired
from langgraph_picoflow.stores.cosmos.ids import check_thread_id
from langgraph_picoflow.stores.cosmos.ops import PatchItem, Query, ReadItem, status
from langgraph_picoflow.stores.cosmos.purge import purge
from langgraph_picoflow.stores.cosmos.rebuild import rebuild
from langgraph_picoflow.stores.cosmos.space import entry_key, plain, space_key, stub
from langgraph_picoflow.stores.cosmos.state import Known, Program, StoreState
from langgraph_picoflow.stores.cosmos.tip import TIP_ID, Tip
from langgraph_picoflow.stores.memory import metadata_matches
from langgraph_picoflow.stores.protocol import HeadRead, ListCheckpoints, ReadBlobs, ReadWrites

#: Everything a head needs from the log, in one single-partition query.
HEAD_KINDS = ("tip", "block", "spill", "big")
_HEAD_QUERY = (
    "SELECT * FROM c WHERE c.thread_id = @t AND (c.kind IN ('tip', 'block', 'spill', 'big')"
    " OR (c.kind = 'part' AND c.of_kind IN ('tip', 'block', 'spill', 'big')))"
)
_LIGHT_FIELDS = "c.id, c.thread_id, c.kind, c.ns, c.cid, c.parent, c.seq, c.meta, c.checkpoint"


def read_head_item(state: StoreState, thread_id: str) -> Program:
    """The head item (system fields included) or ``None``."""
    try:
        head: dict[str, Any] = yield ReadItem("sessions", thread_id, thread_id)
    except Exception as exc:
        if status(exc) != 404:
            raise
        return None
    return head


def fetch_parts(state: StoreState, thread_id: str, found: Sequence[it.Item]) -> Program:
    """``found`` with split items joined to their parts (one query when any is split)."""
    owners = it.needs_parts(found)
    if not owners:
        return list(found)
    parts = yield Query(
        "log",
        "SELECT * FROM c WHERE c.thread_id = @t AND c.kind = 'part' "
        "AND ARRAY_CONTAINS(@o, c.owner)",
        (("@t", thread_id), ("@o", owners)),
        thread_id,
        state.config.page_size,
    )
    return it.join(found, parts)


def read_tip(state: StoreState, thread_id: str) -> Program:
    """The tip item decoded, or ``None``."""
    try:
        raw = yield ReadItem("log", TIP_ID, thread_id)
    except Exception as exc:
        if status(exc) != 404:
            raise
        return None
    joined = yield from fetch_parts(state, thread_id, [raw])
    return Tip.from_item(joined[0], raw)


def _classify(rows: list[it.Item]) -> tuple[it.Item | None, dict[str, list[it.Item]]]:
    mains = [r for r in rows if r.get("kind") != "part"]
    joined = it.join(mains, (r for r in rows if r.get("kind") == "part"))
    tip_raw = next((r for r in mains if r["kind"] == "tip"), None)
    groups: dict[str, list[it.Item]] = {k: [] for k in HEAD_KINDS}
    for row in joined:
        groups[row["kind"]].append(row)
    return tip_raw, groups


def missing_appends(head: dict[str, Any], tip: Tip | None) -> list[list[dict[str, Any]]]:
    """Appends a patch chain left out of the head (its writer stopped between requests).

    Only a head at the tip's revision can be behind it; the entries come from the tip's
    checkpoint, which was written before the head (see :mod:`.headplan`).
    """
    if tip is None or tip.rev is None or head.get("saveOn") != tip.rev or tip.record is None:
        return []
    session = tip.record.get("session")
    if not isinstance(session, str):
        return []
    data = codec.loads(session)
    if data.get("rev") != tip.rev:
        return []
    appended = {
        (op.flow, op.ns): op for op in from_json(data["patch"]) if isinstance(op, AppendHistory)
    }
    ops: list[dict[str, Any]] = []
    for (f, n), op in sorted(appended.items()):
        sp = tip.spaces.get(space_key(f, n))
        try:
            present = len(head["flows"][f]["memory"][n]["history"])
        except (KeyError, IndexError, TypeError):
            return []
        if sp is None:
            continue
        for p in range(sp.spill + present, sp.length):
            i = p - op.start
            if not 0 <= i < len(op.entries):
                raise StoreError(
                    f"session {head.get('id')!r}: cannot complete an interrupted update"
                )
            entry = op.entries[i]
            value = stub(entry) if entry_key(entry) in sp.stubs else entry
            ops.append(
                {"op": "add", "path": f"/flows/{f}/memory/{n}/history/-", "value": plain(value)}
            )
    return [ops] if ops else []


def complete_head(
    state: StoreState, thread_id: str, head: dict[str, Any], tip: Tip | None
) -> Program:
    """The head with any interrupted patch chain finished (see :func:`missing_appends`)."""
    for _ in range(8):
        missing = missing_appends(head, tip)
        if not missing:
            return head
        limit = state.limits.patch_ops
        ops = missing[0]
        try:
            for i in range(0, len(ops), limit):
                head = yield PatchItem(
                    "sessions", thread_id, thread_id, ops[i : i + limit], head["_etag"]
                )
        except Exception as exc:
            if status(exc) != 412:
                raise
            head = yield from read_head_item(state, thread_id)  # another reader helped
            if head is None:
                return None
    raise StoreError(f"session {thread_id!r}: could not complete an interrupted update")


def read_head(state: StoreState, thread_id: str) -> Program:
    """``ReadHead``: the head item and one query for the rest (two requests)."""
    check_thread_id(thread_id)
    head = yield from read_head_item(state, thread_id)
    rows = yield Query("log", _HEAD_QUERY, (("@t", thread_id),), thread_id, state.config.page_size)
    tip_raw, groups = _classify(rows)
    tip = None
    if groups["tip"]:
        assert tip_raw is not None
        tip = Tip.from_item(groups["tip"][0], tip_raw)
    if state.config.expire_after is not None and expired(state, head, tip_raw):
        yield from purge(state, thread_id)
        return HeadRead(None, None, [], [])
    session = None
    if head is not None:
        head = yield from complete_head(state, thread_id, head, tip)
    if head is not None:
        doc, sidecars = rebuild(head, tip, groups["block"], groups["spill"], groups["big"])
        session = SessionRecord(doc, sidecars, revision_of(doc))
    state.known[thread_id] = Known(
        head.get("_etag") if head else None, session.revision if session else None, tip
    )
    if tip is None or tip.record is None:
        return HeadRead(session, None, [], [])
    latest = it.checkpoint_record(tip.record)
    writes = [it.write_record(w) for w in tip.writes.values()]
    blobs = [it.blob_record(b) for b in tip.blobs.values()]
    return HeadRead(session, latest, writes, blobs)


def read_checkpoint(state: StoreState, thread_id: str, ns: str, cid: str) -> Program:
    """One checkpoint by id (a point read), or ``None``."""
    try:
        raw = yield ReadItem("log", it.checkpoint_id(ns, cid), thread_id)
    except Exception as exc:
        if status(exc) != 404:
            raise
        return None
    joined = yield from fetch_parts(state, thread_id, [raw])
    return it.checkpoint_record(joined[0])


def list_checkpoints(state: StoreState, q: ListCheckpoints) -> Program:
    """Checkpoints newest first; metadata is pre-filtered by the query, checked exactly here."""
    if q.thread_id is not None:
        check_thread_id(q.thread_id)
    where: list[str] = ["c.kind = 'checkpoint'"]
    params: list[tuple[str, Any]] = []
    for field, name, value in (
        ("thread_id", "@t", q.thread_id),
        ("ns", "@ns", q.checkpoint_ns),
        ("cid", "@cid", q.checkpoint_id),
    ):
        if value is not None:
            where.append(f"c.{field} = {name}")
            params.append((name, value))
    if q.before is not None:
        where.append("c.cid < @before")
        params.append(("@before", q.before))
    if q.run_ids is not None:
        where.append("ARRAY_CONTAINS(@runs, c.run_id)")
        params.append(("@runs", list(q.run_ids)))
    for i, (key, value) in enumerate((q.metadata or {}).items()):
        if isinstance(value, (str, bool)) or (isinstance(value, int) and abs(value) < 2**53):
            where.append(f"c.metadata[@mk{i}] = @mv{i}")
            params += [(f"@mk{i}", key), (f"@mv{i}", value)]
    top = f"TOP {int(q.limit)} " if q.limit is not None and not q.metadata else ""
    fields = "*" if q.with_session else _LIGHT_FIELDS + ", c.parts, c.pgen"
    text = f"SELECT {top}{fields} FROM c WHERE {' AND '.join(where)} ORDER BY c.cid DESC"
    rows: list[it.Item] = yield Query(
        "log", text, tuple(params), q.thread_id, state.config.page_size
    )
    records: list[CheckpointRecord] = []
    for tid in dict.fromkeys(r["thread_id"] for r in rows):
        mine = [r for r in rows if r["thread_id"] == tid]
        joined = yield from fetch_parts(state, tid, mine)
        records += [it.checkpoint_record(r) for r in joined]
    records.sort(key=lambda r: r.checkpoint_id, reverse=True)
    if q.metadata:
        records = [r for r in records if metadata_matches(r.metadata, q.metadata)]
    return records[: q.limit] if q.limit is not None else records


def _scoped(
    state: StoreState,
    kind: str,
    thread_id: str,
    ns: str | None,
    filters: list[tuple[str, str, list[Any] | None]],
) -> Program:
    """Items of one kind in a thread's partition, optionally of a namespace.

    ``filters`` are ``(field, parameter, values)``: the field's value must be one of
    ``values`` (``None``: any). An empty list of values matches nothing.
    """
    check_thread_id(thread_id)
    where = ["c.thread_id = @t", f"c.kind = '{kind}'"]
    params: list[tuple[str, Any]] = [("@t", thread_id)]
    if ns is not None:
        where.append("c.ns = @ns")
        params.append(("@ns", ns))
    for name, param, values in filters:
        if values is None:
            continue
        if not values:
            return []
        where.append(f"ARRAY_CONTAINS({param}, c.{name})")
        params.append((param, values))
    rows = yield Query(
        "log",
        f"SELECT * FROM c WHERE {' AND '.join(where)}",
        tuple(params),
        thread_id,
        state.config.page_size,
    )
    return (yield from fetch_parts(state, thread_id, rows))


def read_writes(state: StoreState, q: ReadWrites) -> Program:
    """Pending writes of a thread (optionally of some checkpoints and channels)."""
    cids = list(q.checkpoint_ids) if q.checkpoint_ids is not None else None
    channels = list(q.channels) if q.channels is not None else None
    filters = [("cid", "@cids", cids), ("channel", "@chs", channels)]
    rows = yield from _scoped(state, "write", q.thread_id, q.checkpoint_ns, filters)
    return [it.write_record(r) for r in rows]


def read_blobs(state: StoreState, q: ReadBlobs) -> Program:
    """Channel values of a thread (optionally only some ``(channel, version)`` keys)."""
    keys = [it.blob_key(ch, v) for ch, v in q.keys] if q.keys is not None else None
    rows = yield from _scoped(state, "blob", q.thread_id, q.checkpoint_ns, [("key", "@k", keys)])
    return [it.blob_record(r) for r in rows]


def list_threads(state: StoreState) -> Program:
    """Thread ids with a head or a log, sorted."""
    heads = yield Query("sessions", "SELECT VALUE c.id FROM c", (), None, state.config.page_size)
    logs = yield Query(
        "log",
        "SELECT VALUE c.thread_id FROM c WHERE c.kind = 'checkpoint'",
        (),
        None,
        state.config.page_size,
    )
    return sorted(set(heads) | set(logs))
