"""A SecantusDB child process that honours journaled write concerns on every write path.

SecantusDB 0.7.0b3 fsyncs its WiredTiger log for ``writeConcern: {j: true}`` on
``insert``/``update``/``delete``/``findAndModify``, but not on ``commitTransaction``
(``storage.commit_user_transaction`` commits without ``sync=on``) nor on the
client-level ``bulkWrite``: those commits stay in WiredTiger's log buffer, and a SIGKILL
of the server loses them although they were acknowledged as journaled. mongod waits for
the journal there too, so with the stock server a server-kill test would measure that gap
of the test server, not the store. This child turns on SecantusDB's ``sync_on_commit``
(every commit fsyncs the log), which gives every path mongod's ``j: true`` behaviour.

Run as ``python -m tests.faults.secantus --storage-path DIR [--port N]``: the same
child protocol as :mod:`tests.servers.mongo` (``LISTENING <port>``, exit on stdin EOF).
"""

from __future__ import annotations

import sys
from typing import Any

from tests.servers import mongo
from tests.servers._process import ServerProcess, repo_root


class JournaledSecantus(mongo.SecantusProcess):
    """:class:`~tests.servers.mongo.SecantusProcess` running this module's child."""

    def _spawn(self, port: int) -> ServerProcess:
        self.storage_path.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            __name__,
            "--storage-path",
            str(self.storage_path),
            "--port",
            str(port),
        ]
        return ServerProcess(
            argv, name="secantusdb-journaled", cwd=repo_root(), startup_timeout=self.startup_timeout
        )


def _main(argv: list[str]) -> int:
    import secantus

    stock = secantus.SecantusDBServer

    class Journaled(stock):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, sync_on_commit=True, **kwargs)

    # mongo._child_main imports SecantusDBServer from the package when it runs.
    secantus.SecantusDBServer = Journaled  # type: ignore[misc]
    return mongo._child_main(argv)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
