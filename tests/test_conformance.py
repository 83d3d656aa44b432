"""LangGraph's checkpointer conformance suite against the async saver under test.

Every capability must be implemented and pass: the five base ones (put, put_writes,
get_tuple, list, delete_thread) AND the three extended ones (delete_for_runs,
copy_thread, prune).  The suite detects a capability by the saver overriding the
ASYNC method (``aput``, ``acopy_thread``, ...), so the async saver is what is judged.
A saver lacking an extended capability fails here ("not implemented"), as it should.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import (
    BASE_CAPABILITIES,
    EXTENDED_CAPABILITIES,
    Capability,
)
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.checkpoint.conformance.report import CapabilityReport, ProgressCallbacks

from tests.saver_suite import MakeAsyncSaver

#: Every capability conformance 0.0.2 knows; all are required of our saver.
REQUIRED: tuple[str, ...] = tuple(sorted(c.value for c in BASE_CAPABILITIES)) + tuple(
    sorted(c.value for c in EXTENDED_CAPABILITIES)
)


def _register(make_async_saver: MakeAsyncSaver, saver_kind: str) -> RegisteredCheckpointer:
    """Wrap the fixture factory into the suite's async-generator registration."""

    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        # validate() asks for a fresh saver per capability; each comes from the fixture.
        async with make_async_saver() as saver:
            yield saver

    return checkpointer_test(name=f"picoflow-async[{saver_kind}]")(factory)


def _failures(report: CapabilityReport, capabilities: tuple[str, ...]) -> list[str]:
    """Human-readable reasons why ``capabilities`` did not all pass in ``report``."""
    problems: list[str] = []
    for cap in capabilities:
        result = report.results.get(cap)
        if result is None:
            problems.append(f"{cap}: no result (not run)")
        elif not result.detected:
            problems.append(f"{cap}: NOT IMPLEMENTED (async method not overridden)")
        elif result.passed is None:
            problems.append(f"{cap}: skipped")
        elif result.passed is not True or result.tests_failed:
            details = "\n      ".join(f.rstrip().replace("\n", "\n      ") for f in result.failures)
            problems.append(f"{cap}: {result.tests_failed} test(s) failed\n      {details}")
        elif result.tests_passed == 0:
            problems.append(f"{cap}: passed vacuously (0 tests ran)")
    return problems


async def _run(
    make_async_saver: MakeAsyncSaver, saver_kind: str, capabilities: tuple[str, ...]
) -> CapabilityReport:
    report = await validate(
        _register(make_async_saver, saver_kind),
        capabilities=set(capabilities),
        # verbose: per-test lines with tracebacks land in pytest's captured stdout,
        # shown on failure
        progress=ProgressCallbacks.verbose(),
    )
    report.print_report()
    return report


@pytest.mark.parametrize("capability", REQUIRED)
async def test_conformance_capability(
    capability: str, saver_kind: str, make_async_saver: MakeAsyncSaver
) -> None:
    """One capability at a time, so the failing ones are named by the test id."""
    report = await _run(make_async_saver, saver_kind, (capability,))
    problems = _failures(report, (capability,))
    assert not problems, f"conformance[{saver_kind}] " + "\n  ".join(problems)


async def test_conformance_full(saver_kind: str, make_async_saver: MakeAsyncSaver) -> None:
    """The whole suite in one validate() run must be FULL with all 8 capabilities."""
    report = await _run(make_async_saver, saver_kind, REQUIRED)
    assert set(report.results) == {c.value for c in Capability}, "suite capability set changed"
    problems = _failures(report, REQUIRED)
    assert not problems, f"conformance[{saver_kind}]:\n  " + "\n  ".join(problems)
    assert report.passed_all_base()
    assert report.passed_all()
    detected = sum(1 for r in report.results.values() if r.detected and r.passed)
    assert (report.conformance_level(), detected) == ("FULL", len(REQUIRED))
