"""Fixtures shared by every suite: real servers, and fresh savers on every store."""

from __future__ import annotations

pytest_plugins = ["tests.servers.plugin", "tests.fixtures"]
