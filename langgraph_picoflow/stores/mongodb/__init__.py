"""The MongoDB store: MongoDB, AWS DocumentDB and Azure Cosmos DB for MongoDB, via pymongo.

Sessions stay exactly as Picoflow stores them (``<db>.sessions``); what LangGraph needs
lives beside them (``sessions.sidecars``, ``sessions.checkpoints``, ``sessions.writes``,
``sessions.blobs``, ``sessions.chunks``; see :mod:`._layout`). A step appends to the
session document with ``$push`` under a compare-and-swap on ``saveOn``; reading a thread's
latest checkpoint is one aggregation. Example::

    from langgraph_picoflow import PicoflowSaver

    with PicoflowSaver.from_conn_string("mongodb://localhost:27017/picoflow") as saver:
        graph = builder.compile(checkpointer=saver)
"""

from langgraph_picoflow.stores.mongodb._profile import COMPAT_MODES, Compat, Profile
from langgraph_picoflow.stores.mongodb._store import (
    DEFAULT_COLLECTION,
    DEFAULT_DB,
    DURABLE,
    AsyncMongoStore,
    MongoStore,
    open_async_mongodb,
    open_mongodb,
)

__all__ = [
    "COMPAT_MODES",
    "DEFAULT_COLLECTION",
    "DEFAULT_DB",
    "DURABLE",
    "AsyncMongoStore",
    "Compat",
    "MongoStore",
    "Profile",
    "open_async_mongodb",
    "open_mongodb",
]
