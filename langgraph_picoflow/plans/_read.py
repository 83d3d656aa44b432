"""Reading: checkpoint tuples, lists, documents as they were, delta-channel history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    writes_sort_key,
)

from langgraph_picoflow import mapping
from langgraph_picoflow import patch as patches
from langgraph_picoflow.plans._base import (
    Context,
    Head,
    Plan,
    address,
    check_storable,
    config_text,
    json_safe,
)
from langgraph_picoflow.plans._heads import adopted_checkpoint, load_head
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    ListCheckpoints,
    ReadBlobs,
    ReadCheckpoint,
    ReadWrites,
    head_blob_keys,
)


def get_tuple(ctx: Context, config: RunnableConfig) -> Plan:
    """The checkpoint for ``config`` (latest of the thread when it names no checkpoint)."""
    thread_id, ns, wanted = address(config)
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
    conf = (config or {}).get("configurable") or {}
    if filter:
        check_storable(filter, "filter")
    records: list[CheckpointRecord] = yield ListCheckpoints(
        thread_id=config_text(conf, "thread_id"),
        checkpoint_ns=config_text(conf, "checkpoint_ns"),
        checkpoint_id=config_text(conf, "checkpoint_id"),
        before=address(before)[2] if before else None,
        limit=limit,
        metadata=json_safe(filter) if filter else None,
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


def get_delta_channel_history(
    ctx: Context, config: RunnableConfig, channels: Sequence[str]
) -> Plan:
    """Writes and seed per channel along the parent chain: three queries, no walk."""
    if not channels:
        return {}
    thread_id, ns, wanted = address(config)
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, ns, with_session=False)
    by_id = {r.checkpoint_id: r for r in entries}
    target_id = wanted or (entries[0].checkpoint_id if entries else None)
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
