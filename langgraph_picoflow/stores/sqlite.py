"""The embedded store: SQLite through ``sqlite3`` (sync) and ``aiosqlite`` (async).

Layout: ``sessions`` holds each Picoflow document's skeleton (every ``history`` left
empty) and its revision; ``history`` holds one row per message entry with its sidecar, so
appending messages inserts rows instead of rewriting the document. The checkpoint log is
``checkpoints``, ``writes`` and ``blobs``. The SQL for a request is one program shared by
both drivers: it yields statements and receives their rows. Opening a connection and
creating the schema are programs too, so both drivers share their locking and retries.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiosqlite

from langgraph_picoflow import codec
from langgraph_picoflow.drive import adrive, drive
from langgraph_picoflow.errors import ConflictError, StoreError
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

# SCHEMA one statement at a time, so setup can run them inside its own transaction.
_SCHEMA_STATEMENTS = tuple(s.strip() for s in SCHEMA.split(";") if s.strip())

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another connection's lock before raising SQLITE_BUSY."""

_BUSY_TIMEOUT = f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"
_WAL = "PRAGMA journal_mode=WAL"
_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"
PRAGMAS = (_BUSY_TIMEOUT, _WAL, _SYNCHRONOUS)
"""Each connection's settings, busy timeout first. Enough for a lone opener; the stores
run them through :func:`open_program`, which also survives openers racing on one file."""

# Switching a file to WAL takes an exclusive lock, and SQLite may answer SQLITE_BUSY at
# once instead of calling the busy handler (it does not wait where waiting could
# deadlock, e.g. two connections each holding a shared lock and both wanting the
# exclusive one, as several openers on a new file do). So the switch is retried, a
# bounded number of times with a growing, jittered pause (jitter so that racing openers
# do not collide again in step); the last attempt's error is raised as is.
WAL_ATTEMPTS = 12
WAL_BACKOFF_S = 0.01
WAL_BACKOFF_MAX_S = 0.5

_SQLITE_BUSY = 5  # the primary result code; extended codes (SQLITE_BUSY_*) keep it in the low byte


@dataclass(frozen=True)
class Sql:
    """One statement; ``many`` runs it once per parameter row."""

    text: str
    params: Sequence[Any] = ()
    many: bool = False


@dataclass(frozen=True)
class Pause:
    """Sleep before the next statement (``time.sleep`` or ``asyncio.sleep``); answers ``[]``."""

    seconds: float


Rows: TypeAlias = list[tuple[Any, ...]]
Program: TypeAlias = Generator[Sql, Rows, Any]
Step: TypeAlias = Sql | Pause
Setup: TypeAlias = Generator[Step, Rows, Any]

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


def _is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLITE_BUSY (another connection holds the lock)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return bool(code & 0xFF == _SQLITE_BUSY)
    return str(exc).startswith("database is locked")


def open_program() -> Setup:
    """Settings for a new connection: busy timeout first, then WAL (retried), synchronous."""
    yield Sql(_BUSY_TIMEOUT)
    for attempt in range(WAL_ATTEMPTS):
        try:
            # WAL is a property of the file: once one opener has switched it, the others
            # only read the mode (a shared lock, which waits in the busy handler).
            rows = yield Sql("PRAGMA journal_mode")
            if rows[0][0] != "wal":
                yield Sql(_WAL)  # ":memory:" stays "memory"; nothing to check
            break
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
        delay = min(WAL_BACKOFF_S * 2**attempt, WAL_BACKOFF_MAX_S)
        yield Pause(delay * random.uniform(0.5, 1.0))
    yield Sql(_SYNCHRONOUS)


def setup_program() -> Program:
    """Create the tables and indexes in one write transaction; idempotent.

    ``BEGIN IMMEDIATE`` takes the write lock first (waiting in the busy handler), so
    racing creators run one after another; statement by statement in autocommit, a
    connection could read the schema, lose the write lock to another, and fail.
    """
    return _transaction(_schema())


def _schema() -> Program:
    for statement in _SCHEMA_STATEMENTS:
        yield Sql(statement)


def _transaction(body: Program) -> Program:
    """``body`` in one write transaction, rolled back if it raises."""
    yield Sql("BEGIN IMMEDIATE")
    try:
        result = yield from body
    except BaseException:
        yield Sql("ROLLBACK")
        raise
    yield Sql("COMMIT")
    return result


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
    return _transaction(_ops(request))


def _ops(request: Write) -> Program:
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


def cannot_open(path: str, exc: sqlite3.Error) -> StoreError:
    """The typed error for a database file SQLite cannot open, naming the path."""
    return StoreError(f"cannot open the SQLite database {path!r}: {exc}")


class SqliteStore:
    """Synchronous SQLite store over one ``sqlite3`` connection (WAL mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def connect(cls, path: str) -> SqliteStore:
        """Open ``path`` (or ``":memory:"``) in autocommit mode; transactions are explicit."""
        # timeout= installs the busy handler as the file opens, before any statement.
        try:
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise cannot_open(path, exc) from exc
        store = cls(conn)
        try:
            drive(open_program(), store._run)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise cannot_open(path, exc) from exc
            raise
        return store

    def setup(self) -> None:
        """Create the tables; idempotent."""
        drive(setup_program(), self._run)

    def execute(self, request: Request) -> Any:
        """Run the request's program on the connection."""
        return drive(program(request), self._run)

    def _run(self, stmt: Step) -> Rows:
        if isinstance(stmt, Pause):
            time.sleep(stmt.seconds)
            return []
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
        # timeout= installs the busy handler as the file opens, before any statement.
        try:
            conn = await aiosqlite.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise cannot_open(path, exc) from exc
        store = cls(conn)
        try:
            await adrive(open_program(), store._run)
        except BaseException as exc:
            # Closing also ends aiosqlite's worker thread, which would otherwise keep
            # the interpreter from exiting.
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise cannot_open(path, exc) from exc
            raise
        return store

    async def asetup(self) -> None:
        """Create the tables; idempotent."""
        await adrive(setup_program(), self._run)

    async def aexecute(self, request: Request) -> Any:
        """Run the request's program on the connection."""
        return await adrive(program(request), self._run)

    async def _run(self, stmt: Step) -> Rows:
        if isinstance(stmt, Pause):
            await asyncio.sleep(stmt.seconds)
            return []
        if stmt.many:
            cursor = await self.conn.executemany(stmt.text, stmt.params)
        else:
            cursor = await self.conn.execute(stmt.text, stmt.params)
        return [tuple(row) for row in await cursor.fetchall()]
