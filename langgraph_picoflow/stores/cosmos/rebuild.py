"""Reading a head back: the stored head item plus its log items -> the whole session.

Nothing here trusts that the tip describes the head exactly (a writer may be between its
two writes, may have died there, or a Picoflow runtime may have saved the head since):
spilled prefixes are matched by the key of the entry that follows them, stubs by their
digest, sidecars by the key of the entry at their position. What does not match is left
out (an unknown sidecar is ``{}``, as for any entry Picoflow wrote).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langgraph_picoflow import codec
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.records import Sidecars
from langgraph_picoflow.stores.cosmos.items import Item, strip_system
from langgraph_picoflow.stores.cosmos.space import (
    Space,
    entry_key,
    loads,
    space_key,
    stub_digest,
)
from langgraph_picoflow.stores.cosmos.tip import Tip


class _Blocks:
    def __init__(self, blocks: Iterable[Item]) -> None:
        self.raw = {(b["f"], b["n"], b["gen"], b["j"]): b for b in blocks}
        self.decoded: dict[tuple[int, int, str, int], list[dict[str, Any]]] = {}

    def get(self, f: int, n: int, gen: str, j: int) -> tuple[list[str], list[Any]] | None:
        key = (f, n, gen, j)
        raw = self.raw.get(key)
        if raw is None:
            return None
        if key not in self.decoded:
            self.decoded[key] = loads(raw["sidecars"])
        return raw["ids"], self.decoded[key]


def _sidecar(sp: Space, blocks: _Blocks, f: int, n: int, p: int, key: str) -> Any:
    if p == 0:
        return sp.first[1] if sp.first and sp.first[0] == key else None
    if p < sp.sealed:
        found = blocks.get(f, n, sp.gen, (p - 1) // sp.block)
        if found is not None:
            ids, sidecars = found
            i = (p - 1) % sp.block
            if i < len(ids) and ids[i] == key:
                return sidecars[i]
        return None
    i = p - sp.sealed
    if i < len(sp.tail) and sp.tail[i][0] == key:
        return sp.tail[i][1]
    return None


def _unspill(
    history: list[dict[str, Any]], spills: Sequence[Item], preferred: Sequence[str]
) -> list[dict[str, Any]]:
    """Put back the spilled prefix whose ``next_id`` is the head's entry 1."""
    if len(history) < 2 or not spills:
        return history
    after = entry_key(history[1])
    ends = [s for s in spills if s["next_id"] == after]
    ends.sort(
        key=lambda s: (
            s["gen"] not in preferred,
            preferred.index(s["gen"]) if s["gen"] in preferred else 0,
        )
    )
    for end in ends:
        by_start = {s["a"]: s for s in spills if s["gen"] == end["gen"]}
        chain, a = [], 1
        while a < end["b"] and a in by_start:
            chain.append(by_start[a])
            a = by_start[a]["b"]
        if a == end["b"]:
            moved = [e for s in chain for e in codec.loads(s["entries"])]
            return [history[0], *moved, *history[1:]]
    return history


def rebuild(
    head: dict[str, Any],
    tip: Tip | None,
    blocks: Iterable[Item] = (),
    spills: Iterable[Item] = (),
    bigs: Iterable[Item] = (),
) -> tuple[dict[str, Any], Sidecars]:
    """The whole document (model form) and its sidecars."""
    doc = pdoc.load(strip_system(head))
    index = _Blocks(blocks)
    spill_list, big_list = list(spills), list(bigs)
    sidecars: Sidecars = []
    for f, flow in enumerate(doc.get("flows", [])):
        flow_side: list[list[dict[str, Any]]] = []
        for n, space in enumerate(flow.get("memory", [])):
            key = space_key(f, n)
            sources = [s for s in (tip.spaces.get(key), tip.prev.get(key)) if s] if tip else []
            history = space.get("history", [])
            mine = {b["stub"]: b for b in big_list if (b["f"], b["n"]) == (f, n)}
            if mine:
                history = [
                    codec.loads(mine[d]["entry"]) if (d := stub_digest(e)) in mine else e
                    for e in history
                ]
            own = [s for s in spill_list if (s["f"], s["n"]) == (f, n)]
            history = _unspill(history, own, [s.gen for s in sources])
            space["history"] = history
            side = []
            for p, entry in enumerate(history):
                k = entry_key(entry)
                found = next(
                    (v for sp in sources if (v := _sidecar(sp, index, f, n, p, k)) is not None),
                    None,
                )
                side.append(found if found is not None else {})
            flow_side.append(side)
        sidecars.append(flow_side)
    return doc, sidecars
