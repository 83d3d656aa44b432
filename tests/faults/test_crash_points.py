"""Crashes at exact points of the write path, in-process, on every store (memory too).

A store wrapper lets the n-th head update of a saver die (a ``BaseException`` nothing in
the saver or LangGraph catches, as a SIGKILL would):

* ``before``: nothing of the step reached the store;
* ``log-only``: the log entry (and blobs) landed, the head update did not: the window
  the design rolls forward. Stores whose write is one transaction (memory, SQLite) never
  show it after a real crash; MongoDB without transactions and Cosmos DB can;
* ``after``: everything landed, the acknowledgement did not.

A fresh saver then finds every session intact, with every acknowledged turn.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow.stores.protocol import Request, Store, UpdateSession, Write
from tests.faults.figures import Tally, count, record
from tests.faults.targets import Target
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_all, needs_roll_forward
from tests.faults.workload import build, config, turn_input

Point = Literal["before", "log-only", "after"]
POINTS: tuple[Point, ...] = ("before", "log-only", "after")


class SimulatedCrash(BaseException):
    """The process died here: nothing above the store may catch or survive it."""


class CrashingStore:
    """A store that dies at ``point`` of its ``countdown``-th head update."""

    def __init__(self, store: Store, point: Point, countdown: int) -> None:
        self.store = store
        self.point = point
        self.countdown = countdown

    def setup(self) -> None:
        self.store.setup()

    def execute(self, request: Request) -> Any:
        if isinstance(request, Write) and any(isinstance(op, UpdateSession) for op in request.ops):
            self.countdown -= 1
            if self.countdown == 0:
                if self.point == "log-only":
                    rest = tuple(op for op in request.ops if not isinstance(op, UpdateSession))
                    self.store.execute(Write(rest))
                elif self.point == "after":
                    self.store.execute(request)
                raise SimulatedCrash(self.point)
        return self.store.execute(request)


def test_crash_at_each_point_of_the_write_path(target: Target, saver_kind: str) -> None:
    rng = random.Random(f"crash-points-{saver_kind}")
    threads = session_ids(rng, 3)
    acked: dict[str, list[str]] = {t: [] for t in threads}
    tally = Tally("crash-points", saver_kind)
    verdict = Verdict()
    runs = count(ci=24, long=200)
    with target.saver() as verifier:
        for run in range(runs):
            point = POINTS[run % len(POINTS)]
            with target.saver() as opened:
                store = CrashingStore(opened.store, point, countdown=rng.randint(1, 7))
                graph = build(PicoflowSaver(store, session=opened.session_config))
                for n in range(4):
                    thread_id, text = rng.choice(threads), f"c{run}-{n}"
                    try:
                        graph.invoke(turn_input(text), config(thread_id), durability="sync")
                    except SimulatedCrash:
                        tally.faults += 1
                        break
                    acked[thread_id].append(text)
                    tally.acknowledged += 1
            tally.runs += 1
            tally.rolled_forward += sum(needs_roll_forward(verifier, t) for t in threads)
            verdict.extend(check_all(verifier, acked))
    tally.lost, tally.corrupt = len(verdict.lost), len(verdict.corrupt)
    record(tally)
    assert verdict, verdict.summary()
    assert tally.faults >= runs // 2
