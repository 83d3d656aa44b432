"""Black-box test kit for checkpointers: graph scenarios and comparison helpers.

Test modules obtain savers only through the fixtures ``saver_kind``, ``make_saver``
and ``make_async_saver``, typed below (provided by ``tests/fixtures.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["MakeAsyncSaver", "MakeSaver"]

#: Type of the ``make_saver`` fixture: each call -> CM yielding a fresh, empty sync saver.
MakeSaver = Callable[[], AbstractContextManager[BaseCheckpointSaver[Any]]]
#: Type of the ``make_async_saver`` fixture: each call -> async CM yielding a fresh saver.
MakeAsyncSaver = Callable[[], AbstractAsyncContextManager[BaseCheckpointSaver[Any]]]
