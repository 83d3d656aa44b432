"""What the stores keep, as plain dataclasses.

A session is stored as two things: the Picoflow document (the *head*, exactly what a
Picoflow runtime reads) and a checkpoint *log* beside it that holds what LangGraph needs
and Picoflow has no field for. Every store keeps these same records; only the physical
layout differs (rows, documents, items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Per-message data LangChain has and a Picoflow history entry cannot hold, aligned with
#: ``flows[f].memory[n].history[i]`` as ``sidecars[f][n][i]`` (``{}`` when nothing extra).
Sidecars = list[list[list[dict[str, Any]]]]


@dataclass
class SessionRecord:
    """The head of a session: the Picoflow document in model form plus its sidecars.

    ``revision`` is the compare-and-swap token: the ISO spelling of the document's
    ``saveOn``, which every save (ours and Picoflow's) changes.
    """

    document: dict[str, Any]
    sidecars: Sidecars
    revision: str


@dataclass
class CheckpointRecord:
    """One entry of the checkpoint log: a LangGraph checkpoint minus its large values.

    ``checkpoint`` is JSON: ``v, ts, channel_versions, versions_seen, updated_channels``,
    ``inline`` (primitive channel values), ``projected`` (channel -> memory namespace
    whose value lives in the Picoflow document). ``session`` is set on root checkpoints:
    the patch this checkpoint applied to the head (see :mod:`langgraph_picoflow.patch`),
    the revision it expected and the one it wrote, so a reader can roll the head forward
    or rebuild the document as it was at this checkpoint.
    """

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    session: dict[str, Any] | None = None
    seq: int = 0

    @property
    def run_id(self) -> str | None:
        """The LangGraph run that wrote this checkpoint, if recorded in its metadata."""
        value = self.metadata.get("run_id")
        return str(value) if value is not None else None


@dataclass
class WriteRecord:
    """One pending write: ``(thread, ns, checkpoint, task_id, idx)`` identifies it."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    idx: int
    channel: str
    type: str
    value: bytes
    task_path: str = ""


@dataclass
class BlobRecord:
    """A non-projected channel value, stored once per ``(channel, version)``."""

    thread_id: str
    checkpoint_ns: str
    channel: str
    version: str
    type: str
    value: bytes = field(repr=False)
