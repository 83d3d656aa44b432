"""Hostile session documents: fuzzed text, mutated samples, imports into every store.

``document.load`` and ``document.check`` either accept a document or raise
``SessionDocumentError`` listing problems with their paths; nothing else escapes
(no ``KeyError``, ``RecursionError``, ``UnicodeError``...), and the same holds for
writing a loaded document again (``dump``/``dumps`` in every spelling).
``import_session`` on every store either stores a document that reads back valid and
resumes in LangGraph, or raises a typed error; sessions already stored are never damaged
(checked after every case).
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from langgraph_picoflow import ConflictError, PicoflowError, SessionDocumentError, StoreError
from langgraph_picoflow import document as pdoc
from tests.faults.figures import Tally, record
from tests.faults.hostile import KNOWN_BAD, document_text, fuzz, hostile_keys, json_values, nested
from tests.faults.targets import Target, target_fixture
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_all
from tests.faults.workload import build, config, turn_input
from tests.samples import sample_paths

target = target_fixture()

SPELLINGS = ("plain", "extended", "canonical", "driver")


def _samples() -> list[dict[str, Any]]:
    """The Picoflow samples as plain JSON trees, or one built document without them."""
    found = [json.loads(p.read_text()) for p in sample_paths()]
    if found:
        return found
    built = pdoc.new_session("6917ad4ac3d31db001ec2393", now=pdoc.utc_now_ms(), flow_name="F")
    return [pdoc.dump(built, "plain")]


SAMPLES = _samples()


def assert_typed_refusal(exc: SessionDocumentError) -> None:
    """A refusal lists at least one problem, each with a message (and its path)."""
    assert exc.problems, f"refusal without problems: {exc!r}"
    for problem in exc.problems:
        assert isinstance(problem.path, str) and problem.message, problem


def load_and_check(source: Any) -> dict[str, Any] | None:
    """Load, validate and rewrite ``source``; the document if valid, else ``None``.

    Any exception other than ``SessionDocumentError`` propagates: that is the bug. A
    loaded document is also written in every spelling (refusals there must be typed too).
    """
    try:
        doc = pdoc.load(source)
    except SessionDocumentError as exc:
        assert_typed_refusal(exc)
        return None
    for spelling in SPELLINGS:
        try:  # e.g. an integer beyond 64 bits has no canonical spelling: refused, typed
            pdoc.dump(doc, spelling)  # type: ignore[arg-type]
        except SessionDocumentError as exc:
            assert_typed_refusal(exc)
    try:
        pdoc.check(doc)
    except SessionDocumentError as exc:
        assert_typed_refusal(exc)
        return None
    pdoc.dumps(doc, "plain")
    return doc


# --- mutations of real documents -------------------------------------------------------


def _paths(tree: Any) -> list[tuple[Any, ...]]:
    """Every path to a value in ``tree`` (dict keys and list indexes), in document order.

    Iterative: an earlier "deep" mutation nests values past Python's recursion limit.
    """
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(tree, ())]
    while stack:
        value, path = stack.pop()
        out.append(path)
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        stack.extend((v, (*path, k)) for k, v in reversed(list(items)))
    return out


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    """A sample with one to three values replaced, removed or given hostile keys."""
    doc = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add-key", "deep"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(json_values)
        elif action == "deep":
            parent[last] = nested(draw(st.integers(200, 2_000)))
        elif action == "delete":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][draw(hostile_keys)] = draw(json_values)
    return doc


# --- the pure layer ---------------------------------------------------------------------


def test_fuzzed_text_is_loaded_or_refused_with_a_typed_error() -> None:
    tally = Tally("hostile-document-text", "pure")

    @fuzz(ci=150, long=4_000)
    @given(source=document_text)
    def case(source: str | bytes) -> None:
        tally.cases += 1
        load_and_check(source)

    case()
    record(tally)


def test_fuzzed_trees_are_loaded_or_refused_with_a_typed_error() -> None:
    tally = Tally("hostile-document-trees", "pure")

    @fuzz(ci=150, long=3_000)
    @given(tree=st.one_of(json_values, mutated_samples()))
    def case(tree: Any) -> None:
        tally.cases += 1
        load_and_check(tree)
        if isinstance(tree, dict):
            try:  # the same tree as text, when Python's encoder can write it at all
                text = json.dumps(tree, ensure_ascii=False, allow_nan=True)
            except RecursionError:
                return
            load_and_check(text)

    case()
    record(tally)


def test_known_bad_values_in_every_field_of_a_sample() -> None:
    """Every known-bad string and a 10,000-level nesting at every path of a sample."""
    doc = SAMPLES[0]
    cases = 0
    for path in _paths(doc)[1:]:
        for bad in (*KNOWN_BAD, nested(10_000), float("nan"), 2**80):
            mutated = copy.deepcopy(doc)
            parent = mutated
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = bad
            load_and_check(mutated)
            cases += 1
    record(Tally("hostile-document-fields", "pure", cases=cases))


# --- imports into every store -----------------------------------------------------------


def _witnesses(target: Target) -> dict[str, list[str]]:
    """Two ordinary sessions the hostile imports must leave exactly as they were."""
    acked: dict[str, list[str]] = {}
    with target.saver() as saver:
        for thread_id in session_ids(random.Random(), 2):
            build(saver).invoke(turn_input(f"witness {thread_id[:4]}"), config(thread_id))
            acked[thread_id] = [f"witness {thread_id[:4]}"]
    return acked


def test_imports_of_hostile_documents_are_stored_whole_or_refused(
    target: Target, saver_kind: str
) -> None:
    witnesses = _witnesses(target)
    tally = Tally("hostile-import", saver_kind)
    verdict = Verdict()
    with target.saver() as saver:

        @fuzz(ci=25, long=600)
        @given(doc=st.one_of(mutated_samples(), st.sampled_from(SAMPLES)))
        def case(doc: dict[str, Any]) -> None:
            tally.cases += 1
            try:
                session_id = saver.import_session(doc, overwrite=True)
            except (SessionDocumentError, StoreError, ConflictError) as exc:
                assert str(exc)
                return
            stored = saver.get_session(session_id)
            assert stored is not None
            pdoc.check(pdoc.load(stored))
            build(saver).get_state(config(session_id))
            verdict.extend(check_all(saver, witnesses))

        case()
    tally.corrupt = len(verdict.corrupt)
    tally.lost = len(verdict.lost)
    record(tally)
    assert verdict, verdict.summary()


def test_a_refused_import_is_a_picoflow_error_naming_the_problem(target: Target) -> None:
    """The typed errors of an import all derive from ``PicoflowError`` and say where."""
    with target.saver() as saver:
        bad = copy.deepcopy(SAMPLES[0])
        bad["flows"][0]["memory"][0]["history"][0]["type"] = "alien"
        try:
            saver.import_session(bad, overwrite=True)
        except PicoflowError as exc:
            assert "flows[0].memory[0].history[0]" in str(exc)
        else:
            raise AssertionError("a history entry of type 'alien' was imported")
