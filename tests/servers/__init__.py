"""Real database servers for the test suite, started by the test run itself.

* :mod:`tests.servers.mongo`: SecantusDB (MongoDB wire protocol over WiredTiger), in-process or
  as a separate process that can be SIGKILLed and restarted on the same storage path.
* :mod:`tests.servers.cosmos`: ``@vercel/cosmosdb-server`` (Cosmos DB NoSQL API) via
  ``tests/cosmos_emulator/launch.js``.
* :mod:`tests.servers.plugin`: the pytest fixtures; load with
  ``pytest_plugins = ["tests.servers.plugin"]``.
"""
