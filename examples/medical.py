"""Medical booking: capture the symptoms, book a doctor and a time slot, then end.

Three steps with their own namespaces (``SymptomsStep``, ``BookingStep``, and the end step
in ``end``). Booking hands its confirmation to the end step as tool feedback, so that tool
result carries the *destination* step's id prefix (``EndStep|...``), as in Picoflow::

    python examples/medical.py             # offline replay of the recorded session
    python examples/medical.py --gemini    # live, with GOOGLE_API_KEY
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import _support
from pydantic import BaseModel, Field

from langgraph_picoflow.flow import EndStep, Flow, ModelLike, Step, Transition, go, js_json, tool

MODEL_NAMES = ("gpt-4o",)
REPLAY = "medical"

DOCTORS = [
    {
        "name": "Dr. Smith",
        "specialty": "General Practice",
        "availableTimes": ["10:00 AM", "2:00 PM"],
    },
    {"name": "Dr. Jones", "specialty": "Specialist", "availableTimes": ["11:00 AM", "3:00 PM"]},
]


class Symptoms(BaseModel):
    """Arguments of ``capture_symptoms``."""

    symptoms: str = Field(description="the symptoms or reason for the visit")


class Booking(BaseModel):
    """Arguments of ``book_appointment``."""

    doctorName: str = Field(description="the chosen doctor")
    timeSlot: str = Field(description="the chosen time slot")


class SymptomsStep(Step):
    """Asks for the reason of the visit."""

    prompt = (
        "You are a helpful medical receptionist. Ask the user for their symptoms and reason "
        "for visit. Once you have a clear reason, use the `capture_symptoms` tool."
    )

    @tool(schema=Symptoms)
    def capture_symptoms(self, call: dict[str, Any]) -> Transition:
        """Record the user's symptoms."""
        self.save_state({"symptoms": call["args"]["symptoms"]})
        return go(BookingStep)


class BookingStep(Step):
    """Offers the doctors and books one."""

    def on_enter(self) -> None:
        self.save_state({"doctors": DOCTORS})

    def get_prompt(self) -> str:
        # As in the recorded demo, the prompt reads ``symptoms`` from this step's own state,
        # where it is not: the recorded prompt shows an empty value.
        return (
            f"You have the user's symptoms: {self.get_state('symptoms', '')}. Here are the "
            f"available doctors: {js_json(self.get_state('doctors'))}. Help the user "
            "pick a doctor and an available time slot. Once they decide, use the "
            "'book_appointment' tool."
        )

    @tool(schema=Booking)
    def book_appointment(self, call: dict[str, Any]) -> Transition:
        """Book the chosen doctor at the chosen time."""
        doctor, slot = call["args"]["doctorName"], call["args"]["timeSlot"]
        self.save_state({"doctorName": doctor, "timeSlot": slot, "booked": True})
        return go(EndStep).with_tool_feedback(
            f"Successfully booked with {doctor} at {slot}. Thank you!"
        )


class MedicalFlow(Flow):
    """Symptoms, booking, end."""

    def define_steps(self) -> list[Step]:
        return [
            SymptomsStep(active=True).use_model("gpt-4o", {"temperature": 0.5}),
            BookingStep().use_model("gpt-4o"),
            EndStep().use_memory("end"),
        ]


def make_flow(models: Mapping[str, ModelLike]) -> MedicalFlow:
    """The medical flow with a model registry (scripted or Gemini)."""
    return MedicalFlow(models=models, expire_after=50000)


def run(**options: Any) -> dict[str, Any]:
    """Play the recorded conversation; return its session document (see ``_support.run``).

    Options: ``conn`` (store URL), ``live`` (Gemini), ``session_id``, ``turns``, ``echo``.
    """
    return _support.run(make_flow, MODEL_NAMES, REPLAY, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the booking conversation and print it with a summary of its document."""
    return _support.main(__doc__.splitlines()[0], make_flow, MODEL_NAMES, REPLAY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
