"""The command line on stores: sessions, validate --store, migrate, expire, prune."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from typer.testing import CliRunner

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.cli import app
from langgraph_picoflow.stores.protocol import ListThreads, ReadSession
from langgraph_picoflow.stores.sqlite import SqliteStore
from tests.test_migrate_corpus import build_chat, picoflow_document

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A SQLite store with Picoflow documents (A0, B, C) and two LangGraph chats."""
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    rng = random.Random(5)
    ids: dict[str, str] = {}
    with PicoflowSaver.from_conn_string(url) as saver:
        for i, layout in enumerate(("A0", "B", "C")):
            doc = picoflow_document(layout, pdoc.new_session_id(), rng, i)
            ids[layout] = saver.import_session(doc)
        graph = build_chat(saver)
        for name, turns in (("chat", 2), ("chat2", 1)):
            ids[name] = pdoc.new_session_id()
            for turn in range(turns):
                config = {"configurable": {"thread_id": ids[name]}}
                graph.invoke({"messages": [HumanMessage(f"hello {turn}")]}, config)
    yield url, ids


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


def test_list_table_json_and_filters(store: tuple[str, dict[str, str]]) -> None:
    url, ids = store
    table = run("sessions", "list", "--store", url)
    assert table.exit_code == 0, table.output
    assert "5 sessions" in table.stdout and all(i in table.stdout for i in ids.values())
    assert "picoflow" in table.stdout and "loop step" in table.stdout
    lines = [
        json.loads(x) for x in run("sessions", "list", "--store", url, "--json").stdout.splitlines()
    ]
    assert {x["id"] for x in lines} == set(ids.values())
    chat = next(x for x in lines if x["id"] == ids["chat"])
    assert chat["messages"] == 4 and chat["totalTokens"] == 26 and chat["layout"] == "B"

    def listed(*filters: str) -> set[str]:
        out = run("sessions", "list", "--store", url, "--json", *filters)
        assert out.exit_code == 0, out.output
        return {json.loads(x)["id"] for x in out.stdout.splitlines()}

    assert listed("--flow", "LangGraph") == {ids["chat"], ids["chat2"]}
    assert listed("--status", "completed") == {ids["B"]}
    assert listed("--status", "running", "--flow", "SupportFlow") == {ids["A0"], ids["C"]}
    assert listed("--updated-before", "2025-03-01T09:30:00Z") == {ids["A0"]}
    assert listed("--updated-after", "1h") == {ids["chat"], ids["chat2"]}
    assert listed("--meta", "step=4") == {ids["chat"]}
    assert listed("--meta", "source=loop", "--meta", "step=1") == {ids["chat2"]}
    assert len(listed("--limit", "2")) == 2
    bad = run("sessions", "list", "--store", url, "--updated-before", "someday")
    assert bad.exit_code == 2


def test_show_transcript_and_raw_json(store: tuple[str, dict[str, str]]) -> None:
    url, ids = store
    shown = run("sessions", "show", ids["chat"], "--store", url)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "namespace default" in out and "echo hello 1" in out and "10/3/13" in out
    assert "checkpoints" in out and "runStatus" in out
    picoflow = run("sessions", "show", ids["C"], "--store", url).stdout
    assert "namespace HelpStep" in picoflow and "-> lookup" in picoflow
    assert "written by Picoflow" in picoflow and "GreetStep > HelpStep" in picoflow
    raw = run("sessions", "show", ids["B"], "--store", url, "--json")
    with PicoflowSaver.from_conn_string(url) as saver:
        doc = saver.store.execute(ReadSession(ids["B"])).document
    assert raw.stdout.rstrip("\n") == pdoc.dumps(doc)
    assert (
        '"$oid"'
        in run(
            "sessions", "show", ids["B"], "--store", url, "--json", "--spelling", "extended"
        ).stdout
    )
    missing = run("sessions", "show", "nope", "--store", url)
    assert missing.exit_code == 1 and "no session" in missing.stderr


def test_export_files_jsonl_and_import_back(
    store: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, ids = store
    out_dir = tmp_path / "out"
    exported = run("sessions", "export", ids["A0"], ids["chat"], "-o", str(out_dir), "--store", url)
    assert exported.exit_code == 0, exported.output
    with PicoflowSaver.from_conn_string(url) as saver:
        doc = saver.store.execute(ReadSession(ids["A0"])).document
    assert (out_dir / f"{ids['A0']}.json").read_text() == pdoc.dumps(doc)
    lines = run("sessions", "export", "--all", "--spelling", "extended", "--store", url).stdout
    assert len(lines.splitlines()) == 5 and '"$date"' in lines
    missing = run("sessions", "export", "nope", "--store", url)
    assert missing.exit_code == 1 and "nope: no such session" in missing.stderr
    assert run("sessions", "export", "--store", url).exit_code == 2

    other = f"sqlite:///{tmp_path / 'other.db'}"
    jsonl = tmp_path / "all.jsonl"
    jsonl.write_text(lines)
    first = run("sessions", "import", str(jsonl), "--store", other)
    assert first.exit_code == 0, first.output
    assert "import: 5 created" in first.stderr
    again = run("sessions", "import", str(out_dir / f"{ids['A0']}.json"), "--store", other)
    assert "1 unchanged" in again.stderr
    changed = json.loads((out_dir / f"{ids['A0']}.json").read_text())
    changed["runStatus"] = "aborted"
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    refused = run("sessions", "import", str(path), "--store", other)
    assert refused.exit_code == 1 and "use overwrite" in refused.stderr
    replaced = run(
        "sessions", "import", str(path), "--store", other, "--overwrite", "--to-layout", "B"
    )
    assert replaced.exit_code == 0 and "1 replaced" in replaced.stderr
    with PicoflowSaver.from_conn_string(other) as saver:
        stored = saver.store.execute(ReadSession(ids["A0"])).document
        assert pdoc.detect_layout(stored) == "B" and stored["runStatus"] == "aborted"
        assert pdoc.detect_layout(saver.store.execute(ReadSession(ids["C"])).document) == "B"
    from_stdin = run("sessions", "import", "-", "--store", other)
    assert from_stdin.exit_code != 0  # empty stdin is not a document
    stdin_args = ["sessions", "import", "-", "--store", other, "--to-layout", "B"]
    piped = runner.invoke(app, stdin_args, input=path.read_text())
    assert "1 unchanged" in piped.stderr  # the same document, converted the same way


def test_validate_stored_sessions(store: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, ids = store
    ok = run("validate", "--store", url)
    assert ok.exit_code == 0, ok.output
    assert f"{ids['C']}: layout C: ok" in ok.stdout and ok.stdout.count(": ok") == 5
    db = SqliteStore.connect(str(tmp_path / "sessions.db"))
    row = db.conn.execute("SELECT skeleton FROM sessions WHERE thread_id = ?", (ids["B"],))
    broken = json.loads(row.fetchone()[0])
    broken["runStatus"] = "paused"
    db.conn.execute(
        "UPDATE sessions SET skeleton = ? WHERE thread_id = ?", (json.dumps(broken), ids["B"])
    )
    db.conn.close()
    bad = run("validate", "--store", url, ids["B"], "nope")
    assert bad.exit_code == 1
    assert "runStatus: expected one of" in bad.stdout and "nope: no such session" in bad.stdout
    assert run("validate").exit_code == 2


def test_migrate_command(
    store: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: Any
) -> None:
    url, ids = store
    monkeypatch.chdir(tmp_path)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    dry = run("migrate", "--from", url, "--to", target, "--dry-run")
    assert dry.exit_code == 0 and "dry run: migrate: 5 created" in dry.stderr
    first = run("migrate", "--from", url, "--to", target)
    assert first.exit_code == 0, first.output
    assert "migrate: 5 created" in first.stderr and "journal:" in first.stderr
    assert list(tmp_path.glob("picoflow-migrate-*.journal"))
    again = run("migrate", "--from", url, "--to", target)
    assert "migrate: 5 unchanged" in again.stderr
    renamed = f"sqlite:///{tmp_path / 'renamed.db'}"
    id_map = tmp_path / "ids.json"
    result = run("migrate", "--from", url, "--to", renamed, "--new-ids", "--id-map", str(id_map))
    assert result.exit_code == 0 and f"new ids written to {id_map}" in result.stderr
    assert set(json.loads(id_map.read_text())) == set(ids.values())
    moved = run("migrate", "--from", target, "--to", f"sqlite:///{tmp_path / 'm.db'}", "--move")
    assert moved.exit_code == 0 and "5 moved" in moved.stderr
    with PicoflowSaver.from_conn_string(target) as saver:
        assert saver.store.execute(ListThreads()) == []
    assert run("migrate", "--to", target).exit_code == 2
    absent = run("migrate", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", target)
    assert absent.exit_code == 2 and "no store at" in absent.stderr
    assert run("migrate", "--from", url, "--from-langgraph-mongodb", "mongodb://x").exit_code == 2


def test_migrate_reports_failures_and_interruptions(
    store: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: Any
) -> None:
    url, ids = store
    monkeypatch.chdir(tmp_path)
    db = SqliteStore.connect(str(tmp_path / "sessions.db"))
    db.conn.execute("UPDATE sessions SET skeleton = '[' WHERE thread_id = ?", (ids["B"],))
    db.conn.close()
    target = f"sqlite:///{tmp_path / 't.db'}"
    result = run("migrate", "--from", url, "--to", target)
    assert result.exit_code == 1
    assert "4 created" in result.stderr and "1 failed" in result.stderr
    assert ids["B"] in result.stderr and "JSONDecodeError" in result.stderr

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("langgraph_picoflow.cli._migrate.migrate", interrupted)
    stopped = run("migrate", "--from", url, "--to", target)
    assert stopped.exit_code == 130 and "run the same command again" in stopped.stderr


def test_migrate_from_langgraph_mongodb(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> None:
    from langgraph.checkpoint.mongodb import MongoDBSaver
    from pymongo import MongoClient

    client: Any = MongoClient(mongo_uri)
    try:
        graph = build_chat(MongoDBSaver(client, mongo_db_name))
        for turn in range(2):
            graph.invoke(
                {"messages": [HumanMessage(f"hi {turn}")]}, {"configurable": {"thread_id": "u-1"}}
            )
    finally:
        client.close()
    target = f"sqlite:///{tmp_path / 'from-mongo.db'}"
    args = ["migrate", "--from-langgraph-mongodb", mongo_uri, "--db", mongo_db_name, "--to", target]
    result = run(*args, "--journal", str(tmp_path / "j.journal"))
    assert result.exit_code == 0, result.output
    assert "migrate: 1 created" in result.stderr
    shown = run("sessions", "show", "u-1", "--store", target)
    assert "echo hi 1" in shown.stdout


def test_expire_and_prune_commands(store: tuple[str, dict[str, str]]) -> None:
    url, ids = store
    dry = run("expire", "--store", url, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{ids['A0']}: would be deleted" in dry.stderr and "2 deleted" in dry.stderr
    assert run("expire", "--store", url, "--expire-after", "100000000").stderr.count("deleted") == 0
    done = run("expire", "--store", url)
    assert "expire: 2 deleted, 3 kept" in done.stderr  # the C document has no expireAfter
    assert run("prune", "--store", url).exit_code == 2
    pruned_dry = run("prune", "--all", "--store", url, "--dry-run")
    assert f"{ids['chat']}: would be pruned (5 of 6 checkpoints)" in pruned_dry.stderr
    pruned = run("prune", ids["chat"], "--store", url)
    assert pruned.exit_code == 0 and "prune: 1 pruned" in pruned.stderr
    deleted = run("prune", ids["chat2"], "--store", url, "--strategy", "delete")
    assert "1 deleted" in deleted.stderr
    with PicoflowSaver.from_conn_string(url) as saver:
        assert saver.store.execute(ListThreads()) == sorted([ids["C"], ids["chat"]])


def test_default_store_from_the_environment(
    store: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: Any
) -> None:
    url, _ = store
    listed = run("sessions", "list", "--json", env={"PICOFLOW_STORE": url})
    assert len(listed.stdout.splitlines()) == 5
    monkeypatch.chdir(tmp_path / "..")
    missing = run("sessions", "list", env={"PICOFLOW_STORE": ""})
    assert missing.exit_code == 2 and "no store at picoflow.db" in missing.stderr


def test_help_lists_every_command() -> None:
    out = run("--help").stdout
    for name in ("validate", "convert", "sessions", "migrate", "expire", "prune"):
        assert name in out
    assert "list" in run("sessions", "--help").stdout


def test_stored_text_is_shown_verbatim(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    tid = "markup/1"
    with PicoflowSaver.from_conn_string(url) as saver:
        text = "[red]alarm[/red] :thumbs_up:"
        build_chat(saver).invoke(
            {"messages": [HumanMessage(text)]}, {"configurable": {"thread_id": tid}}
        )
    shown = run("sessions", "show", tid, "--store", url).stdout
    assert "[red]alarm[/red] :thumbs_up:" in shown
    listed = run("sessions", "list", "--store", url).stdout
    assert "markup/1" in listed
