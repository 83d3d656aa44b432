"""The tip: one item per thread in the log partition, the thread's mutable log state.

It holds what reading the head needs besides the head item (the newest root checkpoint,
its pending writes and channel values, the layouts of the histories) so that
``ReadHead`` costs one point read plus one single-partition query. Every write that
changes the head rewrites the tip first, under ``If-Match`` on the tip's own etag, which
also makes concurrent writers of one thread meet (and all but one stop) before any of
them touches the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph_picoflow import codec
from langgraph_picoflow.records import CheckpointRecord
from langgraph_picoflow.stores.cosmos.items import Item, strip_system
from langgraph_picoflow.stores.cosmos.space import Space

TIP_ID = "tip"


@dataclass
class Tip:
    """The decoded tip item (``etag`` and ``raw`` describe the stored copy)."""

    #: Revision of the head this tip describes, and the one that head replaced.
    rev: str | None = None
    base: str | None = None
    #: The newest root checkpoint item, and the pending writes and blobs it needs.
    record: Item | None = None
    writes: dict[str, Item] = field(default_factory=dict)
    blobs: dict[str, Item] = field(default_factory=dict)
    #: Blob ids the checkpoint names but that were never stored (nothing to look for).
    absent: list[str] = field(default_factory=list)
    #: History layouts of the head at ``rev`` and, for spaces this update rebuilt or
    #: whose entry 0 changed, as they were at ``base``.
    spaces: dict[str, Space] = field(default_factory=dict)
    prev: dict[str, Space] = field(default_factory=dict)
    #: Size of the head item at ``rev`` (an upper bound; ``None``: unknown).
    size: int | None = None
    etag: str | None = None
    #: The stored main item (system fields stripped), to restore it after a conflict.
    raw: Item | None = None
    #: When the service last wrote it (epoch seconds, the item's ``_ts``).
    ts: float | None = None

    def item(self, thread_id: str) -> Item:
        """The tip as a (logical, unsplit) log item."""
        return {
            "id": TIP_ID,
            "thread_id": thread_id,
            "kind": "tip",
            "rev": self.rev,
            "base": self.base,
            "record": self.record,
            "writes": list(self.writes.values()),
            "blobs": list(self.blobs.values()),
            "absent": list(self.absent),
            "spaces": {k: s.to_json() for k, s in self.spaces.items()},
            "prev": {k: s.to_json() for k, s in self.prev.items()},
            "size": self.size,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any], raw: Item | None = None) -> Tip:
        """Decode a (joined) tip item; ``raw`` is the stored main item."""
        return cls(
            rev=item.get("rev"),
            base=item.get("base"),
            record=item.get("record"),
            writes={w["id"]: w for w in item.get("writes") or []},
            blobs={b["id"]: b for b in item.get("blobs") or []},
            absent=list(item.get("absent") or []),
            spaces={k: Space.from_json(v) for k, v in (item.get("spaces") or {}).items()},
            prev={k: Space.from_json(v) for k, v in (item.get("prev") or {}).items()},
            size=item.get("size"),
            etag=raw.get("_etag") if raw else None,
            raw=strip_system(raw) if raw else None,
            ts=float(raw["_ts"]) if raw and raw.get("_ts") is not None else None,
        )

    def holds(self, entry: CheckpointRecord) -> bool:
        """Whether the tip's checkpoint is the log entry ``entry``, session update included.

        A revision does not name an update: it is a millisecond timestamp, which writers
        racing from one head can share. The checkpoint id does (a failed step's abort
        re-puts its checkpoint with another session update, hence the session too).
        """
        if self.record is None or self.record.get("cid") != entry.checkpoint_id:
            return False
        session = codec.dumps(entry.session) if entry.session is not None else None
        return bool(self.record.get("session") == session)

    def copy(self) -> Tip:
        """A deep copy (layouts included)."""
        return Tip(
            self.rev,
            self.base,
            self.record,
            dict(self.writes),
            dict(self.blobs),
            list(self.absent),
            {k: s.copy() for k, s in self.spaces.items()},
            {k: s.copy() for k, s in self.prev.items()},
            self.size,
            self.etag,
            self.raw,
            self.ts,
        )
