"""Where each record lives in MongoDB, and the documents that hold it.

* ``<sessions>``: the Picoflow document, exactly as Picoflow stores it (``_id`` an ObjectId
  for 24-hex session ids, else the string id; BSON dates). Nothing else is added to it.
* ``<sessions>.sidecars``: one document per session, same ``_id`` as the session: the sidecars
  (one JSON string per history entry, aligned with the stored histories), the revision they
  belong to (``rev``) and ``spilled`` when the stored histories are cut to fit one item.
* ``<sessions>.checkpoints``: the log; ``_id`` = ``{t, n, c}`` (thread, namespace,
  checkpoint id). Root entries also carry ``head_id`` (the session's ``_id``, so one
  aggregation can join it), ``rev`` and ``blob_ids``.
* ``<sessions>.writes``: ``_id`` = ``{cp: {t, n, c}, k: task_id, i: idx}``.
* ``<sessions>.blobs``: ``_id`` = ``{t, n, ch, v}`` (channel, version).
* ``<sessions>.chunks``: pieces of payloads too large for their document (see
  :mod:`._chunks`).

Composite ``_id`` values make every key unique without a unique secondary index (Cosmos DB
cannot add one to a non-empty collection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from langgraph_picoflow import codec
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, Sidecars, WriteRecord
from langgraph_picoflow.stores.protocol import head_blob_keys

_HEX_ID = re.compile(r"[0-9a-f]{24}")
_INT64 = (-(2**63), 2**63 - 1)


def head_key(thread_id: str) -> ObjectId | str:
    """The session document's ``_id``: an ObjectId for 24-hex ids, as Picoflow looks it up."""
    return ObjectId(thread_id) if _HEX_ID.fullmatch(thread_id) else thread_id


def thread_of(key: Any) -> str:
    """The thread id a session ``_id`` stands for."""
    return str(key)


def checkpoint_key(thread_id: str, ns: str, checkpoint_id: str) -> dict[str, str]:
    """``_id`` of a log entry."""
    return {"t": thread_id, "n": ns, "c": checkpoint_id}


def write_key(w: WriteRecord) -> dict[str, Any]:
    """``_id`` of a pending write."""
    return {
        "cp": checkpoint_key(w.thread_id, w.checkpoint_ns, w.checkpoint_id),
        "k": w.task_id,
        "i": w.idx,
    }


def blob_key(thread_id: str, ns: str, channel: str, version: str) -> dict[str, str]:
    """``_id`` of a blob."""
    return {"t": thread_id, "n": ns, "ch": channel, "v": version}


# --- values ------------------------------------------------------------------------------


def to_driver(value: Any) -> Any:
    """A model-form value as pymongo stores it (dates stay ``datetime``: BSON dates)."""
    return pdoc.dump({"v": value}, "driver")["v"]


def safe_key(key: object) -> bool:
    """Whether ``key`` can be a field name on every supported server (no dots, no ``$``)."""
    return isinstance(key, str) and bool(key) and "." not in key and not key.startswith("$")


def bson_safe(value: Any) -> bool:
    """Whether a JSON value stores as BSON and reads back equal (keys and ints checked)."""
    if isinstance(value, dict):
        return all(safe_key(k) and "\x00" not in k and bson_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(bson_safe(v) for v in value)
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return True
    return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]


# --- log entries -------------------------------------------------------------------------


def checkpoint_doc(r: CheckpointRecord, head_id: Any) -> dict[str, Any]:
    """The log document of a record (payloads ``checkpoint`` and ``session`` as JSON text)."""
    doc: dict[str, Any] = {
        "_id": checkpoint_key(r.thread_id, r.checkpoint_ns, r.checkpoint_id),
        "parent_id": r.parent_id,
        "seq": r.seq,
    }
    if r.run_id is not None:
        doc["run_id"] = r.run_id
    if bson_safe(r.metadata):
        doc["metadata"] = r.metadata
    else:
        # Queryable where it can be; exact as JSON text.
        doc["metadata"] = {k: v for k, v in r.metadata.items() if bson_safe({k: v})}
        doc["metadata_json"] = codec.dumps(r.metadata)
    if r.checkpoint_ns == "":
        doc["head_id"] = head_id
        doc["blob_ids"] = [blob_key(r.thread_id, "", ch, v) for ch, v in head_blob_keys(r)]
        if r.session is not None:
            doc["rev"] = r.session.get("rev")
    doc["checkpoint"] = codec.dumps(r.checkpoint)
    doc["session"] = codec.dumps(r.session) if r.session is not None else None
    return doc


def checkpoint_record(doc: Mapping[str, Any]) -> CheckpointRecord:
    """Inverse of :func:`checkpoint_doc` (payloads already joined)."""
    key = doc["_id"]
    if "metadata_json" in doc:
        metadata = codec.loads(doc["metadata_json"])
    else:
        metadata = dict(doc.get("metadata") or {})
    session = doc.get("session")
    return CheckpointRecord(
        thread_id=key["t"],
        checkpoint_ns=key["n"],
        checkpoint_id=key["c"],
        parent_id=doc.get("parent_id"),
        checkpoint=codec.loads(doc["checkpoint"]),
        metadata=metadata,
        session=codec.loads(session) if isinstance(session, str) else None,
        seq=int(doc.get("seq", 0)),
    )


# --- writes and blobs --------------------------------------------------------------------


def write_doc(w: WriteRecord) -> dict[str, Any]:
    """The document of a pending write."""
    return {
        "_id": write_key(w),
        "channel": w.channel,
        "type": w.type,
        "value": w.value,
        "task_path": w.task_path,
    }


def write_record(doc: Mapping[str, Any]) -> WriteRecord:
    """Inverse of :func:`write_doc`."""
    key = doc["_id"]
    cp = key["cp"]
    return WriteRecord(
        cp["t"],
        cp["n"],
        cp["c"],
        key["k"],
        int(key["i"]),
        doc["channel"],
        doc["type"],
        bytes(doc["value"]),
        doc.get("task_path", ""),
    )


def blob_doc(b: BlobRecord) -> dict[str, Any]:
    """The document of a blob."""
    return {
        "_id": blob_key(b.thread_id, b.checkpoint_ns, b.channel, b.version),
        "type": b.type,
        "value": b.value,
    }


def blob_record(doc: Mapping[str, Any]) -> BlobRecord:
    """Inverse of :func:`blob_doc`."""
    key = doc["_id"]
    return BlobRecord(key["t"], key["n"], key["ch"], key["v"], doc["type"], bytes(doc["value"]))


# --- the session document and its sidecars -----------------------------------------------


def session_doc(document: Mapping[str, Any], thread_id: str) -> dict[str, Any]:
    """The stored session document: driver spelling, ``_id`` first and always present."""
    stored = pdoc.dump(document, "driver", object_id=ObjectId)
    stored.pop("_id", None)
    return {"_id": head_key(thread_id), **stored}


def session_document(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The model form of a stored session; a string ``_id`` (not Picoflow's) is dropped."""
    doc = pdoc.load(raw)
    if not isinstance(raw.get("_id"), ObjectId):
        doc.pop("_id", None)
    return doc


def sidecars_doc(thread_id: str, rev: str, spilled: bool, sidecars: Sidecars) -> dict[str, Any]:
    """The per-session sidecar document (each sidecar as compact JSON text)."""
    return {
        "_id": head_key(thread_id),
        "rev": rev,
        "spilled": spilled,
        "flows": [[[codec.dumps(s) for s in ns] for ns in flow] for flow in sidecars],
    }


def sidecars_of(raw: Mapping[str, Any]) -> Sidecars:
    """Inverse of :func:`sidecars_doc`'s ``flows``."""
    return [[[codec.loads(s) for s in ns] for ns in flow] for flow in raw.get("flows") or []]


def history_lengths(document: Mapping[str, Any]) -> list[list[int]]:
    """``len(history)`` per flow and namespace."""
    return [
        [len(m.get("history", [])) for m in f.get("memory", [])]
        for f in document.get("flows") or []
    ]


def align(document: Mapping[str, Any], sidecars: Sidecars) -> Sidecars:
    """Sidecars cut or padded with ``{}`` to the document's histories.

    Picoflow only appends messages (and replaces the system prompt in place), so a
    sidecar keeps its position when Picoflow changed the document behind our back.
    """
    out: Sidecars = []
    for f, lengths in enumerate(history_lengths(document)):
        flow = sidecars[f] if f < len(sidecars) else []
        out.append([])
        for n, length in enumerate(lengths):
            side = list(flow[n][:length]) if n < len(flow) else []
            out[-1].append(side + [{} for _ in range(length - len(side))])
    return out
