"""What the flow examples share: models (scripted or Gemini), running a conversation, CLI.

Each example module defines ``MODEL_NAMES``, ``REPLAY`` (its recording in ``replays/``)
and ``make_flow(models)``; :func:`run` plays the recorded conversation offline (the
scripted model answers exactly as the recorded model did) or live with Gemini.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow import Flow, ModelLike, Script, ScriptedChatModel, gemini
from langgraph_picoflow.flow.replay import Replay

EXAMPLES = Path(__file__).resolve().parent
#: The Gemini model live runs use for every registry name (override with GEMINI_MODEL).
DEFAULT_GEMINI = "gemini-2.5-flash"


def replay(name: str) -> Replay:
    """The recording ``replays/<name>.json``."""
    return Replay.load(EXAMPLES / "replays" / f"{name}.json")


def wants_gemini(flag: bool = False) -> bool:
    """Live mode: ``--gemini``, or ``PICOFLOW_MODEL=gemini`` in the environment."""
    return flag or os.environ.get("PICOFLOW_MODEL", "").lower() == "gemini"


def models(names: Iterable[str], script: Script, live: bool) -> dict[str, ModelLike]:
    """The registry of an example: scripted models sharing ``script``, or Gemini.

    Live, every registry name (``gpt-4o`` in the medical sample...) is served by the same
    Gemini model, so the flow and its document keep the sample's model names.
    """
    if live:
        name = os.environ.get("GEMINI_MODEL", DEFAULT_GEMINI)
        return {n: gemini(name, max_retries=3) for n in names}
    return {n: ScriptedChatModel(script=script, model=n) for n in names}


def run(
    make_flow: Callable[[Mapping[str, ModelLike]], Flow],
    model_names: Sequence[str],
    recording: str,
    *,
    conn: str = ":memory:",
    live: bool = False,
    session_id: str | None = None,
    turns: Iterable[int] | None = None,
    echo: Callable[[str, str | None], None] | None = None,
    store_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Play the recorded conversation (or some of its turns); return the session document.

    ``store_options`` go to ``from_conn_string`` (e.g. ``db_name`` for MongoDB).
    """
    script = Script()
    record = replay(recording)
    flow = make_flow(models(model_names, script, live))
    session = session_id or pdoc.new_session_id()
    with PicoflowSaver.from_conn_string(conn, **dict(store_options or {})) as saver:
        graph = flow.compile(checkpointer=saver)
        if live:
            config: RunnableConfig = {"configurable": {"thread_id": session}}
            for index in turns if turns is not None else range(len(record.turns)):
                text = record.turns[index].input
                out = graph.invoke({"message": text, "config": record.config}, config)
                if echo is not None:
                    echo(text, out.get("reply"))
        else:
            record.play(graph, script, session_id=session, turns=turns, on_reply=echo)
        document = saver.get_session(session)
    assert document is not None
    return document


def echo(user: str, bot: str | None) -> None:
    """Print one exchange."""
    print(f"user> {user}")
    print(f"bot > {bot}\n")


def main(
    description: str,
    make_flow: Callable[[Mapping[str, ModelLike]], Flow],
    model_names: Sequence[str],
    recording: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line every flow example shares (``argv``: its arguments; none by default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", default=":memory:", help="store URL (default: in memory)")
    parser.add_argument("--gemini", action="store_true", help="use Gemini (GOOGLE_API_KEY)")
    parser.add_argument("--session", help="session id (default: a new one)")
    parser.add_argument("--document", action="store_true", help="print the whole document")
    args = parser.parse_args(list(argv or []))
    live = wants_gemini(args.gemini)
    if live and not os.environ.get("GOOGLE_API_KEY"):
        parser.error("--gemini needs GOOGLE_API_KEY")
    document = run(
        make_flow,
        model_names,
        recording,
        conn=args.db,
        live=live,
        session_id=args.session,
        echo=echo,
    )
    flow = document["flows"][0]
    print(
        f"session {document['id']}: runStatus={document['runStatus']} tokens={document['tokens']}"
    )
    print(
        "namespaces:", ", ".join(f"{m['nameSpace']}({len(m['history'])})" for m in flow["memory"])
    )
    if "sequence" in flow:
        print("sequence:", " -> ".join(flow["sequence"]))
    if args.document:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0
