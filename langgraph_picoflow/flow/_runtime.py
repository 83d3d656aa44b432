"""``Turn``: the session of one graph node's run, mutable while the node runs.

A node copies the graph state (``memory`` lists, a deep copy of ``session``) into a
``Turn``; steps read and write it through their helpers; the node then writes back the
changes: a *delta* for memory (so a checkpoint write costs O(new messages)) and the
session fields. Picoflow's step activation, state writes, logs and token sums live here;
what a ``send`` does (model calls, tools, logic steps) is in :mod:`._runner`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage

from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow import _state
from langgraph_picoflow.flow._transition import Outcome, StepRef

if TYPE_CHECKING:
    from langgraph_picoflow.flow._flow import Flow
    from langgraph_picoflow.flow._step import Step

Memory = dict[str, list[BaseMessage]]
#: One memory change: ``[namespace, new message at index 0 or None, keep, appended]``.
MemoryOp = list[Any]


class Turn:
    """What one node of a flow graph works on: the session document's flow, as objects."""

    def __init__(
        self, flow: Flow, session: dict[str, Any], memory: Mapping[str, list[BaseMessage]]
    ) -> None:
        self.flow = flow
        self.session = session
        self.memory: Memory = {ns: list(msgs) for ns, msgs in memory.items()}
        #: Text the model sent along with tool calls, prepended to the next answer.
        self.prefix = ""
        self.content_types: dict[str, str] = {}
        self.sends = 0
        self._bound: dict[str, Step] = {}

    # -- clock and ids -------------------------------------------------------------
    def now(self) -> datetime:
        """The current UTC time at millisecond precision (Picoflow's resolution)."""
        return pdoc.to_utc_ms(self.flow.clock())

    def new_id(self, step: str) -> str:
        """A Picoflow message id ``<step>|<now>|<10 digits>``."""
        return pdoc.new_message_id(step, self.now(), self.flow.rng)

    # -- steps -----------------------------------------------------------------------
    def step_names(self) -> list[str]:
        """Step names in declaration order."""
        return [s.name for s in self.flow.steps]

    def step(self, name: str) -> Step:
        """The bound copy of step ``name`` (one per turn, so hooks see the same object)."""
        if name not in self._bound:
            self._bound[name] = self.flow.step(name)._bind(self)
        return self._bound[name]

    def resolve(self, ref: StepRef) -> str:
        """The name of the step ``ref`` names (raises ``UnknownStepError``)."""
        return self.flow.resolve(ref)

    def _entry(self, name: str) -> dict[str, Any]:
        for entry in self.session.setdefault("steps", []):
            if entry.get("name") == name:
                found: dict[str, Any] = entry
                return found
        entry = self.flow.step_entry(self.flow.step(name), active=False)
        self.session["steps"].append(entry)
        return entry

    def state_of(self, name: str) -> dict[str, Any]:
        """The stored state of step ``name`` (the live dict)."""
        entry = self._entry(name)
        state = entry.get("state")
        if not isinstance(state, dict):
            state = entry["state"] = {}
        return state

    def set_state(self, name: str, state: dict[str, Any]) -> None:
        """Replace the state of step ``name``."""
        self._entry(name)["state"] = state

    def save_state(self, name: str, update: Mapping[str, Any]) -> None:
        """Picoflow's ``saveState`` on step ``name``."""
        self.set_state(name, _state.save_state(self.state_of(name), update, self.now()))

    @property
    def active_name(self) -> str:
        """The step with ``isActive: true`` (the initial step when none is)."""
        for entry in self.session.get("steps", []):
            if entry.get("isActive") is True:
                return str(entry["name"])
        return self.flow.initial_step

    def activate(self, ref: StepRef) -> None:
        """Make ``ref`` the active step: flags, ``sequence``, then ``on_exit``/``on_enter``."""
        name = self.resolve(ref)
        current = self.active_name
        if name == current and self._entry(name).get("isActive") is True:
            return
        self._entry(name)
        for entry in self.session["steps"]:
            entry["isActive"] = entry.get("name") == name
        if isinstance(self.session.get("sequence"), list):
            self.session["sequence"].append(name)
        if current != name:
            self.step(current).on_exit()
        self.step(name).on_enter()

    # -- memory ----------------------------------------------------------------------
    def history(self, namespace: str, creator: str) -> list[BaseMessage]:
        """The messages of ``namespace``, created (with an empty system prompt) on first use."""
        if namespace not in self.memory:
            self.memory[namespace] = [SystemMessage(content="", id=self.new_id(creator))]
        return self.memory[namespace]

    def memory_delta(self, before: Mapping[str, list[BaseMessage]]) -> list[MemoryOp]:
        """The changes from ``before`` to ``self.memory`` as ops for :func:`merge_memory`."""
        ops: list[MemoryOp] = []
        for ns, msgs in self.memory.items():
            old = before.get(ns)
            if old is None or not old or not msgs:
                if old is None or len(old) != len(msgs):
                    ops.append([ns, None, 0, list(msgs)])
                continue
            head = msgs[0] if msgs[0] is not old[0] else None
            keep = 1
            while keep < min(len(msgs), len(old)) and msgs[keep] is old[keep]:
                keep += 1
            if head is None and keep == len(msgs) == len(old):
                continue
            ops.append([ns, head, keep, list(msgs[keep:])])
        return ops

    # -- logs and tokens ------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        """Append ``{timestamp, level, message}`` to the ``level`` log array."""
        entries = self.session.setdefault(level, [])
        entries.append({"timestamp": self.now(), "level": level, "message": message})

    def add_usage(self, message: BaseMessage) -> None:
        """Add a model answer's ``usage_metadata`` to ``tokens`` (non-zero fields only)."""
        usage = message.usage_metadata if isinstance(message, AIMessage) else None
        if not usage:
            return
        tokens = self.session.setdefault("tokens", {})
        for key, source in (
            ("inputTokens", "input_tokens"),
            ("outputTokens", "output_tokens"),
            ("totalTokens", "total_tokens"),
        ):
            amount = usage.get(source) or 0
            if amount:
                tokens[key] = tokens.get(key, 0) + amount

    # -- running ---------------------------------------------------------------------
    def send(self, message: BaseMessage | None) -> Outcome:
        """Run the active step on ``message`` (Picoflow's ``send``)."""
        from langgraph_picoflow.flow._runner import send

        return send(self, message)

    def run_step(self, ref: StepRef, message: BaseMessage | str | None) -> str | None:
        """Run ``ref`` nested, come back to the current step, return its reply."""
        from langgraph_picoflow.flow._runner import run_step

        return run_step(self, ref, message)


def merge_memory(
    current: Mapping[str, list[BaseMessage]] | None, update: Mapping[str, Any] | list[Any]
) -> Memory:
    """Reducer of the ``memory`` channel: apply a node's delta ops, or replace namespaces.

    >>> from langchain_core.messages import HumanMessage
    >>> hi = HumanMessage("Hi")
    >>> merge_memory({}, [["default", None, 0, [hi]]])["default"] == [hi]
    True
    """
    out: Memory = {ns: list(msgs) for ns, msgs in (current or {}).items()}
    if isinstance(update, Mapping):
        out.update({str(ns): list(msgs) for ns, msgs in update.items()})
        return out
    for ns, head, keep, added in update:
        base = out.get(ns, [])
        if head is not None and base:
            base[0] = head
        out[ns] = base[: int(keep)] + list(added)
    return out


def fresh_session(flow: Flow, config: Any) -> dict[str, Any]:
    """The flow fields of a new session: steps, sequence (A1/B), context, status, logs."""
    initial = flow.initial_step
    session: dict[str, Any] = {
        "runStatus": "running",
        "tokens": {},
        "log": [],
        "error": [],
        "warn": [],
        "debug": [],
        "verbose": [],
        "steps": [flow.step_entry(s, active=s.name == initial) for s in flow.steps],
        "context": {"config": copy.deepcopy(config)},
    }
    if flow.layout != "A0":
        session["sequence"] = [initial]
    return session
