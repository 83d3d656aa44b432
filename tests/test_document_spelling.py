"""Loading every spelling into model form and writing it back, byte for byte."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_picoflow.document import dump, dumps, load, parse
from langgraph_picoflow.errors import SessionDocumentError
from tests.samples import sample, sample_params

UTC = timezone.utc
OID = "6917ad4ac3d31db001ec2393"


def _spelling_of(text: str) -> str:
    return "extended" if '"$oid"' in text or '"$date"' in text else "plain"


# -- the real samples ----------------------------------------------------------------------


@pytest.mark.parametrize("path", sample_params())
def test_sample_round_trips_in_its_own_spelling(path: Path) -> None:
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    parsed = parse(raw)
    assert parsed.spelling == _spelling_of(text)
    assert parsed.trailing_newline == text.endswith("\n")
    out = dumps(parsed.document, parsed.spelling, trailing_newline=parsed.trailing_newline)  # type: ignore[arg-type]
    assert out.encode("utf-8") == raw


@pytest.mark.parametrize("path", sample_params())
def test_sample_survives_the_other_spelling(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    own = _spelling_of(text)
    other = "plain" if own == "extended" else "extended"
    doc = load(text)
    there = dumps(doc, other)  # type: ignore[arg-type]
    assert parse(there).spelling == other
    back = dumps(load(there), own, trailing_newline=text.endswith("\n"))  # type: ignore[arg-type]
    assert back == text


@pytest.mark.parametrize("path", sample_params())
def test_sample_canonical_round_trip(path: Path) -> None:
    doc = load(path.read_bytes())
    canonical = dumps(doc, "canonical")
    parsed = parse(canonical)
    assert parsed.spelling == "canonical"
    assert parsed.document == doc
    assert dumps(parsed.document, "canonical") == canonical
    assert '"$numberInt": "1"' in canonical  # version


@pytest.mark.parametrize("path", sample_params())
def test_sample_dates_and_ids_in_model_form(path: Path) -> None:
    doc = load(path.read_bytes())
    assert isinstance(doc["_id"], str) and doc["_id"] == doc["id"]
    for key in ("createdOn", "saveOn"):
        value = doc[key]
        assert isinstance(value, datetime) and value.tzinfo is not None
        assert value.microsecond % 1000 == 0
    for flow in doc["flows"]:
        for step in flow["steps"]:
            if "_saveOn" in step["state"]:
                assert isinstance(step["state"]["_saveOn"], datetime)


def test_tutorial_sample_extended_details() -> None:
    parsed = parse(sample("tutorial1").read_text(encoding="utf-8"))
    assert parsed.object_id is True
    assert parsed.document["_id"] == OID
    assert parsed.document["createdOn"] == datetime(2025, 11, 14, 22, 29, 30, 648000, tzinfo=UTC)
    plain = dump(parsed.document, "plain")
    assert plain["createdOn"] == "2025-11-14T22:29:30.648Z"
    assert plain["_id"] == OID


def test_plain_sample_keeps_other_iso_strings_as_strings() -> None:
    doc = load(sample("69c043c3").read_bytes())
    # Only known date paths are revived; message ids and free-form state keep their text.
    assert isinstance(doc["flows"][0]["memory"][0]["history"][0]["id"], str)
    assert list(doc["flows"][0]["steps"][1]["state"]) == [
        "doctors",
        "_saveOn",
        "doctorName",
        "timeSlot",
        "booked",
    ]


# -- Extended JSON and driver input --------------------------------------------------------


def test_canonical_wrappers_decode() -> None:
    parsed = parse(
        {
            "_id": {"$oid": OID.upper()},
            "saveOn": {"$date": {"$numberLong": "1731623370648"}},
            "a": {"$numberInt": "-5"},
            "b": {"$numberLong": "9007199254740993"},
            "c": {"$numberDouble": "0.5"},
            "d": {"$numberDouble": "-Infinity"},
        }
    )
    doc = parsed.document
    assert parsed.spelling == "canonical" and parsed.object_id
    assert doc["_id"] == OID  # ObjectId hex is lower case
    assert doc["saveOn"] == datetime(2024, 11, 14, 22, 29, 30, 648000, tzinfo=UTC)
    assert (doc["a"], doc["b"], doc["c"], doc["d"]) == (-5, 9007199254740993, 0.5, float("-inf"))


def test_relaxed_dates_in_mongoexport_style() -> None:
    doc = load(
        '{"a": {"$date": "2025-01-02T03:04:05Z"}, "b": {"$date": "2025-01-02T04:04:05.1+01:00"}}'
    )
    assert doc["a"] == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert doc["b"] == datetime(2025, 1, 2, 3, 4, 5, 100000, tzinfo=UTC)


def test_undecodable_wrappers_stay_ordinary_objects() -> None:
    source = {"s": {"$date": "tomorrow"}, "n": {"$numberInt": "x"}, "o": {"$oid": 5}}
    parsed = parse(json.dumps(source))
    assert parsed.spelling == "plain"
    assert parsed.document == source


def test_relaxed_out_of_range_date_and_nonfinite_double_stay_relaxed() -> None:
    old = datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    doc = {"when": old, "x": float("inf")}
    relaxed = dump(doc, "extended")
    assert relaxed == {"when": {"$date": {"$numberLong": "-1"}}, "x": {"$numberDouble": "Infinity"}}
    parsed = parse(relaxed)
    assert parsed.spelling == "extended"
    assert parsed.document == doc


class FakeObjectId:
    """Looks like bson.ObjectId to duck typing (``binary`` + 24-hex ``str``)."""

    def __init__(self, hex_id: str) -> None:
        self.binary = bytes.fromhex(hex_id)
        self._hex = hex_id

    def __str__(self) -> str:
        return self._hex


class Int64(int):
    """Like bson.Int64: an int subclass whose repr is not a number."""

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


def test_driver_form() -> None:
    naive = datetime(2025, 11, 14, 22, 29, 30, 648123)
    parsed = parse(
        {
            "_id": FakeObjectId(OID),
            "saveOn": naive,
            "createdOn": datetime(
                2025, 11, 14, 23, 29, 30, 648000, tzinfo=timezone(timedelta(hours=1))
            ),
            "n": Int64(3),
            "t": ("a", "b"),
        }
    )
    doc = parsed.document
    assert parsed.spelling == "driver" and parsed.object_id
    assert doc["_id"] == OID
    assert doc["saveOn"] == datetime(2025, 11, 14, 22, 29, 30, 648000, tzinfo=UTC)
    assert doc["createdOn"] == doc["saveOn"]
    assert type(doc["n"]) is int and doc["t"] == ["a", "b"]
    assert dumps(doc).count("2025-11-14T22:29:30.648Z") == 2


def test_dump_driver_uses_object_id_factory() -> None:
    doc = {"_id": OID, "saveOn": datetime(2025, 1, 1, tzinfo=UTC), "x": [{"y": 1.5}]}
    out = dump(doc, "driver", object_id=FakeObjectId)
    assert isinstance(out["_id"], FakeObjectId) and str(out["_id"]) == OID
    assert out["saveOn"] == doc["saveOn"] and out["saveOn"].tzinfo is not None
    assert out["x"] == doc["x"] and out["x"] is not doc["x"]  # a fresh tree
    assert dump({"_id": "not-hex"}, "driver", object_id=FakeObjectId) == {"_id": "not-hex"}
    assert dump(doc, "driver")["_id"] == OID


def test_string_id_that_is_not_hex_stays_a_string_everywhere() -> None:
    doc = {"_id": "3f1c0d7e-5c1e-4b7a-9d1e-0c2f9b7a1e11"}
    for spelling in ("plain", "extended", "canonical"):
        assert dump(doc, spelling)["_id"] == doc["_id"]


def test_canonical_numbers() -> None:
    out = dump(
        {"i": 7, "l": 2**40, "f": 1.0, "g": 0.7, "z": -0.0, "b": True, "n": None, "big": 1e300},
        "canonical",
    )
    assert out == {
        "i": {"$numberInt": "7"},
        "l": {"$numberLong": "1099511627776"},
        "f": {"$numberDouble": "1.0"},
        "g": {"$numberDouble": "0.7"},
        "z": {"$numberDouble": "-0.0"},
        "b": True,
        "n": None,
        "big": {"$numberDouble": "1e+300"},
    }
    with pytest.raises(SessionDocumentError) as err:
        dump({"x": [2**64]}, "canonical")
    assert err.value.problems[0].path == "x[0]"


def test_plain_nonfinite_becomes_null_like_json_stringify() -> None:
    assert dumps({"x": float("nan")}) == '{\n  "x": null\n}'


def test_unknown_spelling_rejected() -> None:
    with pytest.raises(ValueError):
        dump({}, "bson")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        dumps({}, "driver")  # type: ignore[arg-type]


# -- bad input -----------------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(SessionDocumentError) as err:
        load('{\n  "id": "x",\n  "runStatus" "running"\n}')
    assert "line 3, column 15" in str(err.value)


@pytest.mark.parametrize("text", ["[1, 2]", '"x"', "null", '{"a": NaN}', '{"a": Infinity}', ""])
def test_non_documents_refused(text: str) -> None:
    with pytest.raises(SessionDocumentError):
        load(text)


def test_bad_utf8_refused() -> None:
    with pytest.raises(SessionDocumentError, match="UTF-8"):
        load(b'{"a": "\xff"}')


def test_bom_is_tolerated() -> None:
    assert load('\ufeff{"a": 1}'.encode()) == {"a": 1}


def test_ten_thousand_levels_of_json() -> None:
    for text in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
        with pytest.raises(SessionDocumentError, match="deeper than 256"):
            load('{"x": ' + text + "}")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert load(json.dumps({"s": "[" * 1000 + '\\"{'}))["s"].startswith("[[[")


def _deep_mapping(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        child: dict[str, Any] = {}
        node["a"] = child
        node = child
    return root


def test_ten_thousand_levels_of_mapping() -> None:
    deep = _deep_mapping(10_000)
    with pytest.raises(SessionDocumentError, match="deeper than 256") as err:
        load(deep)
    assert err.value.problems[0].path.startswith("a.a.a")
    with pytest.raises(SessionDocumentError, match="deeper than 256"):
        dumps(deep)
    with pytest.raises(SessionDocumentError, match="deeper than 256"):
        dump(deep, "extended")


def test_unsupported_values_name_their_path() -> None:
    with pytest.raises(SessionDocumentError) as err:
        load({"flows": [{"x": {1, 2}}]})
    assert err.value.problems[0].path == "flows[0].x"
    with pytest.raises(SessionDocumentError) as err:
        load({"a": {3: "x"}})
    assert err.value.problems[0].path == "a"
    with pytest.raises(SessionDocumentError) as err:
        dumps({"a": [object()]})
    assert err.value.problems[0].path == "a[0]"


# -- generated documents -------------------------------------------------------------------

_keys = st.text(min_size=0, max_size=8).filter(lambda k: not k.startswith("$"))
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_trees = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=4),
    max_leaves=25,
)
_dates = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    state: dict[str, Any] = draw(
        st.dictionaries(_keys.filter(lambda k: k != "_saveOn"), _trees, max_size=4)
    )
    state["_saveOn"] = draw(_dates)
    return {
        "_id": draw(st.sampled_from([OID, "not-an-object-id"])),
        "createdOn": draw(_dates),
        "saveOn": draw(_dates),
        "flows": [{"steps": [{"state": state}], "free": draw(_trees)}],
        "log": [{"timestamp": draw(_dates), "level": "info", "message": draw(_trees)}],
    }


def _js(value: Any) -> Any:
    """Compare as JavaScript sees values: one number type (2**60 and 2.0**60 are the same)."""
    if isinstance(value, dict):
        return {k: _js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@settings(max_examples=60, deadline=None)
@given(_documents())
def test_generated_documents_round_trip_in_every_spelling(doc: dict[str, Any]) -> None:
    for spelling in ("plain", "extended", "canonical"):
        text = dumps(doc, spelling)
        again = load(text)
        assert _js(again) == _js(doc)
        assert dumps(again, spelling) == text
        assert _js(json.loads(text)) == _js(dump(doc, spelling))


@settings(max_examples=40, deadline=None)
@given(_trees, _dates)
def test_extended_keeps_dates_anywhere(tree: Any, when: datetime) -> None:
    doc = {"a": [tree, {"when": when}]}
    for spelling in ("extended", "canonical"):
        assert _js(load(dumps(doc, spelling))) == _js(doc)


@pytest.mark.parametrize("path", sample_params())
def test_load_is_idempotent_and_leaves_its_input_alone(path: Path) -> None:
    plain = json.loads(path.read_bytes())
    before = json.dumps(plain)
    doc = load(plain)
    assert json.dumps(plain) == before
    assert load(doc) == doc
    assert parse(doc).spelling in ("plain", "driver")
