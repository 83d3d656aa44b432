"""A flow conversation stopped half way resumes, by session id, in another process.

The medical sample's conversation runs its first half here and its second half in a
subprocess (``examples/resume.py continue``) that shares nothing but the store; the final
document must still equal the sample, so the second process continued exactly where the
first stopped (active step, memory, states, sequence, tokens).

Parametrized over the store registry (``tests/stores.py`` ``SAVERS``). A store takes part
when a second process can open it by URL and options: SQLite, MongoDB and Cosmos (their
test servers listen on TCP); the in-memory store cannot. ``tests.stores.CONN_STRINGS``
(``{kind: (request, tmp_path) -> (url, options)}``) may add kinds.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow.replay import differences
from tests import stores
from tests.samples import REPO_ROOT, requires_samples, sample
from tests.test_flow_samples import example

#: ``(url, from_conn_string options)`` of a store another process can open.
Store = tuple[str, dict[str, Any]]


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return f"sqlite:///{tmp_path / 'resume.db'}", {}


def _mongodb(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from tests.servers.mongo import unique_db_name

    uri: str = request.getfixturevalue("mongo_uri")
    client = request.getfixturevalue("mongo_client")
    name = unique_db_name("flow_resume")
    request.addfinalizer(lambda: client.drop_database(name))
    return uri, {"db_name": name}


def _cosmos(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from tests.servers.mongo import unique_db_name

    endpoint = request.getfixturevalue("cosmos_endpoint")
    options: dict[str, Any] = dict(request.getfixturevalue("cosmos_client_kwargs"))
    client = request.getfixturevalue("cosmos_client")
    name = unique_db_name("flow_resume")

    def drop() -> None:
        with contextlib.suppress(Exception):  # never created, or already gone
            client.delete_database(name)

    request.addfinalizer(drop)
    return f"AccountEndpoint={endpoint.url};AccountKey={endpoint.key};", {
        "database": name,
        **options,
    }


#: Stores by ``SAVERS`` kind; ``tests.stores.CONN_STRINGS`` may add or override kinds.
CONN_STRINGS: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "sqlite": _sqlite,
    "mongodb": _mongodb,
    "cosmos": _cosmos,
    **getattr(stores, "CONN_STRINGS", {}),
}
MEDICAL_SESSION = "69c043c3bbbd4f8f919333c2"


def resume(*args: str, cwd: Path) -> dict[str, Any]:
    """Run ``examples/resume.py`` in a new interpreter; return its summary line."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "resume.py"), *args, "--quiet"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


@requires_samples
@pytest.mark.parametrize("kind", sorted(stores.SAVERS))
def test_resume_in_a_new_process(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind not in CONN_STRINGS:
        pytest.skip(f"{kind}: no URL another process can open (add it to CONN_STRINGS)")
    url, options = CONN_STRINGS[kind](request, tmp_path)
    support, medical = example("_support"), example("medical")

    # First half, in this process.
    first = support.run(
        medical.make_flow,
        medical.MODEL_NAMES,
        medical.REPLAY,
        conn=url,
        session_id=MEDICAL_SESSION,
        turns=range(2),
        store_options=options,
    )
    assert first["runStatus"] == "running"
    assert [s["name"] for s in first["flows"][0]["steps"] if s["isActive"]] == ["BookingStep"]

    # Second half, in a new process that knows only the store URL and the session id.
    flags = [f"--db-option={key}={json.dumps(value)}" for key, value in options.items()]
    summary = resume("continue", "--db", url, "--session", MEDICAL_SESSION, *flags, cwd=tmp_path)
    assert summary == {
        "session": MEDICAL_SESSION,
        "turns": "4 of 4",
        "active": "EndStep",
        "runStatus": "completed",
    }

    with PicoflowSaver.from_conn_string(url, **options) as saver:
        document = saver.get_session(MEDICAL_SESSION)
    want = pdoc.load(sample(MEDICAL_SESSION).read_text(encoding="utf-8"))
    assert differences(pdoc.load(json.dumps(document)), want) == []


def test_start_and_continue_both_in_new_processes(tmp_path: Path) -> None:
    """The example's own two commands, each in its own process."""
    url = f"sqlite:///{tmp_path / 'both.db'}"
    started = resume("start", "--db", url, "--flow", "tutorial", cwd=tmp_path)
    assert started["turns"] == "1 of 3" and started["active"] == "HelloStep"
    finished = resume(
        "continue", "--db", url, "--flow", "tutorial", "--session", started["session"], cwd=tmp_path
    )
    assert finished == {**started, "turns": "3 of 3", "active": "EndStep", "runStatus": "completed"}


@requires_samples
def test_a_session_written_elsewhere_continues_in_a_flow_graph(tmp_path: Path) -> None:
    """A document with no LangGraph log (as Picoflow writes it) is adopted and continued."""
    support, medical = example("_support"), example("medical")
    record = support.replay(medical.REPLAY)
    half = support.run(
        medical.make_flow,
        medical.MODEL_NAMES,
        medical.REPLAY,
        session_id=MEDICAL_SESSION,
        turns=range(2),
    )
    script = support.Script()
    flow = medical.make_flow(support.models(medical.MODEL_NAMES, script, False))
    with PicoflowSaver.from_conn_string(f"sqlite:///{tmp_path / 'adopted.db'}") as saver:
        saver.import_session(half)  # only the document: no checkpoint log
        graph = flow.compile(checkpointer=saver)
        record.play(graph, script, session_id=MEDICAL_SESSION, turns=range(2, 4))
        document = saver.get_session(MEDICAL_SESSION)
    want = pdoc.load(sample(MEDICAL_SESSION).read_text(encoding="utf-8"))
    assert differences(pdoc.load(json.dumps(document)), want) == []
