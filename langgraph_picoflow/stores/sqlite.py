"""The embedded store: SQLite through ``sqlite3`` (sync) and ``aiosqlite`` (async).

Layout: ``sessions`` holds each Picoflow document's skeleton (every ``history`` left
empty) and its revision; ``history`` holds one row per message entry with its sidecar, so
appending messages inserts rows instead of rewriting the document. The checkpoint log is
``checkpoints``, ``writes`` and ``blobs``. The SQL for a request is one program shared by
both drivers: it yields statements and receives their rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiosqlite

from langgraph_picoflow import codec
from langgraph_picoflow.drive import adrive, drive
from langgraph_picoflow.errors import ConflictError
from langgraph_picoflow.patch import AppendHistory, ReplaceHistory, ReplaceSession, SetHistoryEntry
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.memory import metadata_matches
from langgraph_picoflow.stores.protocol import (
    DeleteCheckpoints,
    DeleteSession,
    HeadRead,
    ListCheckpoints,
    ListThreads,
    PutBlobs,
    PutCheckpoint,
    PutWrites,
    ReadBlobs,
    ReadCheckpoint,
    ReadHead,
    ReadSession,
    ReadWrites,
    Request,
    UpdateSession,
    Write,
    head_blob_keys,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    thread_id TEXT PRIMARY KEY, revision TEXT NOT NULL, skeleton TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    thread_id TEXT NOT NULL, flow INTEGER NOT NULL, ns INTEGER NOT NULL, pos INTEGER NOT NULL,
    entry TEXT NOT NULL, sidecar TEXT NOT NULL,
    PRIMARY KEY (thread_id, flow, ns, pos)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL,
    parent_id TEXT, seq INTEGER NOT NULL, run_id TEXT,
    checkpoint TEXT NOT NULL, metadata TEXT NOT NULL, session TEXT,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
CREATE INDEX IF NOT EXISTS checkpoints_run_id ON checkpoints (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS writes (
    thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL, idx INTEGER NOT NULL, channel TEXT NOT NULL, type TEXT NOT NULL,
    value BLOB NOT NULL, task_path TEXT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx));
CREATE TABLE IF NOT EXISTS blobs (
    thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL, channel TEXT NOT NULL,
    version TEXT NOT NULL, type TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version));
"""

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")


@dataclass(frozen=True)
class Sql:
    """One statement; ``many`` runs it once per parameter row."""

    text: str
    params: Sequence[Any] = ()
    many: bool = False


Rows: TypeAlias = list[tuple[Any, ...]]
Program: TypeAlias = Generator[Sql, Rows, Any]

_CHECKPOINT_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_id, seq, checkpoint, metadata, {session}"
)


def _in(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _skeleton(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every history emptied (the rows hold the entries)."""
    flows = [
        {
            **flow,
            "memory": [{**space, "history": []} for space in flow.get("memory", [])],
        }
        if "memory" in flow
        else flow
        for flow in document.get("flows", [])
    ]
    return {**document, "flows": flows} if "flows" in document else dict(document)


def program(request: Request) -> Program:
    """The statements answering ``request``; the result is the generator's return value."""
    if isinstance(request, ReadHead):
        session = yield from _read_session(request.thread_id)
        latest = yield from program(ReadCheckpoint(request.thread_id, "", None))
        if latest is None:
            return HeadRead(session, None, [], [])
        ids = (latest.checkpoint_id,)
        writes = yield from _read_writes(ReadWrites(request.thread_id, "", ids))
        blobs = yield from _read_blobs(ReadBlobs(request.thread_id, "", head_blob_keys(latest)))
        return HeadRead(session, latest, writes, blobs)
    if isinstance(request, ReadSession):
        return (yield from _read_session(request.thread_id))
    if isinstance(request, ReadCheckpoint):
        query = ListCheckpoints(
            request.thread_id, request.checkpoint_ns, request.checkpoint_id, limit=1
        )
        found = yield from _list(query)
        return found[0] if found else None
    if isinstance(request, ListCheckpoints):
        return (yield from _list(request))
    if isinstance(request, ReadWrites):
        return (yield from _read_writes(request))
    if isinstance(request, ReadBlobs):
        return (yield from _read_blobs(request))
    if isinstance(request, ListThreads):
        rows = yield Sql(
            "SELECT thread_id FROM sessions UNION SELECT thread_id FROM checkpoints ORDER BY 1"
        )
        return [r[0] for r in rows]
    return (yield from _write(request))


def _read_session(thread_id: str) -> Program:
    rows = yield Sql("SELECT revision, skeleton FROM sessions WHERE thread_id = ?", (thread_id,))
    if not rows:
        return None
    document = codec.loads(rows[0][1])
    flows = document.get("flows", [])
    sidecars: list[list[list[dict[str, Any]]]] = [
        [[] for _ in flow.get("memory", [])] for flow in flows
    ]
    entries = yield Sql(
        "SELECT flow, ns, entry, sidecar FROM history WHERE thread_id = ? ORDER BY flow, ns, pos",
        (thread_id,),
    )
    for f, n, entry, sidecar in entries:
        flows[f]["memory"][n]["history"].append(codec.loads(entry))
        sidecars[f][n].append(codec.loads(sidecar))
    return SessionRecord(document, sidecars, rows[0][0])


def _list(q: ListCheckpoints) -> Program:
    where, params = [], []
    for column, value in (
        ("thread_id", q.thread_id),
        ("checkpoint_ns", q.checkpoint_ns),
        ("checkpoint_id", q.checkpoint_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if q.before is not None:
        where.append("checkpoint_id < ?")
        params.append(q.before)
    if q.run_ids is not None:
        where.append(f"run_id IN ({_in(q.run_ids)})")
        params.extend(q.run_ids)
    for key, value in (q.metadata or {}).items():
        # A pre-filter in SQL (JSON text equality); metadata_matches below is exact.
        where.append("metadata -> ? = ?")
        params += ['$."' + key.replace('"', '""') + '"', codec.dumps(value)]
    sql = (
        "SELECT "
        + _CHECKPOINT_COLUMNS.format(session="session" if q.with_session else "NULL")
        + " FROM checkpoints"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY checkpoint_id DESC"
    if q.limit is not None and not q.metadata:
        sql += f" LIMIT {int(q.limit)}"
    rows = yield Sql(sql, params)
    records = [
        CheckpointRecord(
            thread_id=r[0],
            checkpoint_ns=r[1],
            checkpoint_id=r[2],
            parent_id=r[3],
            seq=r[4],
            checkpoint=codec.loads(r[5]),
            metadata=codec.loads(r[6]),
            session=codec.loads(r[7]) if r[7] is not None else None,
        )
        for r in rows
    ]
    if q.metadata:
        records = [r for r in records if metadata_matches(r.metadata, q.metadata)]
        records = records[: q.limit] if q.limit is not None else records
    return records


def _scope(
    thread_id: str, ns: str | None, column: str, values: Sequence[Any] | None
) -> tuple[str, list[Any]]:
    where, params = ["thread_id = ?"], [thread_id]
    if ns is not None:
        where.append("checkpoint_ns = ?")
        params.append(ns)
    if values is not None:
        where.append(f"{column} IN ({_in(values)})")
        params.extend(values)
    return " AND ".join(where), params


def _read_writes(q: ReadWrites) -> Program:
    where, params = _scope(q.thread_id, q.checkpoint_ns, "checkpoint_id", q.checkpoint_ids)
    if q.channels is not None:
        where += f" AND channel IN ({_in(q.channels)})"
        params.extend(q.channels)
    rows = yield Sql(
        "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value, "
        f"task_path FROM writes WHERE {where}",
        params,
    )
    return [WriteRecord(*r) for r in rows]


def _read_blobs(q: ReadBlobs) -> Program:
    where, params = _scope(q.thread_id, q.checkpoint_ns, "", None)
    if q.keys is not None:
        if not q.keys:
            return []
        where += " AND (channel, version) IN (VALUES " + ",".join(["(?, ?)"] * len(q.keys)) + ")"
        params += [part for key in q.keys for part in key]
    rows = yield Sql(
        f"SELECT thread_id, checkpoint_ns, channel, version, type, value FROM blobs WHERE {where}",
        params,
    )
    return [BlobRecord(*r) for r in rows]


def _write(request: Write) -> Program:
    yield Sql("BEGIN IMMEDIATE")
    try:
        for op in request.ops:
            if isinstance(op, UpdateSession):
                yield from _update_session(op)
            elif isinstance(op, PutCheckpoint):
                r = op.record
                yield Sql(
                    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                    "parent_id, seq, run_id, checkpoint, metadata, session) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.thread_id,
                        r.checkpoint_ns,
                        r.checkpoint_id,
                        r.parent_id,
                        r.seq,
                        r.run_id,
                        codec.dumps(r.checkpoint),
                        codec.dumps(r.metadata),
                        codec.dumps(r.session) if r.session is not None else None,
                    ),
                )
            elif isinstance(op, PutBlobs):
                yield Sql(
                    "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (b.thread_id, b.checkpoint_ns, b.channel, b.version, b.type, b.value)
                        for b in op.blobs
                    ],
                    many=True,
                )
            elif isinstance(op, PutWrites):
                verb = "INSERT OR REPLACE" if op.overwrite else "INSERT OR IGNORE"
                yield Sql(
                    f"{verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, "
                    "channel, type, value, task_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            w.thread_id,
                            w.checkpoint_ns,
                            w.checkpoint_id,
                            w.task_id,
                            w.idx,
                            w.channel,
                            w.type,
                            w.value,
                            w.task_path,
                        )
                        for w in op.writes
                    ],
                    many=True,
                )
            elif isinstance(op, DeleteSession):
                for table in ("sessions", "history"):
                    yield Sql(f"DELETE FROM {table} WHERE thread_id = ?", (op.thread_id,))
            else:
                yield from _delete(op)
    except BaseException:
        yield Sql("ROLLBACK")
        raise
    yield Sql("COMMIT")


def _update_session(op: UpdateSession) -> Program:
    rows = yield Sql("SELECT revision FROM sessions WHERE thread_id = ?", (op.thread_id,))
    found = rows[0][0] if rows else None
    if found != op.expected:
        raise ConflictError(op.thread_id, f"expected revision {op.expected}, found {found}")
    doc, tid = op.result.document, op.thread_id
    yield Sql(
        "INSERT OR REPLACE INTO sessions (thread_id, revision, skeleton) VALUES (?, ?, ?)",
        (tid, op.result.revision, codec.dumps(_skeleton(doc))),
    )
    insert = "INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?, ?, ?)"
    for change in op.patch:
        if isinstance(change, ReplaceSession):
            yield Sql("DELETE FROM history WHERE thread_id = ?", (tid,))
            rows = [
                (tid, f, n, i, codec.dumps(e), codec.dumps(s))
                for f, flow in enumerate(change.document.get("flows", []))
                for n, space in enumerate(flow.get("memory", []))
                for i, (e, s) in enumerate(
                    zip(space["history"], change.sidecars[f][n], strict=True)
                )
            ]
            yield Sql(insert, rows, many=True)
        elif isinstance(change, ReplaceHistory):
            yield Sql(
                "DELETE FROM history WHERE thread_id = ? AND flow = ? AND ns = ?",
                (tid, change.flow, change.ns),
            )
            yield from _insert_entries(
                tid, change.flow, change.ns, 0, change.entries, change.sidecars
            )
        elif isinstance(change, AppendHistory):
            yield from _insert_entries(
                tid, change.flow, change.ns, change.start, change.entries, change.sidecars
            )
        elif isinstance(change, SetHistoryEntry):
            yield from _insert_entries(
                tid, change.flow, change.ns, change.index, [change.entry], [change.sidecar]
            )


def _insert_entries(
    tid: str,
    flow: int,
    ns: int,
    start: int,
    entries: Sequence[dict[str, Any]],
    sidecars: Sequence[dict[str, Any]],
) -> Program:
    yield Sql(
        "INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?, ?, ?)",
        [
            (tid, flow, ns, start + i, codec.dumps(e), codec.dumps(s))
            for i, (e, s) in enumerate(zip(entries, sidecars, strict=True))
        ],
        many=True,
    )


def _delete(op: DeleteCheckpoints) -> Program:
    for table in ("checkpoints", "writes"):
        where, params = _scope(op.thread_id, op.checkpoint_ns, "checkpoint_id", op.checkpoint_ids)
        yield Sql(f"DELETE FROM {table} WHERE {where}", params)
    if op.blobs:
        where, params = _scope(op.thread_id, op.checkpoint_ns, "", None)
        yield Sql(f"DELETE FROM blobs WHERE {where}", params)
    if op.blob_keys:
        yield Sql(
            "DELETE FROM blobs WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? "
            "AND version = ?",
            [(op.thread_id, *key) for key in op.blob_keys],
            many=True,
        )


class SqliteStore:
    """Synchronous SQLite store over one ``sqlite3`` connection (WAL mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def connect(cls, path: str) -> SqliteStore:
        """Open ``path`` (or ``":memory:"``) in autocommit mode; transactions are explicit."""
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return cls(conn)

    def setup(self) -> None:
        """Create the tables; idempotent."""
        self.conn.executescript(SCHEMA)

    def execute(self, request: Request) -> Any:
        """Run the request's program on the connection."""
        return drive(program(request), self._run)

    def _run(self, stmt: Sql) -> Rows:
        if stmt.many:
            return self.conn.executemany(stmt.text, stmt.params).fetchall()
        return self.conn.execute(stmt.text, stmt.params).fetchall()


class AsyncSqliteStore:
    """Asynchronous SQLite store over one ``aiosqlite`` connection (WAL mode)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, path: str) -> AsyncSqliteStore:
        """Open ``path`` (or ``":memory:"``) in autocommit mode; transactions are explicit."""
        conn = await aiosqlite.connect(path, isolation_level=None)
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return cls(conn)

    async def asetup(self) -> None:
        """Create the tables; idempotent."""
        await self.conn.executescript(SCHEMA)

    async def aexecute(self, request: Request) -> Any:
        """Run the request's program on the connection."""
        return await adrive(program(request), self._run)

    async def _run(self, stmt: Sql) -> Rows:
        if stmt.many:
            cursor = await self.conn.executemany(stmt.text, stmt.params)
        else:
            cursor = await self.conn.execute(stmt.text, stmt.params)
        return [tuple(row) for row in await cursor.fetchall()]
