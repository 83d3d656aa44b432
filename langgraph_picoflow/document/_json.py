"""JSON text in and out, byte-compatible with JavaScript's ``JSON.parse``/``JSON.stringify``.

Python's own ``json.dumps(indent=2)`` differs from ``JSON.stringify(x, null, 2)`` on floats
(``1.0`` vs ``1``, ``1e-07`` vs ``1e-7``), non-finite numbers and lone surrogates, so the writer
here is our own. The reader refuses pathological nesting before ``json`` can hit the recursion
limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..errors import Problem, SessionDocumentError

#: Deepest container nesting accepted anywhere (a real session document stays below 30).
MAX_DEPTH = 256

# A JSON string token or a bracket, to measure nesting without building anything; the string
# pattern is the unrolled form, which matches long strings without per-character alternation.
_DEPTH_TOKEN_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE_PAIR_RE = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def join_path(path: str, key: str | int) -> str:
    """Append a key or an index to a JSON path (``flows[0].memory``; odd keys are quoted).

    >>> join_path("flows[0]", "state"), join_path("flows", 0), join_path("state", "a.b")
    ('flows[0].state', 'flows[0]', 'state["a.b"]')
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER_RE.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _check_text_depth(text: str) -> None:
    depth = 0
    for m in _DEPTH_TOKEN_RE.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _line_col(text, m.start())
                raise SessionDocumentError(
                    f"JSON nested deeper than {MAX_DEPTH} levels (line {line}, column {col})"
                )
        elif tok in "]}":
            depth -= 1


def _refuse_constant(name: str) -> Any:
    # JSON.parse rejects NaN/Infinity; so must we, or a file could load here and nowhere else.
    raise ValueError(f"{name} is not valid JSON")


def parse_json_text(text: str) -> Any:
    """Parse JSON text as ``JSON.parse`` would, raising `SessionDocumentError` on bad input.

    The error names the line and column. Nesting deeper than `MAX_DEPTH` is refused up front.
    """
    _check_text_depth(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise SessionDocumentError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # from _refuse_constant
        raise SessionDocumentError(f"invalid JSON: {exc}") from None
    except RecursionError:  # belt and braces: the depth check should make this unreachable
        raise SessionDocumentError(f"JSON nested deeper than {MAX_DEPTH} levels") from None


def js_number(x: float) -> str:
    """Format a float as JavaScript's ``Number.prototype.toString`` does (non-finite: ``null``).

    >>> [js_number(v) for v in (0.7, 1.0, -1.0, 1e21, 1e-7, 123456789012.5, -0.0)]
    ['0.7', '1', '-1', '1e+21', '1e-7', '123456789012.5', '0']
    """
    if not math.isfinite(x):
        return "null"  # JSON.stringify writes NaN and Infinity as null
    if x == 0:
        return "0"  # also for -0, as JavaScript does
    # repr() is the shortest round-tripping decimal, the same digits JavaScript picks.
    sign, digit_tuple, exponent = Decimal(float.__repr__(x)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return f"-{body}" if sign else body


def _escape_lone(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def js_string(s: str) -> str:
    """Quote a string as ``JSON.stringify`` does (UTF-8 kept, lone surrogates escaped).

    >>> js_string('a"b\\n\\x01é')
    '"a\\\\"b\\\\n\\\\u0001é"'
    """
    out = json.encoder.encode_basestring(s)
    if _LONE_SURROGATE_RE.search(out):
        # Two surrogate code points in a row form one character in JavaScript's UTF-16.
        out = _SURROGATE_PAIR_RE.sub(
            lambda m: m.group().encode("utf-16", "surrogatepass").decode("utf-16"), out
        )
        out = _LONE_SURROGATE_RE.sub(_escape_lone, out)
    return out


def js_stringify(value: Any, indent: int = 2) -> str:
    """Serialise a JSON-compatible tree exactly as ``JSON.stringify(value, null, indent)``.

    Accepts dicts (string keys), lists/tuples, str, int, float, bool and None; anything else
    raises `SessionDocumentError` naming its path::

        >>> print(js_stringify({"a": [1, 0.5], "b": {}}))
        {
          "a": [
            1,
            0.5
          ],
          "b": {}
        }
    """
    parts: list[str] = []
    _write(value, parts, "", " " * indent, "", 1)
    return "".join(parts)


def _write(value: Any, out: list[str], pad: str, step: str, path: str, depth: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(js_string(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))  # int subclasses (bson Int64) must not print their repr
    elif isinstance(value, float):
        out.append(js_number(value))
    elif isinstance(value, Mapping | list | tuple):
        if depth > MAX_DEPTH:
            raise SessionDocumentError(f"nested deeper than {MAX_DEPTH} levels", path)
        if not value:
            out.append("{}" if isinstance(value, Mapping) else "[]")
            return
        inner = pad + step
        if isinstance(value, Mapping):
            out.append("{")
            for i, (k, v) in enumerate(value.items()):
                if not isinstance(k, str):
                    raise SessionDocumentError(f"object key {k!r} is not a string", path)
                out.append(f"{',' if i else ''}\n{inner}{js_string(k)}: ")
                _write(v, out, inner, step, join_path(path, k), depth + 1)
            out.append(f"\n{pad}}}")
        else:
            out.append("[")
            for i, v in enumerate(value):
                out.append(f"{',' if i else ''}\n{inner}")
                _write(v, out, inner, step, join_path(path, i), depth + 1)
            out.append(f"\n{pad}]")
    else:
        raise SessionDocumentError(
            [Problem(path, f"{type(value).__name__} is not JSON-serialisable")]
        )
