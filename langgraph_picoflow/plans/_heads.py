"""Reading a head: roll-forward after a crash, adoption of documents the log does not know."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
)

from langgraph_picoflow import mapping
from langgraph_picoflow import patch as patches
from langgraph_picoflow.errors import ConflictError
from langgraph_picoflow.plans._base import Context, Head, Plan
from langgraph_picoflow.records import CheckpointRecord, SessionRecord
from langgraph_picoflow.stores.protocol import (
    HeadRead,
    ListCheckpoints,
    ReadHead,
    UpdateSession,
    Write,
)


def load_head(ctx: Context, thread_id: str, *, cached: bool = False) -> Plan:
    """The current head of a thread, rolled forward if a crash left it behind its log.

    An absent session is remembered too: a writer that read "no session" creates it
    with ``expected=None``, so if another writer created it meanwhile, that is a
    conflict, not a silent merge into someone else's conversation.
    """
    if cached and thread_id in ctx.heads:
        return ctx.heads[thread_id]
    read: HeadRead = yield ReadHead(thread_id)
    record, latest = read.session, read.latest
    if record is None:
        created = None
        if latest is not None and latest.session is not None:
            created = yield from _finish_creation(ctx, thread_id)
        ctx.heads[thread_id] = created
        return created
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
    try:
        yield Write((UpdateSession(thread_id, head.record.revision, ops, record),))
    except ConflictError:
        # A writer moved the head between our two reads: the head it wrote is current.
        return (yield from load_head(ctx, thread_id))
    return Head(record, current, seq, head.latest)


def _finish_creation(ctx: Context, thread_id: str) -> Plan:
    """Write the document of a session whose creating write died after its log entry.

    Only a log of one root entry that created the session qualifies: a longer log with
    no document belongs to a session Picoflow ended (it hard-deletes), which stays ended.
    """
    entries: list[CheckpointRecord] = yield ListCheckpoints(thread_id, "")
    if len(entries) != 1 or entries[0].session is None or entries[0].session.get("base"):
        return None
    entry = entries[0]
    assert entry.session is not None
    ops = patches.from_json(entry.session["patch"])
    doc, side = patches.apply({}, [], ops)
    record = SessionRecord(doc, side, entry.session["rev"])
    try:
        yield Write((UpdateSession(thread_id, None, ops, record),))
    except ConflictError:
        return (yield from load_head(ctx, thread_id))  # another reader finished it first
    return Head(record, entry, entry.seq, entry)


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


def adoption_record(ctx: Context, thread_id: str, head: Head) -> CheckpointRecord:
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
