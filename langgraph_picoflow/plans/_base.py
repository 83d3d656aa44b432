"""Shared types of the plans: the plan type, the context, and a session head."""

from __future__ import annotations

import random
import uuid
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_picoflow import mapping
from langgraph_picoflow.document import check_text, storable_problems
from langgraph_picoflow.errors import SessionDocumentError
from langgraph_picoflow.records import BlobRecord, CheckpointRecord, SessionRecord, WriteRecord
from langgraph_picoflow.stores.protocol import (
    Request,
)

Plan: TypeAlias = Generator[Request, Any, Any]


@dataclass
class Head:
    """A session head as the saver knows it: the stored record plus what the log says."""

    record: SessionRecord
    #: The root log entry whose revision the head carries; ``None``: the head is not in
    #: the log (written by Picoflow, imported, or changed by someone else).
    entry: CheckpointRecord | None
    #: Highest ``seq`` of the root log.
    seq: int
    #: The newest root log entry (the parent of an adopted head).
    latest: CheckpointRecord | None = None
    #: The message objects last restored from or written to the head, per namespace.
    messages: dict[str, list[BaseMessage]] = field(default_factory=dict)
    #: Writes and blobs of ``entry``, when they came with the head in one read.
    prefetched: tuple[list[WriteRecord], list[BlobRecord]] | None = None


class HeadCache(OrderedDict[str, "Head | None"]):
    """The heads a saver read or wrote last (``None``: known absent), LRU evicted first.

    Bounded so that a process touching many sessions (a server, a migration) keeps flat
    memory; a head that fell out is simply read again.
    """

    def __init__(self, size: int = 128) -> None:
        super().__init__()
        self.size = size

    def __getitem__(self, key: str) -> Head | None:
        self.move_to_end(key)
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Head | None) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class Context:
    """Everything a plan needs besides the store: serializer, layout, clock, randomness."""

    serde: SerializerProtocol
    config: mapping.SessionConfig
    clock: Callable[[], datetime]
    rng: random.Random
    next_version: Callable[[Any], Any]
    #: Heads this saver has read or written, by thread id (validated by compare-and-swap).
    heads: HeadCache = field(default_factory=HeadCache)


def json_safe(value: Any) -> Any:
    """Metadata is kept as plain JSON (queryable); tuples become lists, as JSON has them."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def config_text(conf: Mapping[str, Any], key: str) -> str | None:
    """``configurable[key]`` as a string (``None`` when absent), or a typed refusal.

    These values reach stores as query values: a dict there would be an operator on
    MongoDB, a list a parameter SQLite refuses. Ids may be ints or UUIDs, as LangGraph
    lets them be; anything else is refused naming the key::

        >>> try:
        ...     config_text({"checkpoint_ns": {"$ne": ""}}, "checkpoint_ns")
        ... except SessionDocumentError as exc:
        ...     print(exc)
        configurable.checkpoint_ns: expected a string, got a dict
    """
    value = conf.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | uuid.UUID):
        raise SessionDocumentError(
            f"expected a string, got a {type(value).__name__}", f"configurable.{key}"
        )
    return check_text(str(value), f"configurable.{key}")


def address(config: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` of a config, each checked by `config_text`."""
    conf = config.get("configurable") or {}
    thread_id = config_text(conf, "thread_id")
    if thread_id is None:
        raise SessionDocumentError("required: the Picoflow session id", "configurable.thread_id")
    ns = config_text(conf, "checkpoint_ns") or ""
    return thread_id, ns, config_text(conf, "checkpoint_id")


def check_storable(value: Any, path: str = "") -> None:
    """Refuse values no store can hold (see `document.storable_problems`), naming each path."""
    problems = list(storable_problems(value, path))
    if problems:
        raise SessionDocumentError(problems)
