"""Hostile checkpoint payloads, serializers and file names, on every store.

* Channel values and messages (NUL bytes, ``$``/``.`` keys, NaN, huge integers, bytes,
  sets, large and nested values) either round-trip exactly or are refused with a typed
  error, and a refused step leaves the session as it was.
* ``LANGGRAPH_STRICT_MSGPACK=true`` keeps deserialization on the allowlist: a blocked
  type is not revived (its constructor never runs), on every store.
* ``EncryptedSerializer`` round-trips, stores only ciphertext, and refuses a tampered
  record.
* SQLite file names: any path the user gives is accepted, as SQLite does (``..``
  included: the caller chose it); NUL bytes and URL schemes we do not know are refused
  with ``StoreError`` naming the string.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage
from langgraph._internal import _serde as lg_serde
from langgraph.checkpoint.serde import _msgpack
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_picoflow import AsyncPicoflowSaver, PicoflowSaver, StoreError
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.records import BlobRecord
from langgraph_picoflow.stores.protocol import HeadRead, ReadBlobs, ReadHead, Request, Store
from tests.faults.errors import is_typed
from tests.faults.figures import Tally, is_long, record
from tests.faults.hostile import fuzz, nested, store_text
from tests.faults.targets import Target, target_fixture
from tests.faults.test_client_kill import session_ids
from tests.faults.verify import Verdict, check_all
from tests.faults.workload import build, config, turn_input
from tests.samples import REPO_ROOT
from tests.test_hostile_documents import SAMPLES
from tests.test_hostile_inputs import witnesses

target = target_fixture()


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN (a stored NaN must come back as NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def run_turn(saver: PicoflowSaver, thread_id: str, text: str, kwargs: Any, extra: Any) -> None:
    """One turn whose human message and ``extra`` channel carry the payload."""
    message = HumanMessage(text, additional_kwargs=kwargs)
    build(saver).invoke({"messages": [message], "extra": extra}, config(thread_id))


def assert_round_trip(
    saver: PicoflowSaver, thread_id: str, text: str, kwargs: Any, extra: Any
) -> None:
    """The stored turn reads back exactly, and the document stays valid."""
    state = build(saver).get_state(config(thread_id))
    human = [m for m in state.values["messages"] if m.type == "human"][-1]
    assert human.content == text
    assert same(human.additional_kwargs, kwargs), (human.additional_kwargs, kwargs)
    assert same(state.values.get("extra"), extra)
    doc = saver.get_session(thread_id)
    assert doc is not None
    pdoc.check(pdoc.load(doc))


# --- fuzzed payloads --------------------------------------------------------------------

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    store_text,
)
payloads = st.recursive(
    st.one_of(_leaves, st.binary(max_size=32)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(store_text, inner, max_size=4),
        st.sets(st.integers(-(2**63), 2**63 - 1), max_size=3),
    ),
    max_leaves=12,
)
#: ``additional_kwargs`` of a message: a JSON-ish object (keys with ``$``, ``.``, NUL...).
message_kwargs = st.dictionaries(
    store_text, st.recursive(_leaves, lambda i: st.lists(i, max_size=3), max_leaves=6), max_size=4
)


def test_hostile_payloads_round_trip_or_are_refused(target: Target, saver_kind: str) -> None:
    acked = witnesses(target)
    tally = Tally("hostile-payloads", saver_kind)
    verdict = Verdict()
    rng = random.Random()
    with target.saver() as saver:

        @fuzz(ci=30, long=800)
        @given(text=store_text, kwargs=message_kwargs, extra=payloads)
        def case(text: str, kwargs: dict[str, Any], extra: Any) -> None:
            tally.cases += 1
            thread_id = session_ids(rng, 1)[0]
            try:
                run_turn(saver, thread_id, text, kwargs, extra)
            except Exception as exc:
                assert is_typed(exc), f"untyped {type(exc).__qualname__}: {exc}"
            else:
                assert_round_trip(saver, thread_id, text, kwargs, extra)
            verdict.extend(check_all(saver, acked))

        case()
    tally.corrupt, tally.lost = len(verdict.corrupt), len(verdict.lost)
    record(tally)
    assert verdict, verdict.summary()


SIZES = [5_000_000, 20_000_000] if is_long() else [5_000_000]


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n // 1_000_000}MB")
def test_large_values_round_trip_or_are_refused(target: Target, size: int) -> None:
    """Beyond a store's item limit (Cosmos 2 MB, MongoDB 16 MB) values are chunked."""
    acked = witnesses(target, 1)
    thread_id = session_ids(random.Random(), 1)[0]
    text, extra = "m" * (size // 2), {"blob": "b" * size}
    with target.saver() as saver:
        try:
            run_turn(saver, thread_id, text, {}, extra)
        except Exception as exc:
            assert is_typed(exc), f"untyped {type(exc).__qualname__}: {exc}"
        else:
            assert_round_trip(saver, thread_id, text, {}, extra)
        verdict = check_all(saver, acked)
    assert verdict, verdict.summary()


def test_deep_but_encodable_values_round_trip(target: Target) -> None:
    thread_id = session_ids(random.Random(), 1)[0]
    extra = nested(200)
    with target.saver() as saver:
        run_turn(saver, thread_id, "deep", {"deep": nested(50)}, extra)
        assert_round_trip(saver, thread_id, "deep", {"deep": nested(50)}, extra)


# --- values nothing below the saver can encode ----------------------------------------


@pytest.mark.parametrize(
    "extra", [nested(3_000), {"key": "lone \ud800"}], ids=["deep", "surrogate"]
)
def test_values_the_serializer_cannot_encode_are_refused_typed(target: Target, extra: Any) -> None:
    acked = witnesses(target, 1)
    thread_id = next(iter(acked))
    with target.saver() as saver:
        try:
            run_turn(saver, thread_id, "unencodable", {}, extra)
        except Exception as exc:
            outcome: BaseException | None = exc
        else:
            outcome = None
        verdict = check_all(saver, acked)  # the refused step left the session as it was
    assert verdict, verdict.summary()
    assert outcome is not None and is_typed(outcome), repr(outcome)


@pytest.mark.parametrize("where", ["content", "thread-id", "imported-document"])
def test_lone_surrogates_are_refused_typed_or_kept(target: Target, where: str) -> None:
    """A lone surrogate (invalid Unicode, no UTF-8 form) is refused typed or stored as is."""
    acked = witnesses(target, 1)
    bad = "a\ud800b"
    with target.saver() as saver:
        try:
            if where == "content":
                thread_id = session_ids(random.Random(), 1)[0]
                run_turn(saver, thread_id, bad, {}, None)
                assert_round_trip(saver, thread_id, bad, {}, None)
            elif where == "thread-id":
                build(saver).invoke(turn_input("hello"), config(bad))
                assert saver.get_session(bad) is not None
            else:
                doc = copy.deepcopy(SAMPLES[0])
                doc["flows"][0]["memory"][0]["history"][-1]["content"] = bad
                session_id = saver.import_session(doc, overwrite=True)
                stored = saver.get_session(session_id)
                assert stored is not None
                assert stored["flows"][0]["memory"][0]["history"][-1]["content"] == bad
        except Exception as exc:
            assert is_typed(exc), f"untyped {type(exc).__qualname__}: {exc}"
        verdict = check_all(saver, acked)
    assert verdict, verdict.summary()


@pytest.mark.parametrize("key", ["$where", "a.b", "$", "..", "\x00"])
def test_keys_with_operator_syntax_round_trip_in_documents(target: Target, key: str) -> None:
    """Keys of an imported document are data: stored and read back exactly (or, for a NUL,
    which no BSON key can hold, refused typed on every store)."""
    doc = copy.deepcopy(SAMPLES[0])
    entry = doc["flows"][0]["memory"][0]["history"][-1]
    entry["additional_kwargs"] = {**entry.get("additional_kwargs", {}), key: {key: 1}}
    with target.saver() as saver:
        try:
            session_id = saver.import_session(doc, overwrite=True)
        except Exception as exc:
            assert is_typed(exc), f"untyped {type(exc).__qualname__}: {exc}"
            return
        stored = saver.get_session(session_id)
    assert stored is not None
    assert stored["flows"][0]["memory"][0]["history"][-1]["additional_kwargs"][key] == {key: 1}


# --- strict msgpack ---------------------------------------------------------------------


@dataclass
class Canary:
    """A type outside the msgpack allowlist whose construction leaves a trace on disk."""

    path: str

    def __post_init__(self) -> None:
        Path(self.path).write_text("revived")


def test_strict_msgpack_does_not_revive_blocked_types(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "canary"
    thread_id = session_ids(random.Random(), 1)[0]
    with target.saver() as saver:
        run_turn(saver, thread_id, "canary", {}, {"pet": Canary(str(trace))})
    trace.unlink()  # written when the canary was made for the input
    # What LANGGRAPH_STRICT_MSGPACK=true does at import time, done here: serializers made
    # from now on are strict, and compile() gives the saver the graph's allowlist.
    monkeypatch.setattr(_msgpack, "STRICT_MSGPACK_ENABLED", True)
    monkeypatch.setattr(lg_serde, "STRICT_MSGPACK_ENABLED", True)
    with target.saver() as opened:
        strict = PicoflowSaver(
            opened.store, serde=JsonPlusSerializer(), session=opened.session_config
        )
        value = build(strict).get_state(config(thread_id)).values["extra"]["pet"]
    assert not isinstance(value, Canary) and not trace.exists()


def test_strict_msgpack_env_var_in_a_fresh_process(target: Target, tmp_path: Path) -> None:
    """The real switch: ``LANGGRAPH_STRICT_MSGPACK=true`` in the environment of a process."""
    if not target.cross_process:
        pytest.skip("the in-memory store lives in one process")
    trace = tmp_path / "canary"
    thread_id = session_ids(random.Random(), 1)[0]
    with target.saver() as saver:
        run_turn(saver, thread_id, "canary", {}, {"pet": Canary(str(trace))})
    trace.unlink()
    reader = (
        "import json, sys\n"
        "from tests.faults.targets import Target\n"
        "from tests.faults.workload import build, config\n"
        "t = Target(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))\n"
        "with t.saver() as s:\n"
        "    pet = build(s).get_state(config(sys.argv[4])).values['extra']['pet']\n"
        "print(type(pet).__name__)\n"
    )
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    args = [target.kind, target.conn_string, json.dumps(target.kwargs), thread_id]
    done = subprocess.run(
        [sys.executable, "-c", reader, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] != "Canary" and not trace.exists()


# --- encryption -------------------------------------------------------------------------


class Tampering:
    """A store that flips one byte of every blob it hands back (a tampered record)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def setup(self) -> None:
        self.store.setup()

    def execute(self, request: Request) -> Any:
        answer = self.store.execute(request)
        if isinstance(request, ReadHead) and isinstance(answer, HeadRead):
            return HeadRead(answer.session, answer.latest, answer.writes, _flip(answer.blobs))
        if isinstance(request, ReadBlobs):
            return _flip(answer)
        return answer


def _flip(blobs: list[BlobRecord]) -> list[BlobRecord]:
    out = []
    for blob in blobs:
        value = bytearray(blob.value)
        if value:
            value[len(value) // 2] ^= 0x01
        out.append(replace(blob, value=bytes(value)))
    return out


def test_encrypted_checkpoints_round_trip_and_refuse_tampering(target: Target) -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"0123456789abcdef")
    thread_id = session_ids(random.Random(), 1)[0]
    secret = {"card": "4111 1111 1111 1111"}
    with target.saver() as opened:
        saver = PicoflowSaver(opened.store, serde=serde, session=opened.session_config)
        run_turn(saver, thread_id, "pay", {}, secret)
        assert_round_trip(saver, thread_id, "pay", {}, secret)
        blobs = opened.store.execute(ReadBlobs(thread_id, None, None))
        assert blobs and all(b.type.endswith("+aes") for b in blobs)
        assert all(b"4111" not in b.value for b in blobs)
        tampered = PicoflowSaver(
            Tampering(opened.store), serde=serde, session=opened.session_config
        )
        with pytest.raises(ValueError, match="MAC check failed"):
            build(tampered).get_state(config(thread_id))
        assert_round_trip(saver, thread_id, "pay", {}, secret)  # the stored record is intact


# --- SQLite file names --------------------------------------------------------------------


def test_sqlite_accepts_any_path_the_caller_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As SQLite does: ``..`` climbs from the working directory, absolute paths are used."""
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    for url, expected in (
        ("sqlite:///../../climbed.db", tmp_path / "climbed.db"),
        (f"sqlite:///{tmp_path / 'absolute.db'}", tmp_path / "absolute.db"),
        ("plain-relative.db", deep / "plain-relative.db"),
    ):
        with PicoflowSaver.from_conn_string(url) as saver:
            run_turn(saver, "t" * 24, "hi", {}, None)
        assert expected.is_file(), url


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x\x00y.db",
        "bad\x00path",
        "postgres://localhost/db",
        "file:///tmp/x.db",
        "http://127.0.0.1/x",
        "sqlite+pysqlite:///x.db",
        "sqlite://x.db",
        "sqlite:///",
    ],
)
def test_sqlite_refuses_nul_and_unknown_schemes_naming_them(url: str) -> None:
    with pytest.raises(StoreError) as refused, PicoflowSaver.from_conn_string(url):
        pass
    shown = str(refused.value)
    assert url.split("://")[0] in shown or repr(url)[1:-1] in shown, shown


def unopenable(tmp_path: Path, where: str) -> Path:
    """A path SQLite cannot open as a database, failing at the file or at its first statement."""
    if where == "missing-directory":
        return tmp_path / "nope" / "x.db"
    if where == "a-directory":
        return tmp_path
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database file at all, " * 100)
    return garbage


WHERE_UNOPENABLE = ["missing-directory", "a-directory", "not-a-database"]


@pytest.mark.parametrize("where", WHERE_UNOPENABLE)
def test_sqlite_path_that_cannot_be_opened_is_a_typed_error(tmp_path: Path, where: str) -> None:
    path = unopenable(tmp_path, where)
    with (
        pytest.raises(StoreError, match=str(path)),
        PicoflowSaver.from_conn_string(f"sqlite:///{path}"),
    ):
        pass


@pytest.mark.parametrize("where", WHERE_UNOPENABLE)
async def test_async_sqlite_open_failure_is_typed_and_leaves_no_thread(
    tmp_path: Path, where: str
) -> None:
    """A failed open closes its connection: aiosqlite's worker thread is not a daemon, and a
    leaked one keeps the interpreter (a test run, a server) from ever exiting."""
    before = {t.ident for t in threading.enumerate()}
    path = unopenable(tmp_path, where)
    with pytest.raises(StoreError, match=str(path)):
        async with AsyncPicoflowSaver.from_conn_string(f"sqlite:///{path}"):
            pass
    left = [t for t in threading.enumerate() if t.ident not in before and not t.daemon]
    for thread in left:  # a stopped worker takes a moment to finish its last item
        thread.join(timeout=5)
    assert [t for t in left if t.is_alive()] == [], left
