"""Step state writes with Picoflow's exact semantics (RUNTIME.md section 6).

A state's key order records its history, so these functions reproduce it exactly:

* :func:`save_state` removes the *first* key of the argument from the old state, deep-merges
  the argument (lodash ``_.merge``), then sets ``_saveOn``. The first key therefore moves
  behind every other existing key and is replaced wholesale; ``_saveOn`` keeps the place of
  the first save::

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 22, tzinfo=timezone.utc)
    >>> s = save_state({}, {"doctors": []}, t)
    >>> list(save_state(s, {"doctorName": "Dr. Smith", "booked": True}, t))
    ['doctors', '_saveOn', 'doctorName', 'booked']
    >>> list(save_state({"a": 1, "_saveOn": t, "b": 2}, {"a": 3}, t))
    ['_saveOn', 'b', 'a']

* :func:`merge_state` is the same without removing the first key;
* :func:`remove_state` drops keys (``_.omit``) and does not touch ``_saveOn``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SAVE_ON = "_saveOn"
PROMPT = "_prompt"
STOP_TOOL = "_stopTool"
#: Reserved state keys the runtime writes or reads.
RESERVED_KEYS = (SAVE_ON, PROMPT, STOP_TOOL)


def _merge_value(target: Any, source: Any) -> Any:
    """lodash ``_.merge`` of one value: objects and arrays merge recursively (arrays by index)."""
    if isinstance(source, Mapping):
        base = target if isinstance(target, dict) else {}
        for key, value in source.items():
            base[key] = _merge_value(base.get(key), value)
        return base
    if isinstance(source, list):
        base_list = target if isinstance(target, list) else []
        for index, value in enumerate(source):
            if index < len(base_list):
                base_list[index] = _merge_value(base_list[index], value)
            else:
                base_list.append(_merge_value(None, value))
        return base_list
    return copy.deepcopy(source)


def merge_into(state: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into ``state`` in place (existing keys keep their position)."""
    for key, value in update.items():
        state[key] = _merge_value(state.get(key), value)
    return state


def save_state(
    state: Mapping[str, Any], update: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Picoflow's ``saveState(update)`` applied to ``state``; returns the new state."""
    first = next(iter(update), None)
    out = {k: copy.deepcopy(v) for k, v in state.items() if k != first}
    merge_into(out, update)
    out[SAVE_ON] = now
    return out


def merge_state(
    state: Mapping[str, Any], update: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Picoflow's ``mergeState(update)``: ``save_state`` without removing the first key."""
    out = copy.deepcopy(dict(state))
    merge_into(out, update)
    out[SAVE_ON] = now
    return out


def remove_state(state: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """Picoflow's ``removeState(key)`` (``_.omit``): the state without ``keys``."""
    return {k: copy.deepcopy(v) for k, v in state.items() if k not in keys}


def get_path(value: Any, path: str | None, default: Any = None) -> Any:
    """lodash ``_.get``: the value at a dotted path (``"config.user.name"``, ``"items[0]"``).

    >>> get_path({"config": {"items": [{"id": 7}]}}, "config.items[0].id")
    7
    >>> get_path({}, "config.x", "none")
    'none'
    """
    if path is None or path == "":
        return value
    current = value
    for part in path.replace("[", ".").replace("]", "").split("."):
        if part == "":
            continue
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def _js_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)  # JavaScript prints 4.0 as 4
    if isinstance(value, Mapping):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_numbers(v) for v in value]
    return value


def js_json(value: Any) -> str:
    """``JSON.stringify(value)``: compact JSON as JavaScript writes it (for prompts, replies).

    >>> js_json({"name": "Dr. Smith", "rating": 4.0, "times": ["10:00 AM"]})
    '{"name":"Dr. Smith","rating":4,"times":["10:00 AM"]}'
    """
    return json.dumps(_js_numbers(value), ensure_ascii=False, separators=(",", ":"))
