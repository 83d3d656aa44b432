"""The saver's logic as sans-I/O plans.

Each public operation of the checkpointer is a generator that *yields* store requests
(:mod:`langgraph_picoflow.stores.protocol`) and receives their results; it returns the
operation's result. It does no I/O itself, so the sync and async savers are two tiny
drivers over the same code (see :mod:`langgraph_picoflow.saver`), and the logic is tested
against an in-memory store without a database.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeAlias, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import ERROR

from langgraph_picoflow import mapping
from langgraph_picoflow import patch as patches
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    HeadRead,
    ListCheckpoints,
    ListThreads,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    ReadBlobs,
    ReadCheckpoint,
    ReadHead,
    ReadWrites,
    Request,
    StoreOp,
    UpdateSession,
    Write,
    head_blob_keys,
)

Plan: TypeAlias = Generator[Request, Any, Any]
_PRIMITIVES = (str, int, float, bool, type(None))


@dataclass
class Head:
    """A session head as the saver knows it: the stored record plus what the log says."""

    record: SessionRecord
    #: The root log entry whose revision the head carries; ``None``: the head is not in
    #: the log (written by Picoflow, imported, or changed by someone else).
    entry: CheckpointRecord | None
    #: Highest ``seq`` of the root log.
    seq: int
    #: The newest root log entry (the parent of an adopted head).
    latest: CheckpointRecord | None = None
    #: The message objects last restored from or written to the head, per namespace.
    messages: dict[str, list[BaseMessage]] = field(default_factory=dict)
    #: Writes and blobs of ``entry``, when they came with the head in one read.
    prefetched: tuple[list[WriteRecord], list[BlobRecord]] | None = None


@dataclass
class Context:
    """Everything a plan needs besides the store: serializer, layout, clock, randomness."""

    serde: SerializerProtocol
    config: mapping.SessionConfig
    clock: Callable[[], datetime]
    rng: random.Random
    next_version: Callable[[Any], Any]
    #: Heads this saver has read or written, by thread id (validated by compare-and-swap).
    heads: dict[str, Head] = field(default_factory=dict)


# --- heads ----------------------------------------------------------------------------


def load_head(ctx: Context, thread_id: str, *, cached: bool = False) -> Plan:
    """The current head of a thread, rolled forward if a crash left it behind its log."""
    if cached and thread_id in ctx.heads:
        return ctx.heads[thread_id]
    read: HeadRead = yield ReadHead(thread_id)
    record, latest = read.session, read.latest
    if record is None:
        ctx.heads.pop(thread_id, None)
        return None
    head = Head(record, None, latest.seq if latest else 0, latest)
    if latest is not None and latest.session is not None:
        if latest.session["rev"] == record.revision:
            head.entry, head.prefetched = latest, (read.writes, read.blobs)
        else:
            head = yield from _roll_forward(ctx, thread_id, head)
    ctx.heads[thread_id] = head
    return head


def _roll_forward(ctx: Context, thread_id: str, head: Head) -> Plan:
    """Apply log entries written after the head's revision (the head update was lost).

    Entries are followed by their ``base -> rev`` links, so an entry left behind by a
    writer that lost a compare-and-swap is never applied.
    """
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, "")
    by_rev = {r.session["rev"]: r for r in entries if r.session}
    current = by_rev.get(head.record.revision)
    if current is None:
        return head  # changed outside LangGraph: adopted, never overwritten blindly
    successors: dict[Any, list[CheckpointRecord]] = {}
    for r in entries:
        if r.session and r.session.get("base") is not None:
            successors.setdefault(r.session["base"], []).append(r)
    pending: list[CheckpointRecord] = []
    rev = head.record.revision
    while rev in successors and len(pending) < len(entries):
        current = max(successors[rev], key=lambda r: r.checkpoint_id)
        pending.append(current)
        rev = current.session["rev"] if current.session else rev
    seq = max(r.seq for r in entries)
    if not pending:
        return Head(head.record, current, seq, head.latest)
    ops: list[patches.PatchOp] = []
    for entry in pending:
        ops.extend(patches.from_json(entry.session["patch"] if entry.session else []))
    doc, side = patches.apply(head.record.document, head.record.sidecars, ops)
    record = SessionRecord(doc, side, rev)
    yield Write((UpdateSession(thread_id, head.record.revision, ops, record),))
    return Head(record, current, seq, head.latest)


# --- put ------------------------------------------------------------------------------


def put(
    ctx: Context,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: Mapping[str, Any],
) -> Plan:
    """Store a checkpoint: blobs and log entry first, then the head (compare-and-swap)."""
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
    parent_id = conf.get("checkpoint_id")
    values = checkpoint["channel_values"]
    meta = _json_safe(dict(get_serializable_checkpoint_metadata(config, metadata)))
    ops: list[StoreOp] = []
    projected: dict[str, str] = {}
    session: dict[str, Any] | None = None
    seq = 0
    if ns == "":
        head = yield from load_head(ctx, thread_id, cached=True)
        if head is not None and head.entry is None:
            adopted = _adoption_record(ctx, thread_id, head)
            ops.append(PutCheckpoint(adopted))
            head = replace(head, entry=adopted, seq=adopted.seq, latest=adopted)
        prev = head.record if head else None
        proj = mapping.project(
            prev,
            head.messages if head else {},
            session_id=thread_id,
            checkpoint=checkpoint,
            metadata=meta,
            config=ctx.config,
            now=ctx.clock(),
            rng=ctx.rng,
        )
        diff = patches.diff(
            prev.document if prev else None,
            prev.sidecars if prev else None,
            proj.document,
            proj.sidecars,
        )
        result = SessionRecord(proj.document, proj.sidecars, mapping.revision_of(proj.document))
        seq = (head.seq if head else 0) + 1
        session = {
            "patch": patches.to_json(diff),
            "base": prev.revision if prev else None,
            "rev": result.revision,
        }
        projected = proj.projected
    inline = {
        ch: v for ch, v in values.items() if ch not in projected and isinstance(v, _PRIMITIVES)
    }
    blobs = [
        BlobRecord(thread_id, ns, ch, str(version), *ctx.serde.dumps_typed(values[ch]))
        for ch, version in new_versions.items()
        if ch in values and ch not in projected and ch not in inline
    ]
    record = CheckpointRecord(
        thread_id,
        ns,
        checkpoint["id"],
        parent_id,
        {
            "v": checkpoint["v"],
            "ts": checkpoint["ts"],
            "channel_versions": dict(checkpoint["channel_versions"]),
            "versions_seen": {k: dict(v) for k, v in checkpoint["versions_seen"].items()},
            "updated_channels": checkpoint.get("updated_channels"),
            "inline": inline,
            "projected": projected,
            "values": sorted(values),
        },
        meta,
        session,
        seq,
    )
    if blobs:
        ops.append(PutBlobs(blobs))
    ops.append(PutCheckpoint(record))
    if session is not None:
        ops.append(UpdateSession(thread_id, prev.revision if prev else None, diff, result))
    try:
        yield Write(tuple(ops))
    except Exception:
        ctx.heads.pop(thread_id, None)
        raise
    if session is not None:
        ctx.heads[thread_id] = Head(result, record, seq, record, proj.messages)
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint["id"],
        }
    }


def _json_safe(value: Any) -> Any:
    """Metadata is kept as plain JSON (queryable); tuples become lists, as JSON has them."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def adopted_checkpoint_id(revision_ms: int, after: str | None) -> str:
    """A uuid6 checkpoint id for a head written outside LangGraph, stable for that head.

    Built from the head's ``saveOn`` so that re-reading the same document gives the same
    id, and made newer than ``after`` (the last logged checkpoint) so it sorts as latest.
    """
    ticks = revision_ms * 10_000 + 0x01B21DD213814000
    if after is not None:
        prior = uuid.UUID(after)
        prior_ticks = ((prior.int >> 80) << 12) | ((prior.int >> 64) & 0x0FFF)
        ticks = max(ticks, prior_ticks + 1)
    value = ((ticks >> 12) & 0xFFFFFFFFFFFF) << 80
    value |= (0x6000 | (ticks & 0x0FFF)) << 64
    value |= (0x8000 | 0x2A5A) << 48  # fixed clock sequence and node: deterministic
    value |= 0x5049434F464C  # "PICOFL"
    return str(uuid.UUID(int=value))


def _adoption_record(ctx: Context, thread_id: str, head: Head) -> CheckpointRecord:
    """The log entry for a head that the log does not know (Picoflow wrote it)."""
    checkpoint, metadata, parent_id = adopted_checkpoint(ctx, thread_id, head)
    return CheckpointRecord(
        thread_id,
        "",
        checkpoint["id"],
        parent_id,
        {
            "v": checkpoint["v"],
            "ts": checkpoint["ts"],
            "channel_versions": dict(checkpoint["channel_versions"]),
            "versions_seen": dict(checkpoint["versions_seen"]),
            "updated_channels": checkpoint.get("updated_channels"),
            "inline": {},
            "projected": _targets(ctx, head),
            "values": sorted(checkpoint["channel_values"]),
        },
        dict(metadata),
        {
            "patch": patches.to_json(
                [patches.ReplaceSession(head.record.document, head.record.sidecars)]
            ),
            "base": None,
            "rev": head.record.revision,
        },
        head.seq + 1,
    )


def _targets(ctx: Context, head: Head) -> dict[str, str]:
    """Channels an adopted document fills, and where each comes from."""
    flows = head.record.document.get("flows") or []
    names = {m["nameSpace"] for m in flows[0].get("memory", [])} if flows else set()
    targets = {ch: sp for ch, sp in ctx.config.namespaces.items() if sp in names}
    if ctx.config.memory_channel:
        targets[ctx.config.memory_channel] = mapping.ALL_MEMORY
    if ctx.config.session_channel and flows:
        targets[ctx.config.session_channel] = mapping.SESSION
    return targets


def adopted_checkpoint(
    ctx: Context, thread_id: str, head: Head
) -> tuple[Checkpoint, CheckpointMetadata, str | None]:
    """Synthesize a checkpoint from a document written by Picoflow (or imported).

    Each configured channel whose namespace exists gets that namespace's messages; the
    versions continue those of the last logged checkpoint so the graph sees new values.
    """
    doc = head.record.document
    last = head.latest
    base_versions: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    step = -1
    parent_id = None
    if last is not None:
        base_versions = dict(last.checkpoint["channel_versions"])
        seen = last.checkpoint["versions_seen"]
        step = int(last.metadata.get("step", -1)) + 1
        parent_id = last.checkpoint_id
    values = {
        ch: mapping.restore_channel(doc, head.record.sidecars, target)
        for ch, target in _targets(ctx, head).items()
    }
    versions = dict(base_versions)
    for channel in values:
        versions[channel] = ctx.next_version(base_versions.get(channel))
    save_on = doc.get("saveOn")
    ms = int(save_on.timestamp() * 1000) if isinstance(save_on, datetime) else 0
    checkpoint: Checkpoint = {
        "v": 4,
        "id": adopted_checkpoint_id(ms, parent_id),
        "ts": save_on.isoformat() if isinstance(save_on, datetime) else str(save_on),
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": seen,
        "updated_channels": sorted(values),
    }
    metadata: CheckpointMetadata = {"source": "update", "step": step, "parents": {}}
    return checkpoint, metadata, parent_id


# --- writes ---------------------------------------------------------------------------


def put_writes(
    ctx: Context,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> Plan:
    """Store pending writes; an error write of the root graph also marks the session aborted."""
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
    checkpoint_id = str(conf["checkpoint_id"])
    records = [
        WriteRecord(
            thread_id,
            ns,
            checkpoint_id,
            task_id,
            WRITES_IDX_MAP.get(channel, idx),
            channel,
            *ctx.serde.dumps_typed(value),
            task_path,
        )
        for idx, (channel, value) in enumerate(writes)
    ]
    ops: list[StoreOp] = [
        PutWrites(records, overwrite=all(ch in WRITES_IDX_MAP for ch, _ in writes))
    ]
    errors = [value for channel, value in writes if channel == ERROR]
    head = None
    if ns == "" and errors:
        head = yield from load_head(ctx, thread_id, cached=True)
    if head is not None and head.entry is not None and head.entry.session is not None:
        doc = mapping.mark_aborted(head.record.document, _error_text(errors[0]), ctx.clock())
        diff = patches.diff(head.record.document, head.record.sidecars, doc, head.record.sidecars)
        result = SessionRecord(doc, head.record.sidecars, mapping.revision_of(doc))
        session = dict(head.entry.session)
        session["patch"] = [*session["patch"], *patches.to_json(diff)]
        session["rev"] = result.revision
        entry = replace(head.entry, session=session)
        ops += [PutCheckpoint(entry), UpdateSession(thread_id, head.record.revision, diff, result)]
        head = Head(result, entry, head.seq, entry, head.messages)
    try:
        yield Write(tuple(ops))
    except Exception:
        ctx.heads.pop(thread_id, None)
        raise
    if head is not None:
        ctx.heads[thread_id] = head


def _error_text(error: Any) -> str:
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


# --- reads ----------------------------------------------------------------------------


def get_tuple(ctx: Context, config: RunnableConfig) -> Plan:
    """The checkpoint for ``config`` (latest of the thread when it names no checkpoint)."""
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
    wanted = get_checkpoint_id(config)
    if ns != "":
        record = yield ReadCheckpoint(thread_id, ns, wanted)
        if record is None:
            return None
        return (yield from _tuples(ctx, [record], None))[0]
    head = yield from load_head(ctx, thread_id)
    if head is not None and head.entry is None:
        checkpoint, metadata, parent_id = adopted_checkpoint(ctx, thread_id, head)
        if wanted is None or wanted == checkpoint["id"]:
            return _adopted_tuple(thread_id, checkpoint, metadata, parent_id)
    if wanted is None:
        record = head.entry if head is not None else (yield ReadCheckpoint(thread_id, "", None))
    else:
        record = yield ReadCheckpoint(thread_id, "", wanted)
    if record is None:
        return None
    prefetched = None
    if head is not None and head.entry is record:
        prefetched = head.prefetched
    return (yield from _tuples(ctx, [record], head, prefetched))[0]


def _adopted_tuple(
    thread_id: str, checkpoint: Checkpoint, metadata: CheckpointMetadata, parent_id: str | None
) -> CheckpointTuple:
    def cfg(cid: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": cid}}

    return CheckpointTuple(
        cfg(checkpoint["id"]), checkpoint, metadata, cfg(parent_id) if parent_id else None, []
    )


def list_checkpoints(
    ctx: Context,
    config: RunnableConfig | None,
    *,
    filter: dict[str, Any] | None = None,
    before: RunnableConfig | None = None,
    limit: int | None = None,
) -> Plan:
    """Checkpoints newest first, as ``BaseCheckpointSaver.list`` defines them."""
    conf = (config or {}).get("configurable", {})
    thread_id = conf.get("thread_id")
    records: list[CheckpointRecord] = yield ListCheckpoints(
        thread_id=str(thread_id) if thread_id is not None else None,
        checkpoint_ns=conf.get("checkpoint_ns"),
        checkpoint_id=conf.get("checkpoint_id"),
        before=get_checkpoint_id(before) if before else None,
        limit=limit,
        metadata=_json_safe(filter) if filter else None,
    )
    out: list[CheckpointTuple] = []
    for tid in dict.fromkeys(r.thread_id for r in records):
        group = [r for r in records if r.thread_id == tid]
        head = None
        if any(r.checkpoint_ns == "" for r in group):
            head = yield from load_head(ctx, tid)
        out.extend((yield from _tuples(ctx, group, head)))
    return out


def _tuples(
    ctx: Context,
    records: list[CheckpointRecord],
    head: Head | None,
    prefetched: tuple[list[WriteRecord], list[BlobRecord]] | None = None,
) -> Plan:
    """Turn log entries of one thread into checkpoint tuples (values, writes, documents)."""
    thread_id = records[0].thread_id
    namespaces = {r.checkpoint_ns for r in records}
    ns_filter = next(iter(namespaces)) if len(namespaces) == 1 else None
    if prefetched is not None:
        writes, blobs = prefetched
    else:
        writes = yield ReadWrites(thread_id, ns_filter, tuple(r.checkpoint_id for r in records))
        keys = {key for r in records for key in head_blob_keys(r)}
        blobs = (yield ReadBlobs(thread_id, ns_filter, tuple(sorted(keys)))) if keys else []
    blob_map = {(b.checkpoint_ns, b.channel, b.version): b for b in blobs}
    needs_docs = [
        r
        for r in records
        if r.checkpoint["projected"]
        and not (
            head is not None
            and head.entry is not None
            and head.entry.checkpoint_id == r.checkpoint_id
        )
    ]
    docs = (
        (yield from documents_at(thread_id, {r.checkpoint_id for r in needs_docs}))
        if needs_docs
        else {}
    )
    out = []
    for r in records:
        if (
            head is not None
            and head.entry is not None
            and head.entry.checkpoint_id == r.checkpoint_id
        ):
            messages = {
                ch: _head_value(head, target) for ch, target in r.checkpoint["projected"].items()
            }
        else:
            doc, side = docs.get(r.checkpoint_id, ({}, []))
            messages = {
                ch: mapping.restore_channel(doc, side, target)
                for ch, target in r.checkpoint["projected"].items()
            }
        out.append(_tuple(ctx, r, messages, blob_map, writes))
    return out


def _head_value(head: Head, target: str) -> Any:
    """A projected value read from the head.

    Message objects stay cached per namespace, so the next put recognises them by
    identity and skips converting them again.
    """
    value = mapping.restore_channel(head.record.document, head.record.sidecars, target)
    if target == mapping.SESSION:
        return value
    if target == mapping.ALL_MEMORY:
        for space, msgs in value.items():
            cached = head.messages.setdefault(space, msgs)
            value[space] = list(cached) if len(cached) == len(msgs) else msgs
        return value
    return list(head.messages.setdefault(target, value))


def documents_at(thread_id: str, wanted: set[str]) -> Plan:
    """The document and sidecars as they were at each wanted root checkpoint (replay)."""
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, "")
    out: dict[str, tuple[dict[str, Any], Any]] = {}
    doc: dict[str, Any] | None = None
    side: Any = None
    for entry in sorted(entries, key=lambda r: r.seq):
        ops = patches.from_json(entry.session["patch"]) if entry.session else []
        if ops and isinstance(ops[0], patches.ReplaceSession):
            doc, side = {}, []
        if doc is None:
            continue
        doc, side = patches.apply(doc, side, ops)
        if entry.checkpoint_id in wanted:
            out[entry.checkpoint_id] = (doc, side)
    return out


def _tuple(
    ctx: Context,
    record: CheckpointRecord,
    messages: Mapping[str, list[BaseMessage]],
    blobs: Mapping[tuple[str, str, str], BlobRecord],
    writes: Iterable[WriteRecord],
) -> CheckpointTuple:
    data = record.checkpoint
    values: dict[str, Any] = dict(data["inline"])
    for ch, version in data["channel_versions"].items():
        blob = blobs.get((record.checkpoint_ns, ch, str(version)))
        if blob is not None and blob.type != "empty":
            values[ch] = ctx.serde.loads_typed((blob.type, blob.value))
    values.update(messages)
    checkpoint: Checkpoint = {
        "v": data["v"],
        "id": record.checkpoint_id,
        "ts": data["ts"],
        "channel_values": values,
        "channel_versions": dict(data["channel_versions"]),
        "versions_seen": {k: dict(v) for k, v in data["versions_seen"].items()},
        "updated_channels": data.get("updated_channels"),
    }
    own = sorted(
        (
            w
            for w in writes
            if w.checkpoint_id == record.checkpoint_id and w.checkpoint_ns == record.checkpoint_ns
        ),
        key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx),
    )
    base = {"thread_id": record.thread_id, "checkpoint_ns": record.checkpoint_ns}
    return CheckpointTuple(
        {"configurable": {**base, "checkpoint_id": record.checkpoint_id}},
        checkpoint,
        cast(CheckpointMetadata, dict(record.metadata)),
        {"configurable": {**base, "checkpoint_id": record.parent_id}} if record.parent_id else None,
        [(w.task_id, w.channel, ctx.serde.loads_typed((w.type, w.value))) for w in own],
    )


# --- delta channels -------------------------------------------------------------------


def get_delta_channel_history(
    ctx: Context, config: RunnableConfig, channels: Sequence[str]
) -> Plan:
    """Writes and seed per channel along the parent chain: three queries, no walk."""
    if not channels:
        return {}
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, ns, with_session=False)
    by_id = {r.checkpoint_id: r for r in entries}
    target_id = get_checkpoint_id(config) or (entries[0].checkpoint_id if entries else None)
    target = by_id.get(target_id) if target_id else None
    remaining = set(channels)
    chain: list[CheckpointRecord] = []
    seeds: dict[str, CheckpointRecord] = {}
    cursor = by_id.get(target.parent_id) if target and target.parent_id else None
    while cursor is not None and remaining:
        chain.append(cursor)
        for ch in list(remaining):
            if ch in cursor.checkpoint.get("values", ()):
                seeds[ch] = cursor
                remaining.discard(ch)
        cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
    writes: list[WriteRecord] = (
        (yield ReadWrites(thread_id, ns, tuple(r.checkpoint_id for r in chain), tuple(channels)))
        if chain
        else []
    )
    seed_keys = tuple(
        sorted(
            {
                (ch, str(r.checkpoint["channel_versions"][ch]))
                for ch, r in seeds.items()
                if ch not in r.checkpoint["inline"] and ch not in r.checkpoint["projected"]
            }
        )
    )
    blobs: list[BlobRecord] = (yield ReadBlobs(thread_id, ns, seed_keys)) if seed_keys else []
    blob_map = {(b.channel, b.version): b for b in blobs}
    position = {r.checkpoint_id: i for i, r in enumerate(chain)}
    result: dict[str, DeltaChannelHistory] = {}
    for ch in channels:
        own = [w for w in writes if w.channel == ch and w.checkpoint_id in position]
        own.sort(
            key=lambda w: (
                -position[w.checkpoint_id],
                writes_sort_key(w.task_path, w.task_id, w.idx),
            )
        )
        entry: DeltaChannelHistory = {
            "writes": [
                (w.task_id, w.channel, ctx.serde.loads_typed((w.type, w.value))) for w in own
            ]
        }
        if ch in seeds:
            r = seeds[ch]
            if ch in r.checkpoint["inline"]:
                entry["seed"] = r.checkpoint["inline"][ch]
            else:
                blob = blob_map.get((ch, str(r.checkpoint["channel_versions"][ch])))
                if blob is not None and blob.type != "empty":
                    entry["seed"] = ctx.serde.loads_typed((blob.type, blob.value))
        result[ch] = entry
    return result


# --- thread maintenance ---------------------------------------------------------------


def delete_thread(ctx: Context, thread_id: str) -> Plan:
    """Remove the session document, its log, writes and blobs."""
    ctx.heads.pop(thread_id, None)
    yield Write((DeleteSession(thread_id), DeleteCheckpoints(thread_id, blobs=True)))


def delete_for_runs(ctx: Context, run_ids: Sequence[str]) -> Plan:
    """Remove the checkpoints (and their writes) of these runs; heads fall back."""
    if not run_ids:
        return
    doomed: list[CheckpointRecord] = yield ListCheckpoints(
        run_ids=tuple(str(r) for r in run_ids), with_session=False
    )
    for thread_id in dict.fromkeys(r.thread_id for r in doomed):
        ids = {r.checkpoint_id for r in doomed if r.thread_id == thread_id}
        yield from _drop_checkpoints(ctx, thread_id, ids)


def prune(ctx: Context, thread_ids: Sequence[str], strategy: str) -> Plan:
    """``delete`` whole threads, or ``keep_latest`` per namespace.

    ``keep_latest`` also keeps, for a thread whose graph uses ``DeltaChannel``, the chain
    of ancestors back to each delta channel's last stored value, without which its state
    would silently rebuild as empty.
    """
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"prune strategy must be 'keep_latest' or 'delete', got {strategy!r}")
    for thread_id in thread_ids:
        if strategy == "delete":
            yield from delete_thread(ctx, str(thread_id))
            continue
        entries: list[CheckpointRecord] = yield ListCheckpoints(str(thread_id), with_session=False)
        keep: set[str] = set()
        for ns in {r.checkpoint_ns for r in entries}:
            in_ns = [r for r in entries if r.checkpoint_ns == ns]
            keep |= _chain_to_seeds(in_ns)
        drop = {r.checkpoint_id for r in entries if r.checkpoint_id not in keep}
        if drop:
            yield from _drop_checkpoints(ctx, str(thread_id), drop)


def _chain_to_seeds(entries: list[CheckpointRecord]) -> set[str]:
    latest = max(entries, key=lambda r: r.checkpoint_id)
    counters = latest.metadata.get("counters_since_delta_snapshot") or {}
    remaining = {ch for ch in counters if ch not in latest.checkpoint.get("values", ())}
    by_id = {r.checkpoint_id: r for r in entries}
    keep = {latest.checkpoint_id}
    cursor = by_id.get(latest.parent_id) if latest.parent_id else None
    while cursor is not None and remaining:
        keep.add(cursor.checkpoint_id)
        remaining -= set(cursor.checkpoint.get("values", ()))
        cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
    return keep


def _drop_checkpoints(ctx: Context, thread_id: str, drop: set[str]) -> Plan:
    """Delete log entries and keep the rest of the root log replayable and the head right.

    A surviving root entry whose predecessor goes is rewritten as a full snapshot, and the
    head is reset to the newest surviving root checkpoint (or removed when none is left).
    """
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id)
    root = sorted((r for r in entries if r.checkpoint_ns == ""), key=lambda r: r.seq)
    ops: list[StoreOp] = []
    root_dropped = any(r.checkpoint_id in drop for r in root)
    if root_dropped:
        docs = yield from documents_at(thread_id, {r.checkpoint_id for r in root})
        previous_kept = True
        survivors = []
        for r in root:
            if r.checkpoint_id in drop:
                previous_kept = False
                continue
            if not previous_kept and r.checkpoint_id in docs and r.session is not None:
                doc, side = docs[r.checkpoint_id]
                full = patches.to_json([patches.ReplaceSession(doc, side)])
                r = replace(r, session={**r.session, "patch": full, "base": None})
                ops.append(PutCheckpoint(r))
            previous_kept = True
            survivors.append(r)
        head = yield from load_head(ctx, thread_id)
        ctx.heads.pop(thread_id, None)
        if survivors and survivors[-1].checkpoint_id in docs and survivors[-1].session:
            doc, side = docs[survivors[-1].checkpoint_id]
            result = SessionRecord(doc, side, survivors[-1].session["rev"])
            ops.append(
                UpdateSession(
                    thread_id,
                    head.record.revision if head else None,
                    [patches.ReplaceSession(doc, side)],
                    result,
                )
            )
        elif head is not None and head.entry is not None:
            ops.append(DeleteSession(thread_id))
    for ns in {r.checkpoint_ns for r in entries}:
        ids = tuple(
            r.checkpoint_id for r in entries if r.checkpoint_ns == ns and r.checkpoint_id in drop
        )
        if ids:
            ops.append(DeleteCheckpoints(thread_id, ns, ids))
    yield Write(tuple(ops))


def copy_thread(ctx: Context, source: str, target: str) -> Plan:
    """Copy a thread (document, log, writes, blobs) to another thread id."""
    head = yield from load_head(ctx, source)
    entries: list[CheckpointRecord] = yield ListCheckpoints(source)
    writes: list[WriteRecord] = yield ReadWrites(source, None, None)
    blobs: list[BlobRecord] = yield ReadBlobs(source, None, None)
    yield from delete_thread(ctx, target)
    ops: list[StoreOp] = []
    if blobs:
        ops.append(PutBlobs([replace(b, thread_id=target) for b in blobs]))
    ops += [PutCheckpoint(replace(r, thread_id=target)) for r in entries]
    if writes:
        ops.append(PutWrites([replace(w, thread_id=target) for w in writes], overwrite=True))
    if head is not None:
        doc = dict(head.record.document)
        doc["id"] = target
        if "_id" in doc:
            doc["_id"] = target
        result = SessionRecord(doc, head.record.sidecars, head.record.revision)
        ops.append(
            UpdateSession(target, None, [patches.ReplaceSession(doc, result.sidecars)], result)
        )
    yield Write(tuple(ops))


def list_threads(ctx: Context) -> Plan:
    """Every thread id the store knows, sorted."""
    return (yield ListThreads())
