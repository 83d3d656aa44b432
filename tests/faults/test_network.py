"""Network faults between saver and server: a proxy drops, cuts, delays or stalls requests.

Every store with a server (MongoDB, Cosmos DB) is reached through a
:class:`~tests.faults.proxy.FaultProxy` on 127.0.0.1, with the driver's socket timeouts
set (:meth:`~tests.faults.targets.Target.with_timeouts`). One fault is armed per turn, at
a random request of it. The promise checked:

* a turn either succeeds or raises a *typed* error (ours or the driver's, see
  :mod:`tests.faults.errors`); a delay never makes it fail;
* reads are retried: one dropped connection never fails a read;
* whatever happened, the session read directly from the server (not through the proxy)
  is intact and holds every acknowledged turn, and nothing was applied twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import pytest

from tests.faults.errors import is_typed
from tests.faults.figures import Tally, count, qualified_name, record
from tests.faults.proxy import Fault, FaultProxy
from tests.faults.targets import Target
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_session
from tests.faults.workload import build, config, turn_input

TIMEOUT = 1.0
Turn = Callable[[str, str], Awaitable[Any]]


def _address(target: Target, saver_kind: str) -> tuple[str, int]:
    address = target.address
    if address is None:
        pytest.skip(f"{saver_kind} is embedded: there is no network to break")
    return address


async def _faulted_turns(target: Target, proxy: FaultProxy, turn: Turn, tally: Tally) -> Verdict:
    rng = random.Random(f"network-{tally.store}-{tally.suite}")
    threads = session_ids(rng, 2)
    acked: dict[str, list[str]] = {t: [] for t in threads}
    verdict = Verdict()
    faults = list(Fault)
    with target.saver() as verifier:
        for run in range(count(ci=10, long=200)):
            fault = faults[run % len(faults)]
            proxy.arm(fault, after=rng.randint(0, 10), delay=rng.uniform(0.05, 0.4))
            thread_id, text = rng.choice(threads), f"n{run}"
            try:
                await turn(thread_id, text)
            except Exception as exc:
                tally.error(exc)
                assert is_typed(exc), f"{fault}: untyped {qualified_name(type(exc))}: {exc}"
                assert fault is not Fault.DELAY, f"a delay of a request failed the turn: {exc!r}"
            else:
                acked[thread_id].append(text)
                tally.acknowledged += 1
            tally.faults += proxy.wait_fired(0)
            proxy.disarm()
            tally.runs += 1
            verdict.extend(check_session(verifier, thread_id, acked[thread_id]))
    return verdict


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_network_faults_mid_request_leave_sessions_intact(
    target: Target, saver_kind: str, mode: Literal["sync", "async"]
) -> None:
    address = _address(target, saver_kind)
    tally = Tally(f"network-{mode}", saver_kind)

    async def main(proxy: FaultProxy) -> Verdict:
        through = target.via(proxy.port).with_timeouts(TIMEOUT)
        if mode == "async":
            async with through.async_saver() as saver:
                graph = build(saver)
                return await _faulted_turns(
                    target, proxy, lambda t, x: graph.ainvoke(turn_input(x), config(t)), tally
                )
        with through.saver() as sync_saver:
            sync_graph = build(sync_saver)

            def turn(thread_id: str, text: str) -> Awaitable[Any]:
                return asyncio.to_thread(sync_graph.invoke, turn_input(text), config(thread_id))

            return await _faulted_turns(target, proxy, turn, tally)

    with FaultProxy(address) as proxy:
        verdict = asyncio.run(main(proxy))
    tally.lost, tally.corrupt = len(verdict.lost), len(verdict.corrupt)
    record(tally)
    assert verdict, verdict.summary()
    assert tally.faults >= tally.runs // 2, "most armed faults never fired"


@pytest.mark.parametrize("fault", [Fault.DROP_REQUEST, Fault.DROP_RESPONSE, Fault.CUT_RESPONSE])
def test_reads_are_retried_after_one_dropped_connection(
    target: Target, saver_kind: str, fault: Fault
) -> None:
    address = _address(target, saver_kind)
    thread_id = session_ids(random.Random(), 1)[0]
    with target.saver() as direct:
        build(direct).invoke(turn_input("hello"), config(thread_id))
        expected = build(direct).get_state(config(thread_id)).values
    with (
        FaultProxy(address) as proxy,
        target.via(proxy.port).with_timeouts(TIMEOUT).saver() as saver,
    ):
        graph = build(saver)
        for after in range(4):  # the first requests of a read, one at a time
            proxy.arm(fault, after=after)
            assert graph.get_state(config(thread_id)).values == expected
            assert saver.get_session(thread_id) is not None
            proxy.disarm()
