"""A plain LangChain agent (``create_agent``) whose checkpoints are Picoflow sessions.

No Flow API here: any LangGraph graph works with ``PicoflowSaver``. Its ``messages``
become the ``default`` namespace of a Picoflow document, and each node the step that
speaks::

    python examples/agent.py               # scripted model, offline
    python examples/agent.py --gemini      # live, with GOOGLE_API_KEY
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import _support
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from langgraph_picoflow import PicoflowSaver
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.flow import Script, ScriptedChatModel, gemini, reply

QUESTIONS = ("What's the weather in Paris?", "And should I take an umbrella?")


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return f"{city}: light rain, 14°C"


def scripted() -> BaseChatModel:
    """A model that answers the two questions as a real one would (tool call, then text)."""
    script = Script(
        [
            reply(
                "",
                tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
                usage=(52, 14, 66),
            ),
            reply("It is 14°C with light rain in Paris.", usage=(80, 12, 92)),
            reply("Yes, take an umbrella: light rain is expected.", usage=(101, 11, 112)),
        ]
    )
    return ScriptedChatModel(script=script, model="scripted")


def run(conn: str = ":memory:", *, live: bool = False, verbose: bool = True) -> dict[str, Any]:
    """Ask the questions in one session; return its Picoflow document."""
    model = gemini(_support.DEFAULT_GEMINI)({}) if live else scripted()
    session_id = pdoc.new_session_id()
    config: RunnableConfig = {"configurable": {"thread_id": session_id}}
    with PicoflowSaver.from_conn_string(conn) as saver:
        agent = create_agent(model, tools=[get_weather], checkpointer=saver)
        for question in QUESTIONS:
            result = agent.invoke({"messages": [HumanMessage(question)]}, config)
            if verbose:
                _support.echo(question, result["messages"][-1].text)
        document = saver.get_session(session_id)
    assert document is not None
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent and print its session document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=":memory:", help="store URL (default: in memory)")
    parser.add_argument("--gemini", action="store_true", help="use Gemini (GOOGLE_API_KEY)")
    args = parser.parse_args(list(argv or []))
    document = run(args.db, live=_support.wants_gemini(args.gemini))
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
