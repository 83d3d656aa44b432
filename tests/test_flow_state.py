"""``saveState`` and friends reproduce Picoflow's key order exactly (RUNTIME.md section 6)."""

from __future__ import annotations

from datetime import datetime, timezone

from langgraph_picoflow.flow import get_path, js_json, merge_state, remove_state, save_state

T1 = datetime(2026, 3, 22, 19, 32, 21, tzinfo=timezone.utc)
T2 = datetime(2026, 3, 22, 19, 32, 23, tzinfo=timezone.utc)


def test_first_save_puts_save_on_after_its_keys() -> None:
    assert list(save_state({}, {"symptoms": "fever"}, T1)) == ["symptoms", "_saveOn"]


def test_save_on_keeps_the_place_of_the_first_save() -> None:
    """BookingStep: ``doctors, _saveOn, doctorName, timeSlot, booked``."""
    state = save_state({}, {"doctors": [{"name": "Dr. Smith"}]}, T1)
    state = save_state(
        state, {"doctorName": "Dr. Smith", "timeSlot": "10:00 AM", "booked": True}, T2
    )
    assert list(state) == ["doctors", "_saveOn", "doctorName", "timeSlot", "booked"]
    assert state["_saveOn"] == T2


def test_first_key_moves_behind_and_is_replaced_wholesale() -> None:
    state = {"plan": {"a": 1, "b": 2}, "_saveOn": T1, "other": 1}
    out = save_state(state, {"plan": {"c": 3}}, T2)
    assert list(out) == ["_saveOn", "other", "plan"]
    assert out["plan"] == {"c": 3}  # not merged


def test_other_keys_deep_merge_in_place() -> None:
    state = {"a": 0, "nested": {"x": 1, "list": [1, 2, 3]}, "_saveOn": T1}
    out = save_state(state, {"a": 5, "nested": {"y": 2, "list": [9]}}, T2)
    assert list(out) == ["nested", "_saveOn", "a"]
    # lodash merge: objects merge, arrays merge by index.
    assert out["nested"] == {"x": 1, "list": [9, 2, 3], "y": 2}


def test_prompt_then_state() -> None:
    """EndStep after ``{step, prompt, state}``: ``_prompt, _saveOn, fromAddress``."""
    state = save_state({}, {"_prompt": "Say goodbye"}, T1)
    state = save_state(state, {"fromAddress": 5}, T1)
    assert list(state) == ["_prompt", "_saveOn", "fromAddress"]


def test_none_overwrites_and_new_keys_append() -> None:
    state = save_state({}, {"packages": [1]}, T1)
    state = save_state(state, {"plan": None, "flights": [], "chosenPackage": {"n": 1}}, T2)
    assert list(state) == ["packages", "_saveOn", "plan", "flights", "chosenPackage"]


def test_merge_state_keeps_the_first_key_in_place() -> None:
    state = {"a": {"x": 1}, "_saveOn": T1, "b": 1}
    out = merge_state(state, {"a": {"y": 2}}, T2)
    assert list(out) == ["a", "_saveOn", "b"] and out["a"] == {"x": 1, "y": 2}


def test_remove_state_does_not_touch_save_on() -> None:
    state = {"a": 1, "_saveOn": T1, "b": 2}
    assert remove_state(state, "a") == {"_saveOn": T1, "b": 2}


def test_inputs_are_not_mutated() -> None:
    state = {"nested": {"x": 1}, "_saveOn": T1}
    update = {"other": 1, "nested": {"y": 2}}
    save_state(state, update, T2)
    assert state == {"nested": {"x": 1}, "_saveOn": T1} and update == {
        "other": 1,
        "nested": {"y": 2},
    }


def test_get_path_and_js_json() -> None:
    assert get_path({"a": [{"b": 1}]}, "a[0].b") == 1
    assert get_path({"a": 1}, "a.b.c", "d") == "d"
    assert js_json({"rating": 3.0, "x": [4.5, "é"]}) == '{"rating":3,"x":[4.5,"é"]}'
