"""The saver's logic as sans-I/O plans.

Each public operation of the checkpointer is a generator that *yields* store requests
(:mod:`langgraph_picoflow.stores.protocol`) and receives their results; it returns the
operation's result. It does no I/O itself, so the sync and async savers are two tiny
drivers over the same code (see :mod:`langgraph_picoflow.saver`), and the logic is tested
against an in-memory store without a database.
"""

from langgraph_picoflow.plans._base import Context, Head, HeadCache, Plan
from langgraph_picoflow.plans._heads import adopted_checkpoint, adopted_checkpoint_id, load_head
from langgraph_picoflow.plans._maintenance import (
    copy_thread,
    delete_for_runs,
    delete_thread,
    list_threads,
    prune,
)
from langgraph_picoflow.plans._read import (
    documents_at,
    get_delta_channel_history,
    get_tuple,
    list_checkpoints,
)
from langgraph_picoflow.plans._write import put, put_writes

__all__ = [
    "Context",
    "Head",
    "HeadCache",
    "Plan",
    "adopted_checkpoint",
    "adopted_checkpoint_id",
    "copy_thread",
    "delete_for_runs",
    "delete_thread",
    "documents_at",
    "get_delta_channel_history",
    "get_tuple",
    "list_checkpoints",
    "list_threads",
    "load_head",
    "prune",
    "put",
    "put_writes",
]
