"""Travel planner: collect a plan, search flights, hotels and activities, offer packages.

Five steps share the ``travelPlan`` namespace. ``PlannerStep``'s ``submit_plan`` handler
runs the three search steps *nested* (``run_step``), each ending with a direct ``{}``
reply, so the sequence reads ``PlannerStep, FlightStep, PlannerStep, HotelStep, ...``; then
``SynthesizerStep`` builds packages and the end step confirms the booking::

    python examples/travel.py              # offline replay of the recorded session
    python examples/travel.py --gemini     # live, with GOOGLE_API_KEY
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import _support
from pydantic import BaseModel, Field

from langgraph_picoflow.flow import (
    EndStep,
    Flow,
    ModelLike,
    Step,
    Transition,
    direct,
    go,
    js_json,
    tool,
)

MODEL_NAMES = ("gpt-5", "gpt-4o")
REPLAY = "travel"
NAMESPACE = "travelPlan"

# The demo's mock search results.
DEPARTURES = [
    {
        "id": "R1",
        "airline": "Air Demo",
        "price": 550,
        "departure_time": "11:00",
        "arrival_time": "15:00",
    },
    {
        "id": "R2",
        "airline": "Pico Airways",
        "price": 400,
        "departure_time": "07:00",
        "arrival_time": "16:00",
    },
    {
        "id": "R3",
        "airline": "Luxury Jets",
        "price": 800,
        "departure_time": "10:00",
        "arrival_time": "17:00",
    },
]
RETURNS = [
    {
        "id": "D1",
        "airline": "Air Demo",
        "price": 450,
        "departure_time": "10:00",
        "arrival_time": "14:00",
    },
    {
        "id": "D2",
        "airline": "Pico Airways",
        "price": 300,
        "departure_time": "06:00",
        "arrival_time": "11:00",
    },
    {
        "id": "D3",
        "airline": "Luxury Jets",
        "price": 900,
        "departure_time": "12:00",
        "arrival_time": "16:00",
    },
]
HOTELS = [
    {
        "id": "H1",
        "name": "Grand Pico Hotel",
        "price_per_night": 150,
        "rating": 4.5,
        "location": "City Center",
    },
    {"id": "H2", "name": "Budget Inn", "price_per_night": 80, "rating": 3, "location": "Suburbs"},
    {
        "id": "H3",
        "name": "Luxury Palace",
        "price_per_night": 400,
        "rating": 5,
        "location": "Beachfront",
    },
]
ACTIVITIES = [
    {
        "id": "A1",
        "name": "City Tour",
        "price": 50,
        "duration": "4 hours",
        "description": "Guided tour of the city.",
    },
    {
        "id": "A2",
        "name": "Museum Visit",
        "price": 25,
        "duration": "2 hours",
        "description": "Visit the national museum.",
    },
    {
        "id": "A3",
        "name": "Adventure Park",
        "price": 100,
        "duration": "Full Day",
        "description": "Theme park access.",
    },
]


class TravelPlan(BaseModel):
    """Arguments of ``submit_plan``."""

    user_intent: Literal["full_plan", "flights_only", "hotels_only", "activities_only"]
    origin: str | None = None
    destination: str
    departure_date: str = Field(description="ISO date-time, e.g. 2026-04-21T00:00:00")
    return_date: str = Field(description="ISO date-time")
    duration_days: int
    adults: int = 1
    travel_class: Literal["ECONOMY", "PREMIUM_ECONOMY", "BUSINESS", "FIRST"] = "ECONOMY"
    budget: float


class FlightSearch(BaseModel):
    """Arguments of ``search_flights``."""

    origin: str
    destination: str
    date: str
    isReturn: bool = Field(description="true for the return flight")


class PlaceSearch(BaseModel):
    """Arguments of ``search_hotels`` and ``search_activities``."""

    location: str


class Flight(BaseModel):
    id: str
    airline: str
    price: float
    departure_time: str
    arrival_time: str


class Hotel(BaseModel):
    id: str
    name: str
    price_per_night: float
    rating: float
    location: str


class Activity(BaseModel):
    id: str
    name: str
    price: float
    duration: str
    description: str


class Package(BaseModel):
    name: str
    flight: Flight | None = None
    hotel: Hotel | None = None
    activities: list[Activity] = []
    total_cost: float
    budget_comment: str


class Packages(BaseModel):
    """Arguments of ``generate_packages``."""

    packages: list[Package]


class Choice(BaseModel):
    """Arguments of ``choose_package``."""

    chosenPackage: Package


class PlannerStep(Step):
    """Collects the trip plan, then runs the searches and hands over to the synthesizer."""

    prompt = (
        "You are a travel planner; today is 2025-05-01. Ask for the user's intent (full plan, "
        "flights, hotels or activities only), origin, destination, dates, number of adults, "
        "travel class and total budget. When you have them, call `submit_plan`."
    )

    @tool(schema=TravelPlan)
    def submit_plan(self, call: dict[str, Any]) -> Transition:
        """Submit the complete travel plan."""
        plan = call["args"]
        self.save_state({"travelPlan": plan})
        intent = plan.get("user_intent", "full_plan")
        if intent in ("full_plan", "flights_only"):
            self.run_step(FlightStep)
        if intent in ("full_plan", "hotels_only"):
            self.run_step(HotelStep)
        if intent in ("full_plan", "activities_only"):
            self.run_step(ActivityStep)
        return go(SynthesizerStep)


class FlightStep(Step):
    """Searches the departure and return flights (run nested by the planner)."""

    def get_prompt(self) -> str:
        plan = self.get_step_state(PlannerStep, "travelPlan", {})
        return (
            f"Search flights for this plan: {js_json(plan)}. Call `search_flights` twice: "
            "once for the departure (isReturn false) and once for the return (isReturn true)."
        )

    @tool(schema=FlightSearch)
    def search_flights(self, call: dict[str, Any]) -> Transition | None:
        """Search flights between two places on a date."""
        key = "returnFlights" if call["args"].get("isReturn") else "departureFlights"
        self.save_state({key: RETURNS if key == "returnFlights" else DEPARTURES})
        if self.get_state("departureFlights") and self.get_state("returnFlights"):
            return direct({})  # both searched: back to the planner, no model call
        return None


class HotelStep(Step):
    """Searches hotels (run nested by the planner)."""

    def get_prompt(self) -> str:
        plan = self.get_step_state(PlannerStep, "travelPlan", {})
        return f"Search hotels at the destination of this plan: {js_json(plan)}."

    @tool(schema=PlaceSearch)
    def search_hotels(self, call: dict[str, Any]) -> Transition:
        """Search hotels in a location."""
        self.save_state({"hotels": HOTELS})
        return direct({})


class ActivityStep(Step):
    """Searches activities (run nested by the planner)."""

    def get_prompt(self) -> str:
        plan = self.get_step_state(PlannerStep, "travelPlan", {})
        return f"Search activities at the destination of this plan: {js_json(plan)}."

    @tool(schema=PlaceSearch)
    def search_activities(self, call: dict[str, Any]) -> Transition:
        """Search activities in a location."""
        self.save_state({"activities": ACTIVITIES})
        return direct({})


class SynthesizerStep(Step):
    """Builds packages from the search results and books the chosen one."""

    def get_prompt(self) -> str:
        flights = self.flow_state[FlightStep.__name__]
        return f"""
    
    You are an expert travel consultant. Create up to 3 compelling travel packages
    for a client based on their plan and available options.

    YOUR TASK:
    1. Check if basic trip is possible within budget
    2. Create packages:
       - If cheapest combo is OVER budget: Create ONE "Budget" package only
       - If budget is reasonable: Create THREE packages (Budget, Balanced, Premium)
    3. Each package may contain the following depending on User Intent listed above:
       - If "flights_only": 2 flights only, list both departure and return flights.
       - If "hotels_only": 1 hotel only.
       - If "activities_only": 1 to 3 activities only.
       - If "full_plan": 2 flights (departure and return), 1 hotel, and 1 to 3 activities.
    4. Calculate total_cost = flight + (hotel * duration_days) + activities
    5. Calculate budget_comment based on difference from total budget
    6. Create creative name for each package
    7. Call 'generate_packages' tool to generate travel packages based on the above information. 
    8. Ask user to choose a package and call 'choose_package' tool with the selected package.
    

    **CLIENT'S PLAN:**
    {js_json(self.get_step_state(PlannerStep, "travelPlan"))}

    **AVAILABLE OPTIONS:**
    - Departure Flights: {js_json(flights.get("departureFlights", []))}
    - Return Flights: {js_json(flights.get("returnFlights", []))}
    - Hotels: {js_json(self.get_step_state(HotelStep, "hotels", []))}
    - Activities: {js_json(self.get_step_state(ActivityStep, "activities", []))}
    """  # noqa: W291, W293 (the prompt's spacing is part of the recorded document)

    @tool(schema=Packages)
    def generate_packages(self, call: dict[str, Any]) -> None:
        """Record the generated travel packages."""
        self.save_state({"packages": call["args"]["packages"]})

    @tool(schema=Choice)
    def choose_package(self, call: dict[str, Any]) -> Transition:
        """Book the package the user chose."""
        # The working fields are reset once a package is chosen; the choice is kept.
        self.save_state(
            {
                "plan": None,
                "flights": [],
                "hotels": [],
                "activities": [],
                "chosenPackage": call["args"]["chosenPackage"],
            }
        )
        return go(EndStep).with_prompt(
            "Thank user for using travel planning service. Tell them it is booked"
        )


class TravelFlow(Flow):
    """Planner, three nested searches, synthesizer, end."""

    def define_steps(self) -> list[Step]:
        return [
            PlannerStep(active=True).use_model("gpt-5").use_memory(NAMESPACE),
            FlightStep().use_model("gpt-5").use_memory(NAMESPACE),
            HotelStep().use_model("gpt-4o").use_memory(NAMESPACE),
            ActivityStep().use_model("gpt-4o").use_memory(NAMESPACE),
            SynthesizerStep().use_model("gpt-5").use_memory(NAMESPACE),
            EndStep().use_model("gpt-4o"),
        ]


def make_flow(models: Mapping[str, ModelLike]) -> TravelFlow:
    """The travel flow with a model registry (scripted or Gemini)."""
    return TravelFlow(models=models, expire_after=50000)


def run(**options: Any) -> dict[str, Any]:
    """Play the recorded conversation; return its session document (see ``_support.run``).

    Options: ``conn`` (store URL), ``live`` (Gemini), ``session_id``, ``turns``, ``echo``.
    """
    return _support.run(make_flow, MODEL_NAMES, REPLAY, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the planning conversation and print it with a summary of its document."""
    return _support.main(__doc__.splitlines()[0], make_flow, MODEL_NAMES, REPLAY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
