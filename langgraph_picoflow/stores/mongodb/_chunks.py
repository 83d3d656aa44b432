"""Payloads too large for their document, cut into ``<sessions>.chunks`` documents.

A log entry (``checkpoint``, ``session`` JSON), a pending write or a blob (``value``) whose
payloads pass the profile's inline budget keeps them as chunk documents instead. A chunk's
``_id`` is ``{o: owner _id, f: field, x: token, p: part}`` with ``token`` a digest of the
payload: rewriting the same payload rewrites the same chunks, and a different payload never
overwrites the chunks an older version of the owner still points at. ``t``, ``n`` and ``c``
(thread, namespace, checkpoint id) let the chunks be deleted with their thread or checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from langgraph_picoflow.stores.mongodb._ops import Coll

#: The fields of each side collection that may be chunked.
PAYLOADS: dict[Coll, tuple[str, ...]] = {
    "checkpoints": ("checkpoint", "session"),
    "writes": ("value",),
    "blobs": ("value",),
}


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def split(
    coll: Coll, doc: Mapping[str, Any], budget: int, *, thread: str, ns: str, cid: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``doc`` with its largest payloads moved out until the rest fits ``budget``.

    Returns the owner document (``chunked`` names what moved) and the chunk documents.
    """
    sizes = {f: len(_bytes(doc[f])) for f in PAYLOADS[coll] if doc.get(f) is not None}
    total = sum(sizes.values())
    if total <= budget:
        return dict(doc), []
    owner, chunks, chunked = dict(doc), [], {}
    for field in sorted(sizes, key=lambda f: sizes[f], reverse=True):
        if total <= budget:
            break
        data = _bytes(doc[field])
        token = hashlib.sha256(data).hexdigest()[:24]
        parts = [data[i : i + budget] for i in range(0, len(data), budget)]
        chunked[field] = {"x": token, "n": len(parts), "text": isinstance(doc[field], str)}
        owner[field] = None
        chunks += [
            {"_id": _chunk_id(doc["_id"], field, token, p), "t": thread, "n": ns, "c": cid, "d": d}
            for p, d in enumerate(parts)
        ]
        total -= sizes[field]
    owner["chunked"] = chunked
    return owner, chunks


def _chunk_id(owner: Any, field: str, token: str, part: int) -> dict[str, Any]:
    return {"o": owner, "f": field, "x": token, "p": part}


def _hashable(chunk_id: Any) -> str:
    return json.dumps(chunk_id, default=str)


def missing(docs: Iterable[Mapping[str, Any]], fields: Iterable[str] | None = None) -> list[Any]:
    """``_id`` of every chunk the documents point at (only for ``fields`` when given)."""
    wanted = set(fields) if fields is not None else None
    return [
        _chunk_id(doc["_id"], field, info["x"], p)
        for doc in docs
        for field, info in (doc.get("chunked") or {}).items()
        if wanted is None or field in wanted
        for p in range(info["n"])
    ]


def join(docs: list[dict[str, Any]], chunks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The documents with their chunked payloads put back (where the chunks were given)."""
    found = {_hashable(c["_id"]): bytes(c["d"]) for c in chunks}
    out = []
    for doc in docs:
        doc = dict(doc)
        for field, info in (doc.pop("chunked", None) or {}).items():
            ids = [_hashable(_chunk_id(doc["_id"], field, info["x"], p)) for p in range(info["n"])]
            if all(i in found for i in ids):
                data = b"".join(found[i] for i in ids)
                doc[field] = data.decode("utf-8") if info["text"] else data
        out.append(doc)
    return out
