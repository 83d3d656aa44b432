"""Hypothesis strategies for hostile input: strings, keys, JSON trees, ids, documents.

Shared by the ``tests/test_hostile_*.py`` suites. Strings mix the ones known to break
stores (operators, paths, SQL, NUL, lone surrogates, very long) with arbitrary text that
includes surrogates (hypothesis leaves them out unless asked).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.faults.figures import count

#: Strings that have broken a store somewhere: operator and path syntax (MongoDB), item
#: path characters (Cosmos), SQL and LIKE syntax, traversal, control characters, lone
#: surrogates, right-to-left override, very long.
KNOWN_BAD: tuple[str, ...] = (
    "$where",
    "$ne",
    "$gt",
    "$regex",
    "$expr",
    "a.b",
    ".",
    "..",
    "$",
    "a$b",
    "/",
    "a/b",
    "\\",
    "a\\b",
    "?",
    "#",
    "%",
    "_",
    "*",
    "' OR 1=1 --",
    '" OR true OR "',
    "'); DROP TABLE sessions; --",
    "SELECT * FROM c",
    "../../etc/passwd",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "\u202e",
    "\ufeff",
    "\n",
    " ",
    "",
    "x" * 300,
    "é" * 5_000,  # 10 kB of UTF-8
)

#: Any text, lone surrogates and NUL included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)

hostile_text: st.SearchStrategy[str] = st.one_of(st.sampled_from(KNOWN_BAD), any_text)


def is_valid_unicode(text: str) -> bool:
    """Whether ``text`` has no lone surrogate (it can be encoded as UTF-8)."""
    return not any("\ud800" <= c <= "\udfff" for c in text)


#: Text the stores are fuzzed with where a case expects its value back: everything but lone
#: surrogates, which have no UTF-8 form and are refused with a typed error instead (checked
#: by test_hostile_payloads.test_lone_surrogates_are_refused_typed_or_kept).
store_text: st.SearchStrategy[str] = hostile_text.filter(is_valid_unicode)

#: Non-empty keys, ``$`` and ``.`` welcome.
hostile_keys: st.SearchStrategy[str] = st.one_of(
    st.sampled_from([k for k in KNOWN_BAD if k]), any_text.filter(bool)
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)

#: JSON-like trees (NaN, huge integers and hostile keys included).
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_keys, inner, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value nested ``depth`` levels deep (alternating lists and objects)."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


#: Text that is JSON, almost JSON, or not at all.
document_text: st.SearchStrategy[str | bytes] = st.one_of(
    any_text,
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.integers(min_value=250, max_value=20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=250, max_value=5_000).map(lambda n: '{"k":' * n + "1" + "}" * n),
)


def fuzz(ci: int, long: int) -> Callable[[Any], Any]:
    """Hypothesis settings: ``ci`` examples, ``long`` with ``PICOFLOW_LONG=1``.

    No example database (nothing is written into the repository), no deadline (stores
    over a network vary), and function-scoped fixtures allowed: the storage a test opens
    is deliberately shared by all its examples, so damage from one case shows in the next.
    """
    return settings(
        max_examples=count(ci=ci, long=long),
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
