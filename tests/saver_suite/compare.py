"""Scenario runner and normalising comparison for black-box checkpointer tests.

A *scenario* is a graph builder plus a list of steps (invoke, resume, update_state,
get_state, get_state_history).  The same scenario is played once against the saver
under test and once against LangGraph's ``InMemorySaver``; every step produces an
:class:`Observation`, and the two observation lists must be identical after
:class:`Canonicalizer` has replaced the values that legitimately differ between two
runs (checkpoint ids, task ids, interrupt ids, random message ids, run ids,
timestamps) by stable placeholders.

Ids are not simply dropped: each distinct id is mapped to a token numbered by first
appearance (``<id:0>``, ``<id:1>``, ...), with ONE mapping per run.  So the suite
still checks that, say, the ``parent_config`` of a history entry points at the very
checkpoint that appears one entry later, and that ``get_state`` returns the same
checkpoint id as the head of ``get_state_history``.
"""

from __future__ import annotations

import dataclasses
import difflib
import pprint
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability, Interrupt, PregelTask, Send, StateSnapshot
from pydantic import BaseModel

__all__ = [
    "Builder",
    "Canonicalizer",
    "Check",
    "GetHistory",
    "GetState",
    "Invoke",
    "Observation",
    "ReturnedConfig",
    "Scenario",
    "Selector",
    "Step",
    "UpdateState",
    "View",
    "assert_same_observations",
    "canonicalize",
    "history_entry",
    "latest",
    "run_scenario_async",
    "run_scenario_sync",
    "subgraph_namespace",
]

# ---------------------------------------------------------------------------
# Canonicalisation
# ---------------------------------------------------------------------------

# uuid1/4/5/6 strings (checkpoint ids, task ids, run ids, add_messages ids).  Matched as
# substrings so composite values such as ``"child:<task-uuid>"`` (checkpoint_ns) or
# ``"lc_run--<uuid>-0"`` (chat-model message ids) are normalised too.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Interrupt ids are 32-hex-digit hashes of the task's checkpoint namespace.
_HEX32_RE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")

# The configurable keys that identify a checkpoint (see Canonicalizer.config).
_IDENTIFYING_KEYS = ("thread_id", "checkpoint_ns", "checkpoint_id")

# StateSnapshot / checkpoint fields holding wall-clock timestamps.
_TIMESTAMP_KEYS = frozenset({"created_at", "ts"})


class Canonicalizer:
    """Turns LangGraph results into plain, comparable data with stable id tokens.

    One instance must be used for all observations of one run, so that equal ids
    across observations map to equal tokens.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def _token(self, match: re.Match[str]) -> str:
        raw = match.group(0).lower()
        if raw not in self._tokens:
            self._tokens[raw] = f"<id:{len(self._tokens)}>"
        return self._tokens[raw]

    def _peek(self, match: re.Match[str]) -> str:
        # Used only for ordering dict keys: must not allocate new tokens.
        return self._tokens.get(match.group(0).lower(), "<id:?>")

    def _subst(self, text: str, repl: Callable[[re.Match[str]], str]) -> str:
        return _HEX32_RE.sub(repl, _UUID_RE.sub(repl, text))

    def _sort_key(self, key: Any) -> str:
        # Dicts are compared independently of insertion order (a store may legitimately
        # return keys in another order), but token allocation must follow a
        # run-independent order: sort by the key with already-known ids substituted.
        return self._subst(key, self._peek) if isinstance(key, str) else repr(key)

    def timestamp(self, value: Any) -> Any:
        """Replace an ISO-8601 timestamp by a placeholder (asserting it parses)."""
        if value is None:
            return None
        if not isinstance(value, str):
            return {"__bad_timestamp__": repr(value)}
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return {"__bad_timestamp__": value}
        return "<ts>"

    def config(self, config: RunnableConfig | None) -> Any:
        """Canonicalise a checkpoint config down to its identifying keys.

        ``StateSnapshot.config`` is whatever the saver's ``get_tuple`` returned as
        ``CheckpointTuple.config``.  When asked for an explicit ``checkpoint_id``,
        ``InMemorySaver`` (like ``SqliteSaver``) echoes the caller's config verbatim --
        for a subgraph that includes runtime internals such as ``__pregel_checkpointer``
        (the saver object) and ``checkpoint_map`` -- whereas ``PostgresSaver`` rebuilds
        it from the row.  Both are correct, so only the identifying keys are compared;
        they must be present and equal (modulo id tokens).
        """
        if config is None:
            return None
        conf = config.get("configurable", {})
        return {
            "configurable": {
                key: self.canon(conf[key]) if key in conf else "<missing>"
                for key in _IDENTIFYING_KEYS
            },
            "other_top_level_keys": sorted(k for k in config if k != "configurable"),
        }

    def __call__(self, obj: Any) -> Any:
        """Return a canonical, ``==``-comparable, pretty-printable form of ``obj``."""
        return self.canon(obj)

    def canon(self, obj: Any) -> Any:
        """Canonicalise ``obj`` recursively (see class docstring)."""
        if isinstance(obj, list | tuple) and obj and all(isinstance(i, Interrupt) for i in obj):
            # Interrupts raised in one super-step form a set: InMemorySaver lists them in
            # the order their writes arrived (timing-dependent under async durability),
            # a saver following writes_sort_key in task order. Compare them by value.
            ordered = sorted(obj, key=lambda i: repr(i.value))
            obj = tuple(ordered) if isinstance(obj, tuple) else ordered
        if obj is None or isinstance(obj, bool | int | float | bytes):
            return obj
        if isinstance(obj, str):
            return self._subst(obj, self._token)
        if isinstance(obj, ReturnedConfig):
            return {"__type__": "ReturnedConfig", "config": self.config(obj.config)}
        if isinstance(obj, StateSnapshot):
            return {
                "__type__": "StateSnapshot",
                "values": self.canon(obj.values),
                "next": self.canon(obj.next),
                "config": self.config(obj.config),
                "metadata": self.canon(obj.metadata),
                "created_at": self.timestamp(obj.created_at),
                "parent_config": self.config(obj.parent_config),
                "tasks": self.canon(obj.tasks),
                "interrupts": self.canon(obj.interrupts),
            }
        if isinstance(obj, PregelTask):
            return {
                "__type__": "PregelTask",
                "id": self.canon(obj.id),
                "name": obj.name,
                "path": self.canon(obj.path),
                "error": self.canon(obj.error),
                "interrupts": self.canon(obj.interrupts),
                "state": self.canon(obj.state),
                "result": self.canon(obj.result),
            }
        if isinstance(obj, Interrupt):
            return {
                "__type__": "Interrupt",
                "value": self.canon(obj.value),
                "id": self.canon(obj.id),
                "response_schema": self.canon(obj.response_schema),
            }
        if isinstance(obj, Send):
            return {"__type__": "Send", "node": obj.node, "arg": self.canon(obj.arg)}
        if isinstance(obj, Command):
            return {
                "__type__": "Command",
                **{f.name: self.canon(getattr(obj, f.name)) for f in dataclasses.fields(obj)},
            }
        if isinstance(obj, BaseException):
            # Exceptions have identity equality; compare type and arguments instead.
            return {"__type__": type(obj).__name__, "args": self.canon(obj.args)}
        if isinstance(obj, BaseModel):
            # Covers langchain messages: model_dump() includes id, usage_metadata,
            # response_metadata, tool_calls, artifact ... so lossless storage is checked
            # field by field, and the class name catches AIMessage -> AIMessageChunk
            # or dict degradations.
            return {"__type__": type(obj).__name__, **self.canon(obj.model_dump())}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {
                "__type__": type(obj).__name__,
                **{f.name: self.canon(getattr(obj, f.name)) for f in dataclasses.fields(obj)},
            }
        if isinstance(obj, dict):
            out: dict[Any, Any] = {}
            for key in sorted(obj, key=self._sort_key):
                value = obj[key]
                ckey = self.canon(key)
                out[ckey] = self.timestamp(value) if key in _TIMESTAMP_KEYS else self.canon(value)
            return out
        if isinstance(obj, tuple):
            if hasattr(obj, "_fields"):  # other NamedTuples
                return {
                    "__type__": type(obj).__name__,
                    **{name: self.canon(getattr(obj, name)) for name in obj._fields},
                }
            # Keep tuple vs list distinct: a lossless store must not turn one into the other.
            return ("tuple", [self.canon(v) for v in obj])
        if isinstance(obj, list):
            return [self.canon(v) for v in obj]
        if isinstance(obj, set | frozenset):
            return (type(obj).__name__, sorted((self.canon(v) for v in obj), key=repr))
        return {"__repr__": self._subst(repr(obj), self._token)}


def canonicalize(observations: Iterable[Observation]) -> list[tuple[str, Any]]:
    """Canonicalise a run's observations with one shared id mapping."""
    canon = Canonicalizer()
    return [(o.label, canon(o.value)) for o in observations]


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class View:
    """What a :data:`Selector` may look at: the thread's latest state and history.

    ``state`` is ``get_state(..., subgraphs=True)`` and ``history`` is the full
    ``get_state_history`` (newest first) of the thread, read just before the step.
    """

    thread_id: str
    state: StateSnapshot
    history: list[StateSnapshot]


#: Picks a config (usually an older checkpoint's) from a :class:`View`.
Selector = Callable[[View], RunnableConfig]


@dataclasses.dataclass(frozen=True)
class Invoke:
    """``invoke``/``ainvoke`` on a thread, optionally from a selected checkpoint.

    ``input`` may be a ``Command(resume=...)``.  With ``at`` set, the graph is run from
    the selected checkpoint config (replay when ``input`` is ``None``).  With
    ``expect_error`` set the run must raise that exception type.
    """

    input: Any
    thread: str = "t1"
    at: Selector | None = None
    expect_error: type[BaseException] | None = None
    #: Computes the input from the thread's :class:`View` instead (e.g. a
    #: ``Command(resume={interrupt_id: ...})`` needing the run's interrupt ids).
    input_from: Callable[[View], Any] | None = None
    #: Extra ``metadata`` / ``configurable`` entries for the run's config; the runtime
    #: copies them into checkpoint metadata, which the saver must store and filter on.
    metadata: dict[str, Any] | None = None
    configurable: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class UpdateState:
    """``update_state``/``aupdate_state``, optionally on a selected (older) checkpoint."""

    values: Any
    as_node: str | None = None
    thread: str = "t1"
    at: Selector | None = None


@dataclasses.dataclass(frozen=True)
class GetState:
    """Record ``get_state`` (latest, or of a selected checkpoint / subgraph namespace)."""

    subgraphs: bool = False
    thread: str = "t1"
    at: Selector | None = None


@dataclasses.dataclass(frozen=True)
class GetHistory:
    """Record ``get_state_history`` with optional ``filter``/``before``/``limit``.

    ``at`` selects the config to list (e.g. a subgraph namespace); ``before`` selects
    a checkpoint config used as the exclusive upper bound.
    """

    thread: str = "t1"
    at: Selector | None = None
    filter: dict[str, Any] | None = None
    before: Selector | None = None
    limit: int | None = None


Step = Invoke | UpdateState | GetState | GetHistory

#: Builds a fresh compiled graph around a checkpointer.  Must be pure: two calls must
#: produce graphs that behave identically (fresh scripted models, no shared state).
Builder = Callable[[BaseCheckpointSaver[Any]], CompiledStateGraph[Any, Any, Any, Any]]

#: Extra scenario-specific assertions on one run's raw observations (and the
#: durability it ran under); guards against the comparison passing vacuously, e.g.
#: both runs never reaching the interrupt.
Check = Callable[[Sequence["Observation"], Durability], None]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A graph plus the steps to play on it; see module docstring."""

    name: str
    build: Builder
    steps: tuple[Step, ...]
    check: Check | None = None


@dataclasses.dataclass(frozen=True)
class ReturnedConfig:
    """Marks a config returned by ``update_state`` so it is compared as a config."""

    config: RunnableConfig


@dataclasses.dataclass(frozen=True)
class Observation:
    """One recorded result: a label (``"#3 GetState thread=t1"``) and the raw value."""

    label: str
    value: Any


def _thread_namer(thread_ids: Mapping[str, str] | None) -> Callable[[str], RunnableConfig]:
    """Return ``logical thread name -> {"configurable": {"thread_id": real id}}``."""

    def config(thread: str) -> RunnableConfig:
        return {"configurable": {"thread_id": (thread_ids or {}).get(thread, thread)}}

    return config


def _steps_with_epilogue(steps: Sequence[Step]) -> list[Step]:
    """Append a final ``get_state(subgraphs=True)`` and full history for every thread.

    Every scenario therefore compares end state and complete history, whatever its
    own steps observe.
    """
    threads = list(dict.fromkeys(step.thread for step in steps))
    out: list[Step] = list(steps)
    for thread in threads:
        out += [GetState(subgraphs=True, thread=thread), GetHistory(thread=thread)]
    return out


def _with_extras(config: RunnableConfig, step: Invoke) -> RunnableConfig:
    """Merge an :class:`Invoke`'s extra metadata/configurable into its config."""
    if step.metadata is None and step.configurable is None:
        return config
    return {
        **config,
        "metadata": {**config.get("metadata", {}), **(step.metadata or {})},
        "configurable": {**config.get("configurable", {}), **(step.configurable or {})},
    }


def _label(index: int, step: Step) -> str:
    """``"#<index> <StepKind> thread=<id>"`` -- the format tests/helpers match on."""
    return f"#{index} {type(step).__name__} thread={step.thread}"


def run_scenario_sync(
    scenario: Scenario,
    saver: BaseCheckpointSaver[Any],
    durability: Durability,
    *,
    thread_ids: Mapping[str, str] | None = None,
) -> list[Observation]:
    """Play ``scenario`` with the sync API (``invoke`` ...) and record observations.

    ``thread_ids`` maps the scenario's logical thread names (``"t1"``, ``"t2"``) to
    the real ``thread_id`` values, for stores that want ids of a particular shape;
    compare runs made with the same mapping.
    """
    graph = scenario.build(saver)
    observations: list[Observation] = []
    _thread_config = _thread_namer(thread_ids)

    def view(thread: str) -> View:
        cfg = _thread_config(thread)
        return View(
            thread, graph.get_state(cfg, subgraphs=True), list(graph.get_state_history(cfg))
        )

    def resolve(thread: str, selector: Selector | None) -> RunnableConfig:
        return _thread_config(thread) if selector is None else selector(view(thread))

    for index, step in enumerate(_steps_with_epilogue(scenario.steps)):
        label = _label(index, step)
        cfg = resolve(step.thread, step.at)
        value: Any
        if isinstance(step, Invoke):
            graph_input = (
                step.input if step.input_from is None else step.input_from(view(step.thread))
            )
            try:
                value = graph.invoke(graph_input, _with_extras(cfg, step), durability=durability)
            except Exception as exc:
                if step.expect_error is None or not isinstance(exc, step.expect_error):
                    raise
                value = {"raised": exc}
            else:
                if step.expect_error is not None:
                    raise AssertionError(f"{label}: expected {step.expect_error.__name__}")
        elif isinstance(step, UpdateState):
            value = ReturnedConfig(graph.update_state(cfg, step.values, as_node=step.as_node))
        elif isinstance(step, GetState):
            value = graph.get_state(cfg, subgraphs=step.subgraphs)
        else:
            before = None if step.before is None else resolve(step.thread, step.before)
            value = list(
                graph.get_state_history(cfg, filter=step.filter, before=before, limit=step.limit)
            )
        observations.append(Observation(label, value))
    return observations


async def run_scenario_async(
    scenario: Scenario,
    saver: BaseCheckpointSaver[Any],
    durability: Durability,
    *,
    thread_ids: Mapping[str, str] | None = None,
) -> list[Observation]:
    """Play ``scenario`` with the async API (``ainvoke`` ...); mirror of the sync runner."""
    graph = scenario.build(saver)
    observations: list[Observation] = []
    _thread_config = _thread_namer(thread_ids)

    async def view(thread: str) -> View:
        cfg = _thread_config(thread)
        return View(
            thread,
            await graph.aget_state(cfg, subgraphs=True),
            [s async for s in graph.aget_state_history(cfg)],
        )

    async def resolve(thread: str, selector: Selector | None) -> RunnableConfig:
        return _thread_config(thread) if selector is None else selector(await view(thread))

    for index, step in enumerate(_steps_with_epilogue(scenario.steps)):
        label = _label(index, step)
        cfg = await resolve(step.thread, step.at)
        value: Any
        if isinstance(step, Invoke):
            graph_input = (
                step.input if step.input_from is None else step.input_from(await view(step.thread))
            )
            try:
                value = await graph.ainvoke(
                    graph_input, _with_extras(cfg, step), durability=durability
                )
            except Exception as exc:
                if step.expect_error is None or not isinstance(exc, step.expect_error):
                    raise
                value = {"raised": exc}
            else:
                if step.expect_error is not None:
                    raise AssertionError(f"{label}: expected {step.expect_error.__name__}")
        elif isinstance(step, UpdateState):
            value = ReturnedConfig(
                await graph.aupdate_state(cfg, step.values, as_node=step.as_node)
            )
        elif isinstance(step, GetState):
            value = await graph.aget_state(cfg, subgraphs=step.subgraphs)
        else:
            before = None if step.before is None else await resolve(step.thread, step.before)
            value = [
                s
                async for s in graph.aget_state_history(
                    cfg, filter=step.filter, before=before, limit=step.limit
                )
            ]
        observations.append(Observation(label, value))
    return observations


# ---------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------


def latest(view: View) -> RunnableConfig:
    """Select the latest checkpoint of the thread (its full config, with checkpoint_id)."""
    return view.state.config


def history_entry(*predicates: Callable[[StateSnapshot], bool], oldest: bool = True) -> Selector:
    """Select the oldest (or newest) history entry matching the first fruitful predicate.

    Predicates are tried in order; later ones are fallbacks for sparse histories
    (``durability="exit"`` stores only one checkpoint per run, so e.g. "the checkpoint
    before n2" does not exist there).
    """

    def select(view: View) -> RunnableConfig:
        for predicate in predicates:
            matches = [s for s in view.history if predicate(s)]
            if matches:
                return (matches[-1] if oldest else matches[0]).config
        raise AssertionError(f"no history entry of {view.thread_id!r} matches {predicates}")

    return select


def subgraph_namespace(task_name: str, *, with_checkpoint_id: bool = False) -> Selector:
    """Select the config of the subgraph run by the pending task ``task_name``.

    Without ``with_checkpoint_id`` only ``thread_id`` and ``checkpoint_ns`` are kept,
    which is what listing a subgraph namespace's whole history needs.
    """

    def select(view: View) -> RunnableConfig:
        for task in view.state.tasks:
            if task.name == task_name and isinstance(task.state, StateSnapshot):
                conf = dict(task.state.config["configurable"])
                if not with_checkpoint_id:
                    conf = {k: conf[k] for k in ("thread_id", "checkpoint_ns")}
                return {"configurable": conf}
        raise AssertionError(f"no pending subgraph task {task_name!r} in {view.state.tasks}")

    return select


# ---------------------------------------------------------------------------
# Assertion
# ---------------------------------------------------------------------------


def _render(value: Any) -> list[str]:
    return pprint.pformat(value, width=100, sort_dicts=False).splitlines()


def assert_same_observations(
    actual: Sequence[Observation],
    expected: Sequence[Observation],
    *,
    actual_name: str = "saver under test",
    expected_name: str = "InMemorySaver",
) -> None:
    """Assert two runs observed the same thing, modulo legitimately volatile ids/times.

    On mismatch the message names the first differing step and shows a unified diff
    of the canonical forms (``-`` reference, ``+`` saver under test).
    """
    got, want = canonicalize(actual), canonicalize(expected)
    assert [label for label, _ in got] == [label for label, _ in want], "step lists differ"
    for (label, got_value), (_, want_value) in zip(got, want, strict=True):
        if got_value != want_value:
            diff = "\n".join(
                difflib.unified_diff(
                    _render(want_value),
                    _render(got_value),
                    fromfile=expected_name,
                    tofile=actual_name,
                    lineterm="",
                    n=4,
                )
            )
            raise AssertionError(f"observation {label} differs:\n{diff}")
