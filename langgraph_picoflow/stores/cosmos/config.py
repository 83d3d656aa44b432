"""Where a Cosmos store keeps its data, the limits it respects, and connection strings.

Names default to Picoflow's own settings (``COSMODB_ID`` for the database,
``COSMODB_SESSION_ID`` for the sessions container) when those are set, so a LangGraph
app and a Picoflow deployment configured from the same environment meet in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from langgraph_picoflow.errors import StoreError

#: Picoflow's environment variables for the database and the sessions container.
DATABASE_ENV = "COSMODB_ID"
CONTAINER_ENV = "COSMODB_SESSION_ID"


@dataclass(frozen=True)
class CosmosLimits:
    """Sizes in bytes of serialised JSON; kept below the service's so nothing is discovered.

    Cosmos DB refuses an item above 2 MB (HTTP 413) and a transactional batch above 2 MB
    or 100 operations; a patch takes at most 10 operations. On a 413 the store halves
    these (:meth:`halved`) and tries again.
    """

    #: A log item larger than this is split into parts.
    item_bytes: int = 1_500_000
    #: Bytes per part (a slice of the item's JSON text, stored as a JSON string).
    part_bytes: int = 1_200_000
    #: Payload of one transactional batch.
    batch_bytes: int = 1_800_000
    batch_ops: int = 100
    patch_ops: int = 10
    #: The head item may grow to this before older history moves to the log ...
    head_bytes: int = 1_800_000
    #: ... and is trimmed to this when it does (so trimming is rare).
    head_target: int = 1_000_000
    #: A history entry at least this large is kept in the log, a stub in the head.
    entry_bytes: int = 512_000
    #: Sidecars are sealed into immutable items of this many entries.
    sidecar_block: int = 8

    def halved(self) -> CosmosLimits:
        """Smaller limits after the service answered 413 (request too large)."""
        return replace(
            self,
            item_bytes=max(self.item_bytes // 2, 4_000),
            part_bytes=max(self.part_bytes // 2, 2_000),
            batch_bytes=max(self.batch_bytes // 2, 8_000),
            head_bytes=max(self.head_bytes // 2, 8_000),
            head_target=max(self.head_target // 2, 4_000),
            entry_bytes=max(self.entry_bytes // 2, 2_000),
        )


@dataclass(frozen=True)
class CosmosConfig:
    """Database and container names, limits, expiry and partition deletes."""

    database: str = field(default_factory=lambda: os.environ.get(DATABASE_ENV) or "picoflow")
    container: str = field(default_factory=lambda: os.environ.get(CONTAINER_ENV) or "sessions")
    #: The checkpoint log container; ``<container>-checkpoints`` when not given.
    log_container: str | None = None
    limits: CosmosLimits = field(default_factory=CosmosLimits)
    #: Seconds after ``saveOn`` at which a whole session expires; ``None``: never (default).
    expire_after: int | None = None
    #: Use the (preview) delete-by-partition-key feature: ``None`` tries it once and falls
    #: back to query + batch deletes when the account does not support it.
    partition_delete: bool | None = None
    #: Page size asked for in queries (``-1`` lets the service fill each page, up to 4 MB).
    page_size: int = -1
    #: Seconds after which a writer that wrote the tip but never its head counts as dead
    #: (its tip may then be taken over; until then other writers get ``ConflictError``).
    lease: float = 60.0

    @property
    def log_name(self) -> str:
        """Name of the checkpoint log container."""
        return self.log_container or f"{self.container}-checkpoints"


def parse_connection_string(conn_string: str) -> tuple[str, str | None]:
    """``(endpoint, key)`` from ``AccountEndpoint=...;AccountKey=...;`` (key optional).

    >>> parse_connection_string("AccountEndpoint=https://a.documents.azure.com:443/;AccountKey=k==;")
    ('https://a.documents.azure.com:443/', 'k==')
    """
    fields: dict[str, str] = {}
    for part in conn_string.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")  # keys end in "=" padding: split once
        if not sep:
            raise StoreError(f"malformed Cosmos DB connection string part {name.strip()!r}")
        fields[name.strip().lower()] = value.strip()
    endpoint = fields.get("accountendpoint")
    if not endpoint:
        raise StoreError("Cosmos DB connection string has no AccountEndpoint")
    return endpoint, fields.get("accountkey") or None
