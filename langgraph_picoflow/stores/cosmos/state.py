"""What a Cosmos store remembers between requests, and the type of its programs.

The cache only saves round trips; every write is still checked by the service
(``If-Match`` on the head's and the tip's etags), so a stale entry costs a retry or a
``ConflictError``, never a lost update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from langgraph_picoflow.stores.cosmos.config import CosmosConfig, CosmosLimits
from langgraph_picoflow.stores.cosmos.tip import Tip

#: A store program: yields Cosmos operations (:mod:`.ops`), receives their results.
Program: TypeAlias = Generator[Any, Any, Any]


@dataclass
class Known:
    """The last head and tip this store saw for a thread."""

    #: ``None``: no head item.
    head_etag: str | None
    head_rev: str | None
    #: ``None``: no tip item.
    tip: Tip | None
    #: ``False`` when only the tip was read (the head fields mean nothing then).
    head_read: bool = True
    #: The tip was written for another revision and is being taken over (see ``_fence``).
    taken: bool = False


@dataclass
class StoreState:
    """Configuration plus per-thread memory, shared by a store's programs."""

    config: CosmosConfig
    clock: Callable[[], float] = time.time
    limits: CosmosLimits = field(init=False)
    known: dict[str, Known] = field(default_factory=dict)
    #: Pending writes this store wrote for root checkpoints that were not (yet) their
    #: thread's newest (LangGraph may save a step's writes before its checkpoint), so
    #: the tip can take them over when the checkpoint arrives: thread -> cid -> id -> item.
    pending: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: Whether the account deletes by partition key (``None``: not tried yet).
    partition_delete: bool | None = field(init=False)

    def __post_init__(self) -> None:
        self.limits = self.config.limits
        self.partition_delete = self.config.partition_delete

    def forget(self, thread_id: str) -> None:
        """Drop what is known of a thread (after an error or a delete)."""
        self.known.pop(thread_id, None)
