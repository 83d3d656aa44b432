"""Saver fixtures: fresh savers on every registered store (see tests/stores.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stores import SAVERS, AsyncFactory, SyncFactory


@pytest.fixture(params=sorted(SAVERS))
def saver_kind(request: pytest.FixtureRequest) -> str:
    """The store a saver test runs on (every registered store)."""
    return str(request.param)


@pytest.fixture
def make_saver(saver_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SyncFactory:
    """A callable giving a fresh, empty ``PicoflowSaver`` context manager on ``saver_kind``."""
    return SAVERS[saver_kind](request, tmp_path)[0]


@pytest.fixture
def make_async_saver(
    saver_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncFactory:
    """A callable giving a fresh, empty ``AsyncPicoflowSaver`` context manager."""
    return SAVERS[saver_kind](request, tmp_path)[1]
