"""Log items: records <-> JSON items, and parts for items larger than Cosmos DB allows.

Every item of the checkpoint log lives in its thread's logical partition
(``thread_id``) and says what it is in ``kind``. Values that must round-trip exactly
(checkpoints, session patches, serialised channel values) are stored as JSON text or
base64, never as JSON numbers the service could round; metadata is also kept as an
object so that queries can filter on it.

An item whose JSON exceeds :attr:`CosmosLimits.item_bytes` keeps only its *header*
fields (those queries use) and moves the rest, as JSON text, to ``part`` items
``<id>~<pgen>~<i>`` holding slices of it; ``pgen`` (a digest of the moved text, also in
the part ids) tells current parts from stale ones.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from langgraph_picoflow import codec
from langgraph_picoflow.errors import StoreError
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, WriteRecord
from langgraph_picoflow.stores.cosmos.ids import content_digest, log_id

#: Fields Cosmos DB adds to every item; they never reach a record or a document.
SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")

#: Fields an item keeps when it is split (what queries filter on or need to read parts).
HEADER_FIELDS = frozenset(
    {
        *("id", "thread_id", "kind", "ns", "cid", "parent", "seq", "run_id", "metadata"),
        *("task_id", "idx", "channel", "version", "key", "type", "task_path"),
        *("rev", "base", "f", "n", "gen", "j", "a", "b", "next_id", "stub"),
    }
)

Item = dict[str, Any]


def strip_system(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without the service's system fields."""
    return {k: v for k, v in item.items() if k not in SYSTEM_FIELDS}


def size_of(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what the service measures)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def b64(data: bytes) -> str:
    """Base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`."""
    return base64.b64decode(text.encode("ascii"))


# --- records <-> items ----------------------------------------------------------------


def checkpoint_id(ns: str, cid: str) -> str:
    """Id of a checkpoint item."""
    return log_id("c", ns, cid)


def checkpoint_item(r: CheckpointRecord) -> Item:
    """The log item of a checkpoint record."""
    return {
        "id": checkpoint_id(r.checkpoint_ns, r.checkpoint_id),
        "thread_id": r.thread_id,
        "kind": "checkpoint",
        "ns": r.checkpoint_ns,
        "cid": r.checkpoint_id,
        "parent": r.parent_id,
        "seq": r.seq,
        "run_id": r.run_id,
        "metadata": codec.to_jsonable(r.metadata),
        "meta": codec.dumps(r.metadata),
        "checkpoint": codec.dumps(r.checkpoint),
        "session": codec.dumps(r.session) if r.session is not None else None,
    }


def checkpoint_record(item: Item) -> CheckpointRecord:
    """Inverse of :func:`checkpoint_item` (``session`` may have been left out)."""
    session = item.get("session")
    return CheckpointRecord(
        thread_id=item["thread_id"],
        checkpoint_ns=item["ns"],
        checkpoint_id=item["cid"],
        parent_id=item.get("parent"),
        checkpoint=codec.loads(item["checkpoint"]),
        metadata=codec.loads(item["meta"]),
        session=codec.loads(session) if isinstance(session, str) else None,
        seq=int(item.get("seq") or 0),
    )


def write_id(ns: str, cid: str, task_id: str, idx: int) -> str:
    """Id of a pending-write item."""
    return log_id("w", ns, cid, task_id, idx)


def write_item(w: WriteRecord) -> Item:
    """The log item of a pending write."""
    return {
        "id": write_id(w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx),
        "thread_id": w.thread_id,
        "kind": "write",
        "ns": w.checkpoint_ns,
        "cid": w.checkpoint_id,
        "task_id": w.task_id,
        "idx": w.idx,
        "channel": w.channel,
        "type": w.type,
        "task_path": w.task_path,
        "value": b64(w.value),
    }


def write_record(item: Item) -> WriteRecord:
    """Inverse of :func:`write_item`."""
    return WriteRecord(
        item["thread_id"],
        item["ns"],
        item["cid"],
        item["task_id"],
        int(item["idx"]),
        item["channel"],
        item["type"],
        unb64(item["value"]),
        item.get("task_path") or "",
    )


def blob_key(channel: str, version: str) -> str:
    """The ``key`` field of a blob item (what ``ReadBlobs`` filters on)."""
    return json.dumps([channel, version], ensure_ascii=False)


def blob_item(b: BlobRecord) -> Item:
    """The log item of a channel value."""
    return {
        "id": log_id("b", b.checkpoint_ns, b.channel, b.version),
        "thread_id": b.thread_id,
        "kind": "blob",
        "ns": b.checkpoint_ns,
        "channel": b.channel,
        "version": b.version,
        "key": blob_key(b.channel, b.version),
        "type": b.type,
        "value": b64(b.value),
    }


def blob_record(item: Item) -> BlobRecord:
    """Inverse of :func:`blob_item`."""
    return BlobRecord(
        item["thread_id"],
        item["ns"],
        item["channel"],
        item["version"],
        item["type"],
        unb64(item["value"]),
    )


# --- parts ---------------------------------------------------------------------------


def split(item: Item, item_bytes: int, part_bytes: int) -> list[Item]:
    """``[item]`` if it is small enough, else its header item followed by its parts."""
    if size_of(item) <= item_bytes:
        return [item]
    header = {k: v for k, v in item.items() if k in HEADER_FIELDS}
    bulk = {k: v for k, v in item.items() if k not in HEADER_FIELDS}
    text = json.dumps(bulk, ensure_ascii=False, separators=(",", ":"))
    pgen = content_digest(text)[:16]
    slices = _slices(text, part_bytes)
    header.update(parts=len(slices), pgen=pgen)
    if size_of(header) > item_bytes:
        raise StoreError(f"log item {item['id']!r}: its header alone exceeds {item_bytes} bytes")
    parts = [
        {
            "id": part_id(item["id"], pgen, i),
            "thread_id": item["thread_id"],
            "kind": "part",
            "of_kind": item["kind"],
            "owner": item["id"],
            "pgen": pgen,
            "i": i,
            "data": piece,
        }
        for i, piece in enumerate(slices)
    ]
    return [header, *parts]


def _slices(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces each at most ``limit`` bytes once stored as a JSON string.

    Kept as text rather than base64: JSON inside a JSON string costs an escape per quote,
    which for message content is far less than base64's third.
    """
    pieces: list[str] = []
    i = 0
    while i < len(text):
        n = limit
        piece = text[i : i + n]
        while size_of(piece) > limit and n > 1:
            n = max(1, min(n - 1, n * limit // size_of(piece)))
            piece = text[i : i + n]
        pieces.append(piece)
        i += len(piece)
    return pieces or [""]


def part_id(owner: str, pgen: str, i: int) -> str:
    """Id of the ``i``-th part of item ``owner`` split as generation ``pgen``.

    The generation is in the id so that rewriting an item never overwrites the parts a
    reader (or a compensating writer) may still need; old parts are deleted afterwards.
    """
    return f"{owner}~{pgen}~{i}"


def part_ids(item: Item) -> list[str]:
    """Ids of the parts a stored (split) item has."""
    count = int(item.get("parts") or 0)
    return [part_id(item["id"], str(item.get("pgen")), i) for i in range(count)]


def needs_parts(items: Iterable[Item]) -> list[str]:
    """Ids of the items that were split (their parts must be fetched)."""
    return [i["id"] for i in items if i.get("parts")]


def join(items: Sequence[Item], parts: Iterable[Item]) -> list[Item]:
    """Items with their parts merged back (parts of another generation are ignored)."""
    by_owner: dict[tuple[str, str], dict[int, str]] = {}
    for p in parts:
        by_owner.setdefault((p["owner"], p["pgen"]), {})[int(p["i"])] = p["data"]
    out: list[Item] = []
    for item in items:
        count = int(item.get("parts") or 0)
        if not count:
            out.append(item)
            continue
        found = by_owner.get((item["id"], item["pgen"]), {})
        if len(found) < count:
            raise StoreError(f"log item {item['id']!r} is missing parts ({len(found)}/{count})")
        whole = {k: v for k, v in item.items() if k not in ("parts", "pgen")}
        whole.update(json.loads("".join(found[i] for i in range(count))))
        out.append(whole)
    return out
