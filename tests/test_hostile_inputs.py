"""Hostile ids, config values and metadata filters, on every store.

Nothing a caller passes is ever code for a store: thread ids with ``$ . / \\ ? # %``,
quotes, NUL or 10,000 characters are data (no operator, no path, no SQL, no LIKE pattern,
no Cosmos query text: ids are never concatenated into a query); config values that are
not strings (``{"$ne": ...}``) select nothing; metadata filter keys with ``$`` or ``.``
are exact key names. An id a store cannot hold (Cosmos DB refuses ``/ \\ ? #`` and more
than 255 characters) is refused with a typed error that names it, before any request.
After every case the witness sessions are exactly as they were.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from langgraph_picoflow import PicoflowError
from langgraph_picoflow.plans._base import json_safe
from langgraph_picoflow.stores.memory import metadata_matches
from tests.faults.errors import is_typed
from tests.faults.figures import Tally, record
from tests.faults.hostile import KNOWN_BAD, fuzz, hostile_keys, is_valid_unicode, store_text
from tests.faults.targets import Target, target_fixture
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_all
from tests.faults.workload import build, config, turn_input

target = target_fixture()


def witnesses(target: Target, n: int = 2) -> dict[str, list[str]]:
    """``n`` ordinary sessions that hostile cases must leave exactly as they were."""
    acked: dict[str, list[str]] = {}
    with target.saver() as saver:
        for thread_id in session_ids(random.Random(), n):
            text = f"witness {thread_id[:6]}"
            build(saver).invoke(turn_input(text), config(thread_id))
            acked[thread_id] = [text]
    return acked


def refused_typed(exc: BaseException, thread_id: Any = None) -> None:
    """A refusal must be typed; ours must also name what it refuses."""
    assert is_typed(exc), f"untyped {type(exc).__qualname__}: {exc}"
    if isinstance(exc, PicoflowError) and isinstance(thread_id, str) and len(thread_id) < 80:
        assert repr(thread_id)[1:-1][:40] in str(exc) or thread_id in str(exc), str(exc)


# --- thread ids ------------------------------------------------------------------------

#: Thread ids: every known-bad string, arbitrary text (no lone surrogates: see
#: test_hostile_payloads.test_lone_surrogates_are_refused_typed_or_kept, pinned there),
#: and very long ones.
thread_ids = st.one_of(
    st.sampled_from([k for k in KNOWN_BAD if k and is_valid_unicode(k)]),
    store_text.filter(bool),
    st.integers(200, 10_000).map(lambda n: "x" * n),
)


def test_hostile_thread_ids_are_data(target: Target, saver_kind: str) -> None:
    acked = witnesses(target)
    tally = Tally("hostile-ids", saver_kind)
    verdict = Verdict()
    with target.saver() as saver:
        graph = build(saver)

        @fuzz(ci=30, long=800)
        @given(thread_id=thread_ids)
        def case(thread_id: str) -> None:
            assume(thread_id not in acked)
            tally.cases += 1
            # Reading an id never written finds nothing (no pattern, no injection).
            try:
                assert saver.get_tuple(config(thread_id)) is None
                assert list(saver.list(config(thread_id))) == []
                saver.delete_thread(thread_id)
            except Exception as exc:
                refused_typed(exc, thread_id)
            try:
                graph.invoke(turn_input("hello"), config(thread_id))
            except Exception as exc:
                refused_typed(exc, thread_id)
            else:
                state = graph.get_state(config(thread_id))
                assert [m.content for m in state.values["messages"]] == ["hello", "re: hello"]
                doc = saver.get_session(thread_id)
                assert doc is not None and doc["id"] == thread_id
                listed = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
                assert thread_id in listed
                saver.delete_thread(thread_id)
                assert saver.get_session(thread_id) is None
            verdict.extend(check_all(saver, acked))

        case()
    tally.corrupt, tally.lost = len(verdict.corrupt), len(verdict.lost)
    record(tally)
    assert verdict, verdict.summary()


@pytest.mark.parametrize("thread_id", [".", "..", "x ", "x\n", "x\t", "x\r"])
def test_ids_that_are_path_segments_never_reach_another_resource(
    target: Target, saver_kind: str, thread_id: str
) -> None:
    """Dot segments and trailing/inner whitespace: found nowhere, refused typed or kept.

    Cosmos DB puts the id in the item's URL: ``.``/``..`` would address the container
    (its feed, its definition, its deletion) and the SDK refuses trailing space/newline
    and tab/CR with an untyped ``ValueError``; ``stores/cosmos/ids.py`` refuses them all
    with ``InvalidIdError`` before any request.
    """
    acked = witnesses(target)
    problems = []
    with target.saver() as saver:
        for name, call in (
            ("get_session", lambda: saver.get_session(thread_id)),
            ("get_tuple", lambda: saver.get_tuple(config(thread_id))),
            ("list", lambda: list(saver.list(config(thread_id)))),
            ("delete_thread", lambda: saver.delete_thread(thread_id)),
        ):
            try:
                found = call()
            except Exception as exc:
                if not is_typed(exc):
                    problems.append(f"{name}: untyped {exc!r}")
                continue
            if found:
                problems.append(f"{name}({thread_id!r}) found {found!r:.100}")
        try:
            build(saver).invoke(turn_input("hello"), config(thread_id))
        except Exception as exc:
            if not is_typed(exc):
                problems.append(f"invoke: untyped {exc!r}")
        verdict = check_all(saver, acked)
    assert problems == [] and verdict, "\n".join(problems) + verdict.summary()


# --- config values that are not strings -------------------------------------------------

NOT_STRINGS: list[Any] = [
    {"$ne": "zz"},
    {"$gt": ""},
    {"$regex": ".*"},
    {"$exists": True},
    ["", "x"],
    0,
    True,
]


def test_config_values_that_are_not_strings_select_nothing(target: Target) -> None:
    """``checkpoint_ns``/``checkpoint_id``/``thread_id`` holding a dict, list or number."""
    acked = witnesses(target, 1)
    (thread_id,) = acked
    problems = []
    with target.saver() as saver:
        for bad in NOT_STRINGS:
            for key in ("checkpoint_ns", "checkpoint_id", "thread_id"):
                conf = {"configurable": {"thread_id": thread_id, key: bad}}
                for name, read in (
                    ("list", lambda c=conf: list(saver.list(c))),
                    ("get_tuple", lambda c=conf: saver.get_tuple(c)),
                ):
                    try:
                        found = read()
                    except Exception as exc:
                        if not is_typed(exc):
                            problems.append(f"{name}({key}={bad!r}): {exc!r}")
                        continue
                    if found:
                        problems.append(f"{name}({key}={bad!r}) selected {found!r:.80}")
        verdict = check_all(saver, acked)
    assert problems == [] and verdict, "\n".join(problems) + verdict.summary()


# --- metadata filters -------------------------------------------------------------------

#: Primitive metadata values (LangGraph keeps only primitives in checkpoint metadata).
meta_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), store_text
)
filter_values = st.one_of(
    meta_values, st.dictionaries(st.sampled_from(["$ne", "$gt", "$exists"]), meta_values)
)


@pytest.mark.parametrize("key", ["\x00", "a\x00b"])
def test_filter_keys_a_store_cannot_encode_are_refused_typed(target: Target, key: str) -> None:
    acked = witnesses(target, 1)
    with target.saver() as saver:
        try:
            assert list(saver.list(None, filter={key: 1})) == []
        except Exception as exc:
            refused_typed(exc)
        verdict = check_all(saver, acked)
    assert verdict, verdict.summary()


def test_metadata_filters_match_exactly(target: Target, saver_kind: str) -> None:
    """``list(filter=...)`` returns exactly the checkpoints whose metadata has each key
    with an equal JSON value: ``$where``, ``a.b`` and ``{"$ne": 1}`` are plain data."""
    rng = random.Random(f"filters-{saver_kind}")
    stored_keys = ["$where", "a.b", "$ne", "plain", "a$b", "source", "step", ".", "x.y.z"]
    with target.saver() as saver:
        graph = build(saver)
        for thread_id in session_ids(rng, 3):
            metadata = {k: rng.choice([1, "1", True, None, "$gt", 2.5]) for k in stored_keys}
            graph.invoke(
                turn_input("m"), {"configurable": {"thread_id": thread_id}, "metadata": metadata}
            )
        everything = list(saver.list(None))
        tally = Tally("hostile-filters", saver_kind)

        @fuzz(ci=40, long=800)
        @given(
            wanted=st.dictionaries(
                st.one_of(st.sampled_from(stored_keys), hostile_keys.filter(is_valid_unicode)),
                filter_values,
                min_size=1,
                max_size=3,
            )
        )
        def case(wanted: dict[str, Any]) -> None:
            tally.cases += 1
            expected = [
                t.config for t in everything if metadata_matches(t.metadata, json_safe(wanted))
            ]
            try:
                got = [t.config for t in saver.list(None, filter=wanted)]
            except Exception as exc:
                refused_typed(exc)
                return
            assert _ids(got) == _ids(expected), wanted

        case()
    record(tally)


def _ids(configs: list[Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (
            c["configurable"]["thread_id"],
            c["configurable"]["checkpoint_ns"],
            c["configurable"]["checkpoint_id"],
        )
        for c in configs
    )
