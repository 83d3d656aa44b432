"""Channel versions of foreign checkpoints, respelled the way ``PicoflowSaver`` spells them.

``MongoDBSaver`` (like LangGraph's base saver) numbers versions 1, 2, 3... per channel. Two
things break if they are replayed as they are:

* after time travel a fork numbers its own values 3, 4... again, and a store that keeps a
  value once per ``(channel, version)`` (ours, Postgres's) would hand the fork the
  abandoned branch's value;
* continuing the thread, ``PicoflowSaver.get_next_version`` returns strings, and LangGraph
  compares new versions with stored ones: ``str > int`` raises.

So each version becomes ``<number:032>.<fraction>`` (the saver's own spelling), the
fraction derived from the checkpoint that introduced the value. Within one lineage a
channel's numbers are distinct, so order is kept where LangGraph compares (a checkpoint's
``channel_versions`` against its own ``versions_seen``); across branches, equal numbers
get different fractions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

Key = tuple[str, str | None]  # (checkpoint_ns, checkpoint_id)


def spell(version: Any, introduced_by: str, channel: str) -> Any:
    """``version`` as ``PicoflowSaver`` writes it; unparseable versions are kept as they are.

    >>> spell(3, "cp-1", "messages")[:33]
    '00000000000000000000000000000003.'
    """
    try:
        number = int(str(version).split(".")[0])
    except ValueError:
        return version
    digest = hashlib.sha256(f"{introduced_by}\n{channel}\n{version}".encode()).digest()
    fraction = int.from_bytes(digest[:7], "big") / 2**56
    return f"{number:032}.{fraction:016}"


class VersionMap:
    """Respells the versions of one thread's checkpoints, replayed parents first."""

    def __init__(self) -> None:
        #: Per checkpoint: original ``(channel, version)`` -> respelled, along its lineage.
        self._lineage: dict[Key, dict[tuple[str, Any], Any]] = {}
        self._versions: dict[Key, Mapping[str, Any]] = {}

    def rewrite(
        self, ns: str, checkpoint_id: str, parent_id: str | None, checkpoint: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The checkpoint with respelled versions, and its ``new_versions``.

        ``new_versions`` holds the channels whose version differs from the parent's (all
        of them when the parent is unknown), as LangGraph passes it to ``put``.
        """
        original = checkpoint["channel_versions"]
        parent = self._versions.get((ns, parent_id), {})
        known = dict(self._lineage.get((ns, parent_id), {}))
        changed = {ch for ch, v in original.items() if parent.get(ch) != v}
        for ch, v in original.items():
            if ch in changed or (ch, v) not in known:
                known[(ch, v)] = spell(v, checkpoint_id, ch)
        versions = {ch: known[(ch, v)] for ch, v in original.items()}
        seen = {
            node: {ch: known.get((ch, v), spell(v, "", ch)) for ch, v in chans.items()}
            for node, chans in checkpoint["versions_seen"].items()
        }
        self._lineage[(ns, checkpoint_id)] = known
        self._versions[(ns, checkpoint_id)] = original
        respelled = {**checkpoint, "channel_versions": versions, "versions_seen": seen}
        return respelled, {ch: versions[ch] for ch in changed}
