"""The command line: ``validate`` and ``convert``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langgraph_picoflow.cli import app
from tests.samples import sample, sample_params

runner = CliRunner()


@pytest.mark.parametrize("path", sample_params())
def test_validate_sample_ok(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    layout = "A0" if path.name.startswith("tutorial1") else "B"
    spelling = "extended" if layout == "A0" else "plain"
    assert f"layout {layout}, spelling {spelling}: ok" in result.stdout


def test_validate_reports_paths_and_fails(tmp_path: Path) -> None:
    good = sample("69c043c3")
    doc = json.loads(good.read_text(encoding="utf-8"))
    tool = doc["flows"][0]["memory"][0]["history"][5]
    del tool["tool_call_id"]
    doc["runStatus"] = "paused"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    out = result.stdout
    assert f"{good}: layout B, spelling plain: ok" in out
    assert f"{bad}: layout B, spelling plain: 2 problems" in out
    assert "flows[0].memory[0].history[5].tool_call_id: required for a tool message" in out
    assert "runStatus: expected one of 'running', 'completed', 'aborted', got 'paused'" in out


def test_validate_object_id_from_extended_source(tmp_path: Path) -> None:
    path = tmp_path / "oid.json"
    text = sample("tutorial1").read_text(encoding="utf-8")
    path.write_text(
        text.replace('"$oid": "6917ad4ac3d31db001ec2393"', '"$oid": "xyz"'), encoding="utf-8"
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "_id: expected a 24-character lowercase hex ObjectId" in result.stdout


def test_validate_strict_flag(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    doc = json.loads(sample("69c043c3").read_text(encoding="utf-8"))
    del doc["version"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    strict = runner.invoke(app, ["validate", "--strict", str(path)])
    assert strict.exit_code == 1 and "version: required" in strict.stdout


def test_validate_unloadable_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "id": \n', encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 10_000 + "]" * 10_000 + "}", encoding="utf-8")
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["validate", str(broken), str(deep), str(missing)])
    assert result.exit_code == 1
    assert f"{broken}: cannot load" in result.stdout
    assert "invalid JSON: Expecting value (line 3, column 1)" in result.stdout
    assert "deeper than 256 levels" in result.stdout
    assert f"{missing}: cannot read" in result.stdout


def test_validate_stdin() -> None:
    result = runner.invoke(app, ["validate", "-"], input='{"flows": []}')
    assert result.exit_code == 1
    assert "-: layout B, spelling plain" in result.stdout and "  id: required" in result.stdout


@pytest.mark.parametrize("path", sample_params())
def test_convert_to_own_spelling_is_byte_identical(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    own = "extended" if b'"$oid"' in raw else "plain"
    result = runner.invoke(app, ["convert", str(path), "--to", own])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == raw
    out = tmp_path / "out.json"
    assert runner.invoke(app, ["convert", str(path), "--to", own, "-o", str(out)]).exit_code == 0
    assert out.read_bytes() == raw


@pytest.mark.parametrize("path", sample_params())
def test_convert_there_and_back(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    own = "extended" if b'"$oid"' in raw else "plain"
    there, back = tmp_path / "there.json", tmp_path / "back.json"
    for target in ("plain", "extended", "canonical"):
        assert (
            runner.invoke(app, ["convert", str(path), "--to", target, "-o", str(there)]).exit_code
            == 0
        )
        assert (
            runner.invoke(app, ["convert", str(there), "--to", own, "-o", str(back)]).exit_code == 0
        )
        assert back.read_bytes() == raw, target


def test_convert_canonical_spelling() -> None:
    result = runner.invoke(app, ["convert", str(sample("tutorial1")), "--to", "canonical"])
    assert result.exit_code == 0
    assert (
        '"createdOn": {\n    "$date": {\n      "$numberLong": "1763159370648"\n    }\n  }'
        in result.stdout
    )
    assert '"temperature": {\n        "$numberInt": "-1"\n      }' in result.stdout


def test_convert_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[1]", encoding="utf-8")
    result = runner.invoke(app, ["convert", str(broken), "--to", "plain"])
    assert result.exit_code == 1
    assert "cannot convert" in result.stderr and "must be a JSON object" in result.stderr
    assert (
        runner.invoke(app, ["convert", str(tmp_path / "none.json"), "--to", "plain"]).exit_code == 1
    )
    assert runner.invoke(app, ["convert", str(broken), "--to", "bson"]).exit_code != 0


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.stdout and "convert" in result.stdout
