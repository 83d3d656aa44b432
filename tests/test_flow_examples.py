"""The examples run offline as documented (the demo calls their ``main()``)."""

from __future__ import annotations

import pytest

from langgraph_picoflow import document as pdoc
from tests.test_flow_samples import example


@pytest.mark.parametrize("name", ["tutorial", "medical", "travel", "basic"])
def test_flow_example_main(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert example(name).main([]) == 0
    out = capsys.readouterr().out
    assert "runStatus=completed" in out
    assert out.count("user> ") == len(example("_support").replay(example(name).REPLAY).turns)


def test_tutorial_main_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert example("tutorial").main(["--document"]) == 0
    out = capsys.readouterr().out
    assert '"name": "TutorialFlow"' in out and "Okay, this chat has ended." in out


def test_agent_example_writes_a_picoflow_session() -> None:
    document = example("agent").run(verbose=False)
    pdoc.check(pdoc.load(document))
    flow = document["flows"][0]
    history = flow["memory"][0]["history"]
    assert [e["type"] for e in history] == ["human", "ai", "tool", "ai", "human", "ai"]
    assert history[1]["tool_calls"][0]["name"] == "get_weather"
    assert document["tokens"] == {"inputTokens": 233, "outputTokens": 37, "totalTokens": 270}


def test_gemini_flag_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(SystemExit):
        example("tutorial").main(["--gemini"])
