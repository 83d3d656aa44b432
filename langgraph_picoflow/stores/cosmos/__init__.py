"""Azure Cosmos DB (NoSQL API) store, sync and async.

Layout: the sessions container (partition key ``/id``) holds each Picoflow document as
one item whose id is the session id, in Picoflow's own plain-JSON spelling; the checkpoint
log container (``<sessions>-checkpoints``, partition key ``/thread_id``) holds, per thread,
checkpoints, pending writes, channel values, sidecars, history moved out of an oversized
head, and one *tip* item (see :mod:`.tip`). Each thread's log is one logical partition, so
its writes go in transactional batches.
"""

from langgraph_picoflow.stores.cosmos.config import CosmosConfig, CosmosLimits
from langgraph_picoflow.stores.cosmos.ids import InvalidIdError, check_thread_id
from langgraph_picoflow.stores.cosmos.store import (
    AsyncCosmosStore,
    CosmosStore,
    open_async_cosmos,
    open_cosmos,
)

__all__ = [
    "AsyncCosmosStore",
    "CosmosConfig",
    "CosmosLimits",
    "CosmosStore",
    "InvalidIdError",
    "check_thread_id",
    "open_async_cosmos",
    "open_cosmos",
]
