"""Migration throughput and memory: sessions per second and peak memory, by store pair.

Builds SQLite source files of N sessions (80% LangGraph chats of three turns with their
checkpoint logs, 20% Picoflow-written documents without one), starts SecantusDB (a MongoDB
wire-protocol server) in its own process through ``secantus.SecantusDBServer``, and runs
``langgraph_picoflow.migrate.migrate`` -- the code path of ``langgraph-picoflow migrate``,
journal included -- in a fresh child process per run, so that its peak RSS
(``resource.getrusage``) is the migration's alone. Each run is checked afterwards: the
target lists every session.

Usage: ``python benchmarks/migrate.py [--sizes 1000,10000] [--targets mongodb,sqlite]``.
Writes the table to ``benchmarks/results/migrate.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc

RESULTS = Path(__file__).parent / "results"


def _reply(state: MessagesState) -> dict[str, Any]:
    usage = {"input_tokens": 40, "output_tokens": 12, "total_tokens": 52}
    text = f"Here is what I found about {state['messages'][-1].content}."
    return {"messages": [AIMessage(text, usage_metadata=usage)]}  # type: ignore[arg-type]


def _chat(saver: PicoflowSaver) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def _picoflow_document(session_id: str, index: int) -> dict[str, Any]:
    now = datetime(2025, 3, 1, tzinfo=timezone.utc) + timedelta(minutes=index)
    step = pdoc.new_step("HelpStep", active=True, model_name="gemini-2.5-flash")
    doc = pdoc.new_session(session_id, now=now, flow_name="SupportFlow", steps=[step])
    history = [
        pdoc.new_message(
            "system", "You are a helpful agent.", f"HelpStep|{pdoc.iso_ms(now)}|1000000001"
        )
    ]
    for turn in range(3):
        stamp = pdoc.iso_ms(now + timedelta(seconds=turn + 1))
        history.append(
            pdoc.new_message("human", f"question {turn}", f"HelpStep|{stamp}|1000000002")
        )
        history.append(pdoc.new_message("ai", f"answer {turn}", f"HelpStep|{stamp}|1000000003"))
    doc["flows"][0]["memory"] = [{"nameSpace": "HelpStep", "history": history}]
    return doc


def build_source(path: Path, sessions: int) -> None:
    """``sessions`` sessions in a SQLite file: copies of a logged chat, and documents."""
    with PicoflowSaver.from_conn_string(f"sqlite:///{path}") as saver:
        graph = _chat(saver)
        template = pdoc.new_session_id()
        for turn in range(3):
            config = {"configurable": {"thread_id": template}}
            graph.invoke({"messages": [HumanMessage(f"topic {turn}")]}, config)
        for i in range(sessions - 1):
            if i % 5 == 4:
                saver.import_session(_picoflow_document(pdoc.new_session_id(), i))
            else:
                saver.copy_thread(template, pdoc.new_session_id())


def _serve(storage: str, port: Any) -> None:
    """Child process: SecantusDB until killed."""
    from secantus import SecantusDBServer

    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=storage)
    server.start()
    port.put(server.port)
    while True:
        time.sleep(3600)


@contextmanager
def secantus(storage: Path) -> Iterator[str]:
    """A SecantusDB server in its own process; yields its URI."""
    ctx = multiprocessing.get_context("spawn")
    port = ctx.Queue()
    process = ctx.Process(target=_serve, args=(str(storage), port), daemon=True)
    process.start()
    try:
        yield f"mongodb://127.0.0.1:{port.get(timeout=120)}"
    finally:
        process.kill()
        process.join()


class _Clock:
    """Counts migrated sessions; stops the run (as Ctrl-C would) once the budget is spent."""

    def __init__(self, budget: float) -> None:
        self.start = time.perf_counter()
        self.budget = budget
        self.marks: list[float] = []

    def __call__(self, outcome: Any) -> None:
        self.marks.append(time.perf_counter() - self.start)
        if self.marks[-1] > self.budget:
            raise KeyboardInterrupt


def _rate(marks: list[float], part: slice) -> float:
    """Sessions per second over a slice of the run (by session count)."""
    span = marks[part]
    if len(span) < 2:
        return 0.0
    return (len(span) - 1) / max(span[-1] - span[0], 1e-9)


def run_one(source: str, target: str, journal: str, budget: str) -> dict[str, Any]:
    """Child process: one migration (stopped after ``budget`` seconds), measured."""
    from langgraph_picoflow.migrate import Bookkeeping, Listener, migrate

    clock = _Clock(float(budget))
    failures, complete = 0, True
    try:
        result = migrate(
            source, target, files=Bookkeeping(Path(journal)), listener=Listener(on_outcome=clock)
        )
        failures = len(result.report.failures)
    except KeyboardInterrupt:
        complete = False
    marks = clock.marks
    tenth = max(len(marks) // 10, 2)
    return {
        "migrated": len(marks),
        "complete": complete,
        "failures": failures,
        "seconds": marks[-1] if marks else 0.0,
        "rate_first_10pct": _rate(marks, slice(0, tenth)),
        "rate_last_10pct": _rate(marks, slice(-tenth, None)),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(source: Path, target: str, journal: Path, budget: float) -> dict[str, Any]:
    """Run :func:`run_one` in a fresh interpreter and return what it measured."""
    command = [sys.executable, __file__, "_run", f"sqlite:///{source}", target, str(journal)]
    out = subprocess.run([*command, str(budget)], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--targets", default="sqlite,mongodb")
    parser.add_argument(
        "--budget", type=float, default=1200, help="Seconds per run before it is stopped."
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with secantus(work / "secantus") as uri:
            for n in (int(s) for s in args.sizes.split(",")):
                source = work / f"source-{n}.db"
                build_source(source, n)
                for kind in args.targets.split(","):
                    target = (
                        f"{uri}/bench{n}" if kind == "mongodb" else f"sqlite:///{work / f'{n}.db'}"
                    )
                    got = measure(source, target, work / f"{kind}-{n}.journal", args.budget)
                    assert got["failures"] == 0, got
                    rows.append({"source": "sqlite", "target": kind, "sessions": n, **got})
                    print(_row(rows[-1]), flush=True)
    _write(rows, args.budget)


def _row(r: dict[str, Any]) -> str:
    rate = r["migrated"] / max(r["seconds"], 1e-9)
    done = f"{r['migrated']:,}" if r["complete"] else f"{r['migrated']:,} (stopped)"
    return (
        f"| sqlite | {r['target']} | {r['sessions']:,} | {done} | {r['seconds']:.1f} "
        f"| {rate:,.0f} | {r['rate_first_10pct']:,.0f} | {r['rate_last_10pct']:,.0f} "
        f"| {r['max_rss_mib']:.0f} |"
    )


def _write(rows: list[dict[str, Any]], budget: float) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "migrate.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Migration: sessions per second and peak memory",
        "",
        "Command: `python benchmarks/migrate.py` (SecantusDB in its own process; each",
        "migration in a fresh interpreter through `langgraph_picoflow.migrate.migrate`, journal",
        "on; 80% LangGraph chats of 3 turns with their checkpoint logs, 20% Picoflow-written",
        f"documents). A run still going after {budget:,.0f} s is stopped as Ctrl-C would stop it.",
        "",
        "| from | to | sessions | migrated | seconds | sessions/s | first 10% /s | last 10% /s "
        "| peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(r) for r in rows),
        "",
    ]
    (RESULTS / "migrate.md").write_text("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        print(json.dumps(run_one(*sys.argv[2:6])))
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        main()
