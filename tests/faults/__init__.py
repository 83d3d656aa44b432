"""Fault injection for every store in the registry (``tests/stores.py``).

* :mod:`tests.faults.targets`: one *storage* of a registered store kind, reachable from
  several savers, processes and addresses (a proxy, a restarted server).
* :mod:`tests.faults.proxy`: a TCP proxy on 127.0.0.1 that drops, cuts, delays or stalls
  connections mid-request, or runs a hook (a server SIGKILL) after the n-th request.
* :mod:`tests.faults.workload`: the graph every fault test runs, and the client process
  that records each acknowledged turn to a side file (fsync) before starting the next.
* :mod:`tests.faults.verify`: what "intact" means: the document validates, ``get_state``
  works, no acknowledged turn is lost, no step applied twice, history never interleaved.
* :mod:`tests.faults.figures`: CI versus long run counts, and the figures the long run
  reports (``scripts/reliability.py``).
"""
