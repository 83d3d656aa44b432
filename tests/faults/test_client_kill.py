"""SIGKILL the client process at random points of its write path.

A child process runs turns back to back on a resumed and a new session, recording each
acknowledged turn (``invoke`` returned) to a side file with fsync. The parent measures how
long a turn takes, kills the child at a uniformly random moment within the next three
turns, and checks every session from a fresh saver: nothing acknowledged is lost, nothing
is corrupt, heads left behind their log are counted (and rolled forward by the next
reader: on even runs the verifier, on odd runs the next client).

For SQLite this is the crash that matters (the database lives in the client process);
the in-memory store dies with its process, so :mod:`tests.faults.test_crash_points`
covers it instead.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.faults import processes
from tests.faults.figures import Tally, count, record
from tests.faults.proxy import FaultProxy
from tests.faults.targets import Target
from tests.faults.verify import Verdict, check_all, needs_roll_forward
from tests.faults.workload import Client, build, config, read_lines, turn_input


def session_ids(rng: random.Random, n: int) -> list[str]:
    """``n`` Picoflow-style (24-hex) session ids."""
    return [f"{rng.getrandbits(96):024x}" for _ in range(n)]


def test_client_killed_mid_write_loses_no_acknowledged_turn(
    target: Target, saver_kind: str, tmp_path: Path
) -> None:
    if not target.cross_process:
        pytest.skip("the in-memory store dies with its process (see test_crash_points)")
    rng = random.Random(f"client-kill-{saver_kind}")
    acked: dict[str, list[str]] = {}
    tally = Tally("client-kill", saver_kind)
    verdict = Verdict()
    for run in range(count(ci=6, long=200)):
        # One session a killed client wrote to before (resumed, rolled forward) and a new
        # one, so a session a dead writer left locked cannot stall the run.
        fresh = session_ids(rng, 1)[0]
        threads = (rng.choice(sorted(acked)), fresh) if acked else (fresh,)
        acked[fresh] = []
        client = Client(
            target,
            threads=threads,
            tag=f"r{run}",
            acks=tmp_path / f"acks-{run}.jsonl",
            errors=tmp_path / f"errors-{run}.jsonl",
            mode=rng.choice(("sync", "async")),
            seed=run,
        )
        child = processes.start(client)
        try:
            started = processes.wait_for(processes.acks_at_least(client.acks, 2), timeout=120)
            assert started, f"client made no progress: {read_lines(client.errors)[-3:]}"
            first, second = read_lines(client.acks)[:2]
            time.sleep(rng.uniform(0, 3 * (second["at"] - first["at"])))
        finally:
            processes.kill(child)
        tally.runs += 1
        tally.faults += 1
        client.collect(tally, acked)
        with target.saver() as verifier:
            tally.rolled_forward += sum(needs_roll_forward(verifier, t) for t in threads)
            if run % 2 == 0:  # odd runs leave any roll-forward to the next client
                verdict.extend(check_all(verifier, {t: acked[t] for t in threads}))
    with target.saver() as verifier:
        verdict.extend(check_all(verifier, acked))
    tally.lost, tally.corrupt = len(verdict.lost), len(verdict.corrupt)
    record(tally)
    assert verdict, verdict.summary()
    assert tally.acknowledged >= 2 * tally.runs


#: Seconds a session may stay unwritable after its writer died (then the test fails).
WRITABLE_WITHIN = 5.0


def test_session_is_writable_right_after_a_client_kill(
    target: Target, saver_kind: str, tmp_path: Path
) -> None:
    """A writer that dies must not lock its session: the next writer continues at once.

    Network stores kill the client right after its n-th request (n = 0, 1, 2...: every
    point of a turn, through a proxy); SQLite at random moments.
    """
    if not target.cross_process:
        pytest.skip("the in-memory store dies with its process")
    rng = random.Random(f"writable-{saver_kind}")
    thread_id = session_ids(rng, 1)[0]
    address = target.address
    proxy = FaultProxy(address) if address is not None else None
    through = target.via(proxy.port) if proxy is not None else target
    tally = Tally("kill-then-write", saver_kind)
    try:
        for point in range(count(ci=16, long=48)):
            client = Client(
                through,
                threads=(thread_id,),
                tag=f"w{point}",
                acks=tmp_path / f"acks-w{point}.jsonl",
                errors=tmp_path / f"errors-w{point}.jsonl",
                seed=point,
            )
            child = processes.start(client)
            try:
                assert processes.wait_for(processes.acks_at_least(client.acks, 1), 120)
                if proxy is not None:
                    pid = child.pid
                    assert pid is not None
                    proxy.arm(None, after=point, hook=lambda pid=pid: os.kill(pid, signal.SIGKILL))
                    assert proxy.wait_fired(60)
                else:
                    time.sleep(rng.uniform(0, 0.05))
            finally:
                processes.kill(child)
            tally.runs += 1
            tally.faults += 1
            with target.saver() as fresh:
                started = time.monotonic()
                build(fresh).invoke(turn_input(f"after-w{point}"), config(thread_id))
                assert time.monotonic() - started < WRITABLE_WITHIN
    finally:
        if proxy is not None:
            proxy.close()
        record(tally)
