"""The main job, offline: a conversation kept as a Picoflow session on the embedded store.

A small tool-calling chat graph (a scripted assistant and a real tool that refuses the
name "John Doe") runs two turns, stops, and a *new process* resumes the same session by
its id and finishes it. Then the transcript and the stored Picoflow document are printed.

Run: ``make demo`` (or ``python examples/demo.py [--db PATH]``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from typing_extensions import TypedDict

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc

SESSION_ID = pdoc.new_session_id()


@tool
def capture_name(name: str) -> str:
    """Record the user's name."""
    if name.strip().lower() == "john doe":
        return "Cannot accept John Doe, please choose a different name."
    return "input validated"


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


def assistant(state: State) -> dict[str, Any]:
    """A scripted model: what a real LLM would answer at each point of this conversation."""
    last = state["messages"][-1]
    usage = {"input_tokens": 40 * len(state["messages"]), "output_tokens": 12, "total_tokens": 0}
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    if isinstance(last, HumanMessage) and last.content == "Hi":
        reply = AIMessage("Hello! What's your name?", usage_metadata=usage)
    elif isinstance(last, HumanMessage):
        call = {
            "name": "capture_name",
            "args": {"name": last.content},
            "id": f"call-{len(state['messages'])}",
        }
        reply = AIMessage("", tool_calls=[call], usage_metadata=usage)
    elif "Cannot accept" in str(last.content):
        reply = AIMessage(
            "Sorry, I can't accept that name. Please give me another.", usage_metadata=usage
        )
    else:
        reply = AIMessage("Thank you, that's all I needed. Goodbye!", usage_metadata=usage)
    return {"messages": [reply]}


def build(saver: PicoflowSaver) -> Any:
    """assistant -> (tools -> assistant)* -> END, checkpointed as a Picoflow session."""
    builder = StateGraph(State)
    builder.add_node("assistant", assistant)
    builder.add_node("tools", ToolNode([capture_name]))
    builder.add_edge(START, "assistant")
    builder.add_conditional_edges("assistant", tools_condition)
    builder.add_edge("tools", "assistant")
    return builder.compile(checkpointer=saver)


def say(graph: Any, session_id: str, text: str) -> None:
    config = {"configurable": {"thread_id": session_id}}
    result = graph.invoke({"messages": [HumanMessage(text)]}, config)
    print(f"  user: {text}\n  bot:  {result['messages'][-1].content}")


def transcript(document: dict[str, Any]) -> None:
    """Namespace, step (the message id's prefix), role and text of every history entry."""
    for flow in document["flows"]:
        for space in flow["memory"]:
            for entry in space["history"]:
                step = str(entry["id"]).split("|")[0]
                text = entry["content"] or json.dumps(entry.get("tool_calls", ""))
                print(f"  {space['nameSpace']:<8} {step:<10} {entry['type']:<6} {text}")


def first_process(db: Path) -> None:
    print(f"== process 1: new session {SESSION_ID} in {db}")
    with PicoflowSaver.from_conn_string(f"sqlite:///{db}") as saver:
        graph = build(saver)
        for text in ("Hi", "John Doe"):
            say(graph, SESSION_ID, text)
    print("== process 1 stops")
    subprocess.run([sys.executable, __file__, "--db", str(db), "--resume", SESSION_ID], check=True)


def second_process(db: Path, session_id: str) -> None:
    print(f"== process 2 (a new process): resuming session {session_id} by its id")
    with PicoflowSaver.from_conn_string(f"sqlite:///{db}") as saver:
        graph = build(saver)
        state = graph.get_state({"configurable": {"thread_id": session_id}})
        print(f"  restored {len(state.values['messages'])} messages")
        say(graph, session_id, "Jane Smith")
        stored = saver.get_session(session_id)
    assert stored is not None
    document = pdoc.load(stored)
    pdoc.check(document)
    print("\n== transcript (namespace, step, role, text)")
    transcript(stored)
    print(f"\n== session {session_id}: runStatus {stored['runStatus']}, tokens {stored['tokens']}")
    print("== stored Picoflow document (valid; Extended JSON, as Picoflow exports it)")
    print(pdoc.dumps(document, "extended"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--resume", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.resume:
        second_process(args.db, args.resume)
    elif args.db:
        first_process(args.db)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            first_process(Path(tmp) / "sessions.db")


if __name__ == "__main__":
    main()
