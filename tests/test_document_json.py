"""The JSON writer against JavaScript itself (``node``, when installed) and known outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_picoflow.document import js_number, js_stringify

NODE = shutil.which("node")
requires_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

_NODE_SCRIPT = """
const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter(Boolean);
process.stdout.write(JSON.stringify(lines.map((l) => JSON.stringify(JSON.parse(l), null, 2))));
"""


def _node_stringify(values: list[Any]) -> list[str]:
    assert NODE is not None
    # ensure_ascii keeps lone surrogates as \\udxxx escapes, which JSON.parse understands.
    stdin = "\n".join(json.dumps(v, ensure_ascii=True) for v in values) + "\n"
    out = subprocess.run(
        [NODE, "-e", _NODE_SCRIPT], input=stdin.encode(), capture_output=True, check=True
    )
    result: list[str] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.7, "0.7"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123e-20, "1.23e-18"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-0.0, "0"),
        (float("nan"), "null"),
        (float("inf"), "null"),
    ],
)
def test_js_number_known_values(value: float, expected: str) -> None:
    assert js_number(value) == expected


def test_strings_escape_as_javascript_does() -> None:
    s = 'q"b\\n\n\r\t\b\f\x00\x1f\x7f é \u2028 😀 \ud800 \ud83d\ude00'
    assert js_stringify(s) == (
        '"q\\"b\\\\n\\n\\r\\t\\b\\f\\u0000\\u001f\x7f é \u2028 😀 \\ud800 😀"'
    )


def test_empty_containers_and_nesting_layout() -> None:
    assert js_stringify({"a": {}, "b": [], "c": [{"d": None}]}) == (
        '{\n  "a": {},\n  "b": [],\n  "c": [\n    {\n      "d": null\n    }\n  ]\n}'
    )


_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
# JavaScript objects list array-index keys ("0", "17") first, whatever the insertion order;
# model form keeps the stored order instead, so such keys are left out of this comparison.
_keys = _text.filter(lambda k: not (k.isdigit() and k.isascii()))
_trees = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=4),
    max_leaves=20,
)


@requires_node
@settings(max_examples=5, deadline=None)
@given(st.lists(_trees, min_size=30, max_size=30))
def test_matches_node_json_stringify(values: list[Any]) -> None:
    assert [js_stringify(v) for v in values] == _node_stringify(values)
