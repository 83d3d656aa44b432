"""Writing: checkpoints (log entry, blobs, head under compare-and-swap) and pending writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.types import ERROR

from langgraph_picoflow import mapping
from langgraph_picoflow import patch as patches
from langgraph_picoflow.document import join_path
from langgraph_picoflow.errors import ConflictError, SessionDocumentError
from langgraph_picoflow.plans._base import (
    Context,
    Head,
    Plan,
    address,
    check_storable,
    json_safe,
)
from langgraph_picoflow.plans._heads import adoption_record, load_head
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    StoreOp,
    UpdateSession,
    Write,
)

_PRIMITIVES = (str, int, float, bool, type(None))


def put(
    ctx: Context,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: Mapping[str, Any],
) -> Plan:
    """Store a checkpoint: blobs and log entry first, then the head (compare-and-swap)."""
    thread_id, ns, parent_id = address(config)
    values = checkpoint["channel_values"]
    meta = json_safe(dict(get_serializable_checkpoint_metadata(config, metadata)))
    ops: list[StoreOp] = []
    projected: dict[str, str] = {}
    session: dict[str, Any] | None = None
    seq = 0
    if ns == "":
        known = thread_id in ctx.heads
        head = yield from load_head(ctx, thread_id, cached=True)
        if head is not None and head.entry is None:
            adopted = adoption_record(ctx, thread_id, head)
            ops.append(PutCheckpoint(adopted))
            head = replace(head, entry=adopted, seq=adopted.seq, latest=adopted)
        if not known:
            _refuse_unless_based_on(head, thread_id, parent_id)
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
    check_storable({"metadata": meta, "channel_values": inline})
    blobs = [
        BlobRecord(thread_id, ns, ch, str(version), *_dumps(ctx, values[ch], ch))
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


def _dumps(
    ctx: Context, value: Any, channel: str, where: str = "channel_values"
) -> tuple[str, bytes]:
    """``serde.dumps_typed(value)``, or a typed refusal naming the channel.

    ormsgpack refuses nesting past its limit with a bare TypeError, and writes a lone
    surrogate as ``?`` (the value would come back changed), so text is checked first;
    raised before anything is written, a typed error leaves the session as it was.
    """
    path = join_path(where, channel)
    check_storable(value, path)
    try:
        return ctx.serde.dumps_typed(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise SessionDocumentError(f"the serializer cannot encode this value: {exc}", path) from exc


def _refuse_unless_based_on(head: Head | None, thread_id: str, parent_id: str | None) -> None:
    """On a head this saver did not know, the step must continue that head's checkpoint.

    The saver compares a step against the head it last read; when it holds none (the
    head left its cache, or a conflict dropped it) the head just read may already carry
    another writer's turn, so a step based on anything but that head's checkpoint is
    stale. A deliberate fork is refused here only when the head left the cache between
    its read and its put; reading again (as a retried run does) lets it through.
    """
    if head is None or head.entry is None or head.entry.checkpoint_id == parent_id:
        return
    raise ConflictError(
        thread_id,
        f"the step continues checkpoint {parent_id!r}, the session is at "
        f"{head.entry.checkpoint_id!r}",
    )


def put_writes(
    ctx: Context,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> Plan:
    """Store pending writes; an error write of the root graph also marks the session aborted."""
    thread_id, ns, checkpoint_id = address(config)
    if checkpoint_id is None:
        raise SessionDocumentError(
            "required: the checkpoint the writes belong to", "configurable.checkpoint_id"
        )
    records = [
        WriteRecord(
            thread_id,
            ns,
            checkpoint_id,
            task_id,
            WRITES_IDX_MAP.get(channel, idx),
            channel,
            *_dumps(ctx, value, channel, "writes"),
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
