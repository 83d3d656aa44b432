"""Which session ids a target store accepts, and giving a thread a new one.

New ids are derived from the old id (a hash), not drawn at random: running a migration
again, or resuming it, gives every session the id it got the first time, so no state is
needed to stay idempotent, and the old -> new mapping file can be rebuilt at any time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from langgraph_picoflow import document as pdoc
from langgraph_picoflow import patch as patches
from langgraph_picoflow.migrate._thread import ThreadData
from langgraph_picoflow.records import CheckpointRecord, SessionRecord
from langgraph_picoflow.stores.url import is_cosmos_connection_string, is_mongodb_url

IdKind = Literal["objectid", "uuid"]


@dataclass(frozen=True)
class IdRules:
    """The ids a target store takes, and the kind of id it gets when one must change.

    ``new_ids`` re-identifies every session; otherwise only ids the target refuses
    (characters in ``forbidden``, or longer than ``max_length``) are replaced.
    ``mongo_key``: the target keys each document by ``_id`` as Picoflow does on MongoDB:
    first key, an ObjectId for a 24-hex id (read back as ``_id``), else the string id
    (not part of the document read back). Documents are shaped so before they are
    written, so what is written is what reads back.
    """

    kind: IdKind = "objectid"
    forbidden: str = ""
    max_length: int | None = None
    new_ids: bool = False
    mongo_key: bool = False

    @classmethod
    def for_url(cls, url: str, *, new_ids: bool = False) -> IdRules:
        """The rules of the store ``url`` names.

        Cosmos DB item ids may not hold ``/ \\ ? #`` and are at most 255 characters;
        Picoflow gives Cosmos sessions uuid v4 ids and Mongo sessions ObjectIds.
        """
        if is_cosmos_connection_string(url):
            return cls("uuid", "/\\?#", 255, new_ids)
        return cls("objectid", "", None, new_ids, mongo_key=is_mongodb_url(url))

    def accepts(self, session_id: str) -> bool:
        """Whether the target can store a session under ``session_id`` as it is."""
        if self.max_length is not None and len(session_id) > self.max_length:
            return False
        return bool(session_id) and not any(c in self.forbidden for c in session_id)

    def target_id(self, session_id: str, created: Any = None) -> str:
        """The id ``session_id`` gets in the target (itself unless it must change)."""
        if not self.new_ids and self.accepts(session_id):
            return session_id
        return derived_id(session_id, self.kind, created)


#: Keep every id (what a target without restrictions gets).
KEEP_IDS = IdRules()


def derived_id(session_id: str, kind: IdKind, created: Any = None) -> str:
    """A new id of ``kind`` that depends only on ``session_id`` (and the creation time).

    An ObjectId starts with its creation time in seconds, as MongoDB's do; a uuid has the
    version-4 layout Picoflow's Cosmos sessions use.

    >>> derived_id("user-42", "uuid") == derived_id("user-42", "uuid")
    True
    >>> len(derived_id("user-42", "objectid"))
    24
    """
    digest = hashlib.sha256(f"picoflow-migrate:{session_id}".encode()).digest()
    if kind == "objectid":
        seconds = int(created.timestamp()) if isinstance(created, datetime) else 0
        return ((seconds & 0xFFFFFFFF).to_bytes(4, "big") + digest[:8]).hex()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _renamed_document(doc: dict[str, Any], new_id: str) -> dict[str, Any]:
    """``doc`` under ``new_id``; ``_id`` follows it when it can still be an ObjectId."""
    out = dict(doc)
    if "id" in out:
        out["id"] = new_id
    if "_id" in out:
        if pdoc.OBJECT_ID_RE.match(new_id):
            out["_id"] = new_id
        else:
            del out["_id"]  # a Mongo key that no longer names this session
    return out


def _renamed_entry(record: CheckpointRecord, new_id: str) -> CheckpointRecord:
    session = record.session
    if session is not None and any(p.get("op") == "ReplaceSession" for p in session["patch"]):
        ops = [
            patches.ReplaceSession(_renamed_document(op.document, new_id), op.sidecars)
            if isinstance(op, patches.ReplaceSession)
            else op
            for op in patches.from_json(session["patch"])
        ]
        session = {**session, "patch": patches.to_json(ops)}
    return replace(record, thread_id=new_id, session=session)


def for_target(data: ThreadData, rules: IdRules) -> ThreadData:
    """``data`` under the id the target gives it, its head keyed as the target keys it."""
    created = data.session.document.get("createdOn") if data.session else None
    data = rename_thread(data, rules.target_id(data.thread_id, created))
    head = data.session
    if not rules.mongo_key or head is None:
        return data
    doc = {k: v for k, v in head.document.items() if k != "_id"}
    if pdoc.OBJECT_ID_RE.match(data.thread_id):
        doc = {"_id": data.thread_id, **doc}
    return replace(data, session=SessionRecord(doc, head.sidecars, head.revision))


def rename_thread(data: ThreadData, new_id: str) -> ThreadData:
    """``data`` moved to ``new_id``: records, head document and the documents in its log."""
    if new_id == data.thread_id:
        return data
    head = data.session
    session = (
        SessionRecord(_renamed_document(head.document, new_id), head.sidecars, head.revision)
        if head is not None
        else None
    )
    return ThreadData(
        new_id,
        session,
        [_renamed_entry(r, new_id) for r in data.checkpoints],
        [replace(w, thread_id=new_id) for w in data.writes],
        [replace(b, thread_id=new_id) for b in data.blobs],
    )
