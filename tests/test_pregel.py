"""Black-box Pregel tests: real graphs behave identically on the saver under test and
on LangGraph's reference ``InMemorySaver``.

Each scenario of :data:`tests.saver_suite.graphs.SCENARIOS` is played twice (saver
under test, then a fresh ``InMemorySaver``) with the same API and durability, and
everything observable is compared: invoke outputs (incl. ``__interrupt__``),
``get_state`` (values, next, tasks with interrupts/errors/subgraph states, metadata,
config, parent config) and ``get_state_history``.  Volatile ids and timestamps are
normalised by :mod:`tests.saver_suite.compare`.

Savers come only from the ``make_saver`` / ``make_async_saver`` fixtures.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Durability

from tests.saver_suite import MakeAsyncSaver, MakeSaver
from tests.saver_suite.compare import (
    Scenario,
    assert_same_observations,
    run_scenario_async,
    run_scenario_sync,
)
from tests.saver_suite.graphs import SCENARIOS

DURABILITIES: list[Durability] = ["sync", "async", "exit"]

scenario_param = pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=name) for name, s in SCENARIOS.items()]
)
durability_param = pytest.mark.parametrize(
    "durability", [pytest.param(d, id=f"durability_{d}") for d in DURABILITIES]
)


@scenario_param
@durability_param
def test_invoke_matches_reference(
    scenario: Scenario, durability: Durability, make_saver: MakeSaver
) -> None:
    """Sync API (``invoke``, ``get_state``, ...) on a fresh sync saver."""
    with make_saver() as saver:
        actual = run_scenario_sync(scenario, saver, durability)
        if scenario.check is not None:
            scenario.check(actual, durability)
    with InMemorySaver() as reference:
        expected = run_scenario_sync(scenario, reference, durability)
    assert_same_observations(actual, expected)


@scenario_param
@durability_param
async def test_ainvoke_matches_reference(
    scenario: Scenario, durability: Durability, make_async_saver: MakeAsyncSaver
) -> None:
    """Async API (``ainvoke``, ``aget_state``, ...) on a fresh async saver."""
    async with make_async_saver() as saver:
        actual = await run_scenario_async(scenario, saver, durability)
        if scenario.check is not None:
            scenario.check(actual, durability)
    async with InMemorySaver() as reference:
        expected = await run_scenario_async(scenario, reference, durability)
    assert_same_observations(actual, expected)
