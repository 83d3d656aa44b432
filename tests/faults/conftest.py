"""Fixtures of the fault suites: ``target`` (one storage per test, every registered store)."""

from __future__ import annotations

from tests.faults.targets import target_fixture

target = target_fixture()
