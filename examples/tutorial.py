"""Lesson 3 of the Picoflow tutorial: ask the user's name, refuse "John Doe", then end.

Run offline (the recorded Gemini replies are replayed by a scripted model)::

    python examples/tutorial.py            # in memory
    python examples/tutorial.py --db sqlite:///sessions.db --document
    python examples/tutorial.py --gemini   # live, with GOOGLE_API_KEY

The session document it writes has the layout of the tutorial's reference document (A0:
steps with ``modelName`` and ``temperature``, no ``sequence``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import _support
from pydantic import BaseModel, Field

from langgraph_picoflow.flow import EndStep, Flow, ModelLike, Step, Transition, go, stay, tool

MODEL_NAMES = ("gemini-2.0-flash", "gemini-2.5-flash")
REPLAY = "tutorial"


class CaptureName(BaseModel):
    """Arguments of ``capture_name``."""

    name: str = Field(description="the user's full name")


class HelloStep(Step):
    """Greets the user and captures their name."""

    prompt = (
        "You are a friendly assistant. Greet the user and ask for their name. "
        "When the user tells you their name, call the tool `capture_name` with it."
    )

    @tool(schema=CaptureName)
    def capture_name(self, call: dict[str, Any]) -> Transition:
        """Capture the user's name."""
        name = call["args"]["name"]
        if name == "John Doe":
            # The tutorial's runtime recorded refused input as an error result (layout A0).
            return stay("Cannot accept John Doe, please choose a different name.", status="error")
        self.save_state({"name": name})
        return go(EndStep)


class TutorialFlow(Flow):
    """``HelloStep`` then the end step, sharing the ``default`` namespace."""

    def define_steps(self) -> list[Step]:
        return [
            HelloStep(active=True).use_model("gemini-2.0-flash").use_memory("default"),
            EndStep(prompt="Tell user the chat has ended. Do you engage in further conversation")
            .use_model("gemini-2.5-flash")
            .use_memory("default"),
        ]


def make_flow(models: Mapping[str, ModelLike]) -> TutorialFlow:
    """The tutorial flow with a model registry (scripted or Gemini)."""
    return TutorialFlow(models=models, layout="A0", expire_after=50000)


def run(**options: Any) -> dict[str, Any]:
    """Play the recorded conversation; return its session document (see ``_support.run``).

    Options: ``conn`` (store URL), ``live`` (Gemini), ``session_id``, ``turns``, ``echo``.
    """
    return _support.run(make_flow, MODEL_NAMES, REPLAY, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tutorial conversation and print it with a summary of its document."""
    return _support.main(__doc__.splitlines()[0], make_flow, MODEL_NAMES, REPLAY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
