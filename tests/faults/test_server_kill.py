"""SIGKILL the database server at random points of a client's write path, then restart it.

The MongoDB store runs against a SecantusDB child process on its own storage path, with
every commit journaled as ``j: true`` promises (see :mod:`tests.faults.secantus` for why the
stock server is not used); the client (a child process running turns back to back) reaches it
through a :class:`~tests.faults.proxy.FaultProxy`, which kills the server right after
forwarding the n-th request (n random): between a log insert and its head update, inside
a transaction, before a commit... The server restarts on the same files and port, the
client carries on (its failed turns are not acknowledged), and every session is checked
against the acknowledged turns.

Only stores with a server process that keeps its data can be tested this way. The Cosmos
emulator keeps everything in memory (a kill loses it all, which says nothing about Cosmos
DB), so Cosmos is covered by client kills and network faults; SQLite and memory have no
server.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import processes
from tests.faults.figures import Tally, count, record
from tests.faults.proxy import FaultProxy
from tests.faults.secantus import JournaledSecantus
from tests.faults.targets import Target
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_all, needs_roll_forward
from tests.faults.workload import Client, read_lines


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JournaledSecantus]:
    """A SecantusDB child on its own storage path, journaling every commit."""
    with JournaledSecantus(tmp_path / "secantus") as proc:
        yield proc


def test_server_killed_mid_write_loses_no_acknowledged_turn(
    target: Target, saver_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not target.is_mongodb:
        pytest.skip(f"{saver_kind}: no server process that keeps its data across a SIGKILL")
    server: JournaledSecantus = request.getfixturevalue("server")
    direct = target.via(server.port)
    rng = random.Random(f"server-kill-{saver_kind}")
    threads = session_ids(rng, 4)
    acked: dict[str, list[str]] = {t: [] for t in threads}
    tally = Tally("server-kill", saver_kind)
    verdict = Verdict()
    with FaultProxy(("127.0.0.1", server.port)) as proxy:
        through = target.via(proxy.port, serverSelectionTimeoutMS="10000")
        for run in range(count(ci=4, long=200)):
            client = Client(
                through,
                threads=tuple(rng.sample(threads, 2)),
                tag=f"s{run}",
                acks=tmp_path / f"acks-{run}.jsonl",
                errors=tmp_path / f"errors-{run}.jsonl",
                stop=tmp_path / f"stop-{run}",
                mode=rng.choice(("sync", "async")),
                seed=run,
            )
            child = processes.start(client)
            try:
                assert processes.wait_for(processes.acks_at_least(client.acks, 1), 120)
                proxy.arm(
                    None, after=rng.randint(0, 40), delay=rng.uniform(0, 0.003), hook=server.kill
                )
                assert proxy.wait_fired(120), "the client stopped sending requests"
                tally.faults += 1
                time.sleep(rng.uniform(0, 0.3))
                server.restart()
                recovered = len(read_lines(client.acks)) + 1
                assert processes.wait_for(processes.acks_at_least(client.acks, recovered), 120), (
                    f"the client did not recover: {read_lines(client.errors)[-3:]}"
                )
                client.stop.touch()  # type: ignore[union-attr]
                child.join(timeout=60)
            finally:
                processes.kill(child)
            tally.runs += 1
            client.collect(tally, acked)
            with direct.saver() as verifier:
                tally.rolled_forward += sum(needs_roll_forward(verifier, t) for t in threads)
                verdict.extend(check_all(verifier, acked))
    tally.lost, tally.corrupt = len(verdict.lost), len(verdict.corrupt)
    record(tally)
    assert verdict, verdict.summary()
