"""The examples in the flow package's docstrings are true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import langgraph_picoflow.flow as package

MODULES = [package.__name__] + [
    f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
