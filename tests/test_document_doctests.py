"""The examples in the document package's docstrings are true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import langgraph_picoflow.document as package

MODULES = [package.__name__] + [
    f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_package_stays_pure() -> None:
    """No I/O library or database driver is imported by the document package."""
    import sys

    for name in MODULES:
        module = sys.modules[name]
        source = open(module.__file__ or "", encoding="utf-8").read()  # noqa: SIM115
        for banned in (
            "import bson",
            "import pymongo",
            "from bson",
            "from pymongo",
            "open(",
            "sqlite",
        ):
            assert banned not in source, f"{name} mentions {banned!r}"
