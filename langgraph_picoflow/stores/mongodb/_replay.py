"""The session as it is at a revision, rebuilt from the root checkpoint log.

Every change the saver makes to a head is logged as a patch from a base revision to a new
one. Following those links back from a revision to a full snapshot (a patch holding a
``ReplaceSession``) and applying the patches forward gives the whole document and sidecars,
even when the stored head had to be cut to fit one item, or its sidecar document lags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph_picoflow import patch as patches
from langgraph_picoflow.records import Sidecars


def replay(
    entries: Iterable[tuple[str, dict[str, Any]]], rev: str
) -> tuple[dict[str, Any], Sidecars] | None:
    """``(document, sidecars)`` at revision ``rev``, or ``None`` when the log cannot tell.

    ``entries`` are ``(checkpoint_id, session)`` of the root log entries.
    """
    by_rev: dict[str, dict[str, Any]] = {}
    for _, session in sorted(entries, key=lambda e: e[0]):
        by_rev[str(session["rev"])] = session  # the newest entry wins a tie
    chain: list[list[patches.PatchOp]] = []
    current = by_rev.get(rev)
    while current is not None and len(chain) <= len(by_rev):
        ops = patches.from_json(current["patch"])
        chain.append(ops)
        if any(isinstance(op, patches.ReplaceSession) for op in ops):
            doc: dict[str, Any] = {}
            side: Sidecars = []
            for step in reversed(chain):
                doc, side = patches.apply(doc, side, step)
            return doc, side
        base = current.get("base")
        current = by_rev.get(str(base)) if base is not None else None
    return None
