"""LangGraph checkpoint <-> Picoflow session document. Pure: no I/O.

The defaults make any graph work:

* the ``messages`` channel of the root graph is the history of memory namespace
  ``"default"`` (configure more with ``namespaces={"channel": "nameSpace"}``);
* every node the graph is about to run becomes a step (first-run order), and the step the
  thread resumes at is the one with ``isActive: true``; ``sequence`` records activations;
* ``tokens`` add up the ``usage_metadata`` of AI messages as they are appended;
* ``runStatus`` is ``running``; a channel named ``run_status`` (configurable) holding
  ``"completed"`` or ``"aborted"`` sets it, and a run that raises marks it ``aborted`` with
  an ``error`` log entry (see :func:`mark_aborted`).

A graph that knows Picoflow (the :mod:`langgraph_picoflow.flow` API) maps its state one to
one instead, with two optional channels: ``memory_channel`` holds ``{nameSpace: [messages]}``
for every namespace, and ``session_channel`` holds the document fields in
:data:`SESSION_FIELDS` (steps with their state, sequence, tokens, runStatus, logs...),
written verbatim: nothing is inferred.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.errors import SessionDocumentError
from langgraph_picoflow.messages import from_entry, to_entry
from langgraph_picoflow.patch import empty_sidecars
from langgraph_picoflow.records import SessionRecord, Sidecars

BRANCH_PREFIX = "branch:to:"
RUN_STATUSES = ("running", "completed", "aborted")
#: Document fields a session channel carries: top-level ones, then those of the flow.
SESSION_FIELDS = ("runStatus", "tokens", "log", "error", "warn", "debug", "verbose")
FLOW_FIELDS = ("steps", "sequence", "context")
#: ``Projection.projected`` values for the two whole-document channels.
ALL_MEMORY = "*"
SESSION = "@"


@dataclass(frozen=True)
class SessionConfig:
    """How a graph's state is laid out in the Picoflow document.

    >>> SessionConfig(namespaces={"messages": "default", "notes": "scratch"}).layout
    'B'
    """

    namespaces: Mapping[str, str] = field(default_factory=lambda: {"messages": "default"})
    flow_name: str = "LangGraph"
    layout: Literal["A0", "A1", "B"] = "B"
    expire_after: int = 600
    run_status_channel: str = "run_status"
    #: Channel holding ``{nameSpace: [messages]}`` for every namespace (off when ``None``).
    memory_channel: str | None = None
    #: Channel holding the document fields of :data:`SESSION_FIELDS`/:data:`FLOW_FIELDS`.
    session_channel: str | None = None
    #: Write ``_id`` (Picoflow's Mongo key) for 24-hex session ids.
    mongo_id: bool = True
    #: Picoflow step name of a graph node, when it differs from the node's name.
    step_names: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Projection:
    """A checkpoint projected onto the document: the new head and what it took over."""

    document: dict[str, Any]
    sidecars: Sidecars
    #: channel -> namespace whose history now holds the channel's value.
    projected: dict[str, str]
    #: Messages as they are in the head, aligned with the history (for the head cache).
    messages: dict[str, list[BaseMessage]]


def revision_of(document: Mapping[str, Any]) -> str:
    """The compare-and-swap token of a document: its ``saveOn``, spelled as ISO text."""
    save_on = document.get("saveOn")
    if isinstance(save_on, datetime):
        return pdoc.iso_ms(save_on)
    return str(save_on)


def next_save_on(previous: Any, now: datetime) -> datetime:
    """``now`` truncated to ms, strictly after ``previous`` so every save changes the token."""
    now = now.astimezone(timezone.utc).replace(microsecond=now.microsecond // 1000 * 1000)
    if isinstance(previous, datetime) and now <= previous:
        return previous + timedelta(milliseconds=1)
    return now


def next_steps(checkpoint: Mapping[str, Any]) -> list[str]:
    """Nodes the checkpoint will run next, read from its ``branch:to:<node>`` channels."""
    updated = checkpoint.get("updated_channels")
    if updated is None:
        updated = list(checkpoint.get("channel_versions", {}))
    return [ch[len(BRANCH_PREFIX) :] for ch in updated if ch.startswith(BRANCH_PREFIX)]


def active_step(flow: Mapping[str, Any]) -> str | None:
    """Name of the step with ``isActive: true``, if any."""
    for step in flow.get("steps", []):
        if step.get("isActive"):
            return str(step["name"])
    return None


def projectable(value: Any) -> bool:
    """Whether a channel value can live in a Picoflow history (a list of messages)."""
    return isinstance(value, list) and all(isinstance(m, BaseMessage) for m in value)


def project(
    prev: SessionRecord | None,
    prev_messages: Mapping[str, Sequence[BaseMessage]],
    *,
    session_id: str,
    checkpoint: Mapping[str, Any],
    metadata: Mapping[str, Any],
    config: SessionConfig,
    now: datetime,
    rng: random.Random,
) -> Projection:
    """Project a root checkpoint onto the session document it continues.

    ``prev_messages`` are the message objects the head already holds, per namespace; an
    identical object (LangGraph's reducers never mutate messages) keeps its stored entry
    byte for byte, so only new messages are converted.
    """
    if prev is None:
        doc = pdoc.new_session(
            session_id,
            now=now,
            flow_name=config.flow_name,
            layout=config.layout,
            expire_after=config.expire_after,
            mongo_id=config.mongo_id,
        )
        sidecars = empty_sidecars(doc)
    else:
        doc, sidecars = fork(prev.document, prev.sidecars)
    if not doc.get("flows"):
        doc["flows"] = [pdoc.new_flow(config.flow_name, [], config.layout)]
        sidecars = [[]]
    flow, flow_side = doc["flows"][0], sidecars[0]

    upcoming = [config.step_names.get(node, node) for node in next_steps(checkpoint)]
    speaker = active_step(flow) or (upcoming[0] if upcoming else config.flow_name)
    values = checkpoint.get("channel_values", {})
    projected: dict[str, str] = {}
    held: dict[str, list[BaseMessage]] = {}
    spaces: list[tuple[str, str, Any]] = [
        (channel, space, values.get(channel))
        for channel, space in config.namespaces.items()
        if channel in values
    ]
    memory = values.get(config.memory_channel) if config.memory_channel else None
    if isinstance(memory, Mapping) and config.memory_channel:
        spaces += [(config.memory_channel, str(space), msgs) for space, msgs in memory.items()]
        if all(projectable(msgs) for msgs in memory.values()):
            projected[config.memory_channel] = ALL_MEMORY
    session = values.get(config.session_channel) if config.session_channel else None
    spaces_failed: set[str] = set()
    for channel, space, value in spaces:
        if not projectable(value):
            continue
        n = _namespace_position(flow, space)
        try:
            history, side, added = _merge_history(
                flow["memory"][n]["history"] if n is not None else [],
                flow_side[n] if n is not None else [],
                prev_messages.get(space, ()),
                value,
                speaker=speaker,
                now=now,
                rng=rng,
            )
        except SessionDocumentError:
            # A message Picoflow cannot hold (a non-JSON artifact, a ChatMessage...): the
            # channel is stored as a serialized value instead, and the history stays as is.
            projected.pop(channel, None)
            spaces_failed.add(channel)
            continue
        if n is None:
            flow["memory"].append({"nameSpace": space, "history": []})
            flow_side.append([])
            n = len(flow["memory"]) - 1
        flow["memory"][n]["history"], flow_side[n] = history, side
        if session is None:
            _add_tokens(doc, added)
        if channel not in spaces_failed:
            projected.setdefault(channel, space)
        held[space] = list(value)

    if isinstance(session, Mapping) and config.session_channel:
        # The graph keeps these fields itself (the Flow API): write them as they are.
        for key in SESSION_FIELDS:
            if key in session:
                doc[key] = copy.deepcopy(session[key])
        for key in FLOW_FIELDS:
            if key in session:
                flow[key] = copy.deepcopy(session[key])
        projected[config.session_channel] = SESSION
    else:
        for step in upcoming[:1]:
            _activate(flow, step, config.layout)
        status = values.get(config.run_status_channel)
        if status in RUN_STATUSES:
            doc["runStatus"] = status
        elif metadata.get("source") == "input":
            doc["runStatus"] = "running"
    doc["saveOn"] = next_save_on(doc.get("saveOn") if prev else None, now)
    return Projection(doc, sidecars, projected, held)


def fork(document: dict[str, Any], sidecars: Sidecars) -> tuple[dict[str, Any], Sidecars]:
    """A copy to modify, sharing the history entries and sidecars with the original.

    Entries are never changed in place (a changed message gets a new entry), so sharing
    them keeps a save O(new messages) instead of copying the whole conversation.
    """
    memo: dict[int, Any] = {}
    for flow, flow_side in zip(document.get("flows", []), sidecars, strict=False):
        for space, side in zip(flow.get("memory", []), flow_side, strict=False):
            for item in (*space.get("history", []), *side):
                memo[id(item)] = item
    return copy.deepcopy(document, memo), copy.deepcopy(sidecars, memo)


def _namespace_position(flow: dict[str, Any], name: str) -> int | None:
    for n, space in enumerate(flow["memory"]):
        if space["nameSpace"] == name:
            return n
    return None


def _merge_history(
    history: list[dict[str, Any]],
    sidecars: list[dict[str, Any]],
    held: Sequence[BaseMessage],
    messages: Sequence[BaseMessage],
    *,
    speaker: str,
    now: datetime,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[BaseMessage]]:
    """New history for ``messages``, reusing stored entries of unchanged messages.

    Returns the entries, their sidecars, and the messages that were not there before
    (for the token count).
    """
    by_id: dict[Any, int] = {}
    for index, (entry, side) in enumerate(zip(history, sidecars, strict=True)):
        by_id.setdefault(side.get("id", entry["id"]), index)
    out_entries: list[dict[str, Any]] = []
    out_side: list[dict[str, Any]] = []
    added: list[BaseMessage] = []
    used_ids: set[str] = set()
    used_positions: set[int] = set()
    for pos, message in enumerate(messages):
        i: int | None = by_id.get(message.id) if message.id is not None else None
        if i is None and pos < len(held) and held[pos] is message:
            i = pos
        if i in used_positions:
            i = None  # the same message twice: the second one is a new entry
        if i is not None:
            used_positions.add(i)
        if i is not None and _same(message, i, held, history, sidecars):
            entry, side = history[i], sidecars[i]
        else:
            existing = history[i]["id"] if i is not None else None
            entry, side = to_entry(
                message, entry_id=existing or pdoc.new_message_id(speaker, now, rng)
            )
            if i is None:
                added.append(message)
        if entry["id"] in used_ids:
            # Two entries may not share a Picoflow id (Picoflow keys on it): give this one
            # a fresh id and keep LangChain's in the sidecar.
            entry = {**entry, "id": pdoc.new_message_id(speaker, now, rng)}
            side = {"id": message.id, **side}
        used_ids.add(entry["id"])
        out_entries.append(entry)
        out_side.append(side)
    return out_entries, out_side, added


def _same(
    message: BaseMessage,
    i: int,
    held: Sequence[BaseMessage],
    history: list[dict[str, Any]],
    sidecars: list[dict[str, Any]],
) -> bool:
    if i < len(held) and held[i] is message:
        return True
    return bool(from_entry(history[i], sidecars[i]) == message)


def _add_tokens(doc: dict[str, Any], messages: Sequence[BaseMessage]) -> None:
    tokens = doc.setdefault("tokens", {})
    for message in messages:
        usage = message.usage_metadata if isinstance(message, AIMessage) else None
        if not usage:
            continue
        for key, field_name in (
            ("inputTokens", "input_tokens"),
            ("outputTokens", "output_tokens"),
            ("totalTokens", "total_tokens"),
        ):
            amount = usage.get(field_name) or 0
            if amount:
                tokens[key] = tokens.get(key, 0) + amount


def _activate(flow: dict[str, Any], name: str, layout: Literal["A0", "A1", "B"]) -> None:
    steps = flow.setdefault("steps", [])
    if name not in {s["name"] for s in steps}:
        steps.append(pdoc.new_step(name, active=False, layout=layout))
    if active_step(flow) == name:
        return
    for step in steps:
        step["isActive"] = step["name"] == name
    if "sequence" in flow:
        flow["sequence"].append(name)


def restore_channel(document: Mapping[str, Any], sidecars: Sidecars, target: str) -> Any:
    """The value of a projected channel, read back from the document it was projected on."""
    if target == SESSION:
        flows = document.get("flows") or [{}]
        out = {key: copy.deepcopy(document[key]) for key in SESSION_FIELDS if key in document}
        out.update({key: copy.deepcopy(flows[0][key]) for key in FLOW_FIELDS if key in flows[0]})
        return out
    if target == ALL_MEMORY:
        flows = document.get("flows") or [{}]
        return {
            mem["nameSpace"]: restore_messages(document, sidecars, mem["nameSpace"])
            for mem in flows[0].get("memory", [])
        }
    return restore_messages(document, sidecars, target)


def restore_messages(
    document: Mapping[str, Any], sidecars: Sidecars, space: str
) -> list[BaseMessage]:
    """The LangChain messages of one namespace of the first flow (empty when absent)."""
    flows = document.get("flows") or []
    if not flows:
        return []
    for n, mem in enumerate(flows[0].get("memory", [])):
        if mem["nameSpace"] == space:
            side = sidecars[0][n] if sidecars and sidecars[0] else [{}] * len(mem["history"])
            return [from_entry(e, s) for e, s in zip(mem["history"], side, strict=True)]
    return []


def mark_aborted(document: dict[str, Any], message: str, now: datetime) -> dict[str, Any]:
    """A copy of ``document`` marked ``aborted`` with an ``error`` log entry, as Picoflow does."""
    doc = copy.deepcopy(document)
    doc["runStatus"] = "aborted"
    doc.setdefault("error", []).append({"timestamp": now, "level": "error", "message": message})
    doc["saveOn"] = next_save_on(doc.get("saveOn"), now)
    return doc
