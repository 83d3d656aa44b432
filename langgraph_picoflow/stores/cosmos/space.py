"""Where one namespace's history lives when it does not all fit in the head item.

For each ``flows[f].memory[n]`` (a *space*, keyed ``"f.n"``) the store keeps:

* the head item: entry 0 (the system prompt) and every entry after the *spilled* prefix;
  an entry of :attr:`CosmosLimits.entry_bytes` or more appears there as a *stub* (large
  fields emptied) while the whole entry is a ``big`` log item;
* ``spill`` log items holding the prefix ``[1, 1 + spill)`` that was moved out when the
  head grew too large; each records ``next_id``, the key of the entry that followed it,
  which is how a reader checks that a head still continues that prefix;
* the sidecars: position 0 and the open *tail* in the tip item, the rest sealed in
  immutable ``block`` items of :attr:`CosmosLimits.sidecar_block` entries.

``gen`` changes whenever a space is rebuilt (a history replaced, a head adopted), so
items of an older layout are never mistaken for current ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langgraph_picoflow import codec
from langgraph_picoflow import document as pdoc
from langgraph_picoflow.stores.cosmos.ids import content_digest, log_id
from langgraph_picoflow.stores.cosmos.items import Item, size_of

#: Fields of an entry larger than this are emptied in its stub.
_STUB_FIELD_BYTES = 1024


def plain(value: Any) -> Any:
    """``value`` in the plain spelling Cosmos DB stores (ISO date strings)."""
    return pdoc.dump({"v": value}, "plain")["v"]


def _normal(value: Any) -> Any:
    """What a value reads back as from Cosmos DB: integral floats come back as integers."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def loads(text: str) -> Any:
    """``codec.loads``, skipping its date walk for text that holds no date."""
    return codec.loads(text) if '"$date"' in text else json.loads(text)


def space_key(f: int, n: int) -> str:
    """Key of a space in the tip: ``"f.n"``."""
    return f"{f}.{n}"


def entry_key(entry: dict[str, Any]) -> str:
    """How an entry is recognised: its message id, else a digest of its content."""
    ident = entry.get("id")
    if isinstance(ident, str) and ident:
        return ident
    return "#" + content_digest(codec.dumps(_normal(entry)))


def stub(entry: dict[str, Any]) -> dict[str, Any]:
    """The head's stand-in for a large entry: same keys, large values emptied."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in ("type", "id") and size_of(codec.to_jsonable(value)) > _STUB_FIELD_BYTES:
            value = type(value)() if isinstance(value, (str, list, dict)) else None
        out[key] = value
    return out


def stub_digest(head_entry: dict[str, Any]) -> str:
    """Digest of an entry as it appears in the head (how a stub is recognised).

    Taken over the value as it reads back (integral floats as integers), so the digest
    computed when writing equals the one computed on the stored copy.
    """
    return content_digest(codec.dumps(_normal(head_entry)))


@dataclass
class Space:
    """The layout of one namespace history (see the module docstring)."""

    gen: str
    #: Sidecars per sealed block (fixed when the space is built).
    block: int = 8
    length: int = 0
    #: ``(entry key, sidecar)`` of position 0.
    first: tuple[str, dict[str, Any]] | None = None
    #: Positions ``[1, sealed)`` have their sidecars in blocks.
    sealed: int = 1
    #: ``(entry key, sidecar)`` of positions ``[sealed, length)``.
    tail: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Positions ``[1, 1 + spill)`` are in spill items (listed as ``[id, a, b]``).
    spill: int = 0
    spills: list[tuple[str, int, int]] = field(default_factory=list)
    #: Entry key -> id of the ``big`` item of each entry stubbed in the head.
    stubs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form (sidecars as exact JSON text)."""
        return {
            "gen": self.gen,
            "block": self.block,
            "length": self.length,
            "first": [self.first[0], codec.dumps(self.first[1])] if self.first else None,
            "sealed": self.sealed,
            "tail": [[k, codec.dumps(s)] for k, s in self.tail],
            "spill": self.spill,
            "spills": [list(s) for s in self.spills],
            "stubs": dict(self.stubs),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Space:
        """Inverse of :meth:`to_json`."""
        first = data.get("first")
        return cls(
            gen=data["gen"],
            block=int(data.get("block", 8)),
            length=int(data["length"]),
            first=(first[0], loads(first[1])) if first else None,
            sealed=int(data["sealed"]),
            tail=[(k, loads(s)) for k, s in data.get("tail", [])],
            spill=int(data.get("spill", 0)),
            spills=[(s[0], int(s[1]), int(s[2])) for s in data.get("spills", [])],
            stubs=dict(data.get("stubs", {})),
        )

    def copy(self) -> Space:
        """A copy that can be changed without touching this one."""
        return Space.from_json(self.to_json())


def block_id(f: int, n: int, gen: str, j: int) -> str:
    """Id of sidecar block ``j`` of a space."""
    return log_id("s", f, n, gen, j)


def block_item(thread_id: str, f: int, n: int, gen: str, j: int, rows: list[Any]) -> Item:
    """A sealed block: the sidecars of positions ``[1 + j*B, 1 + (j+1)*B)``."""
    return {
        "id": block_id(f, n, gen, j),
        "thread_id": thread_id,
        "kind": "block",
        "f": f,
        "n": n,
        "gen": gen,
        "j": j,
        "ids": [k for k, _ in rows],
        "sidecars": codec.dumps([s for _, s in rows]),
    }


def spill_item(
    thread_id: str, f: int, n: int, gen: str, a: int, entries: list[dict[str, Any]], next_id: str
) -> Item:
    """Spilled entries ``[a, a + len(entries))``, followed in the history by ``next_id``."""
    return {
        "id": log_id("h", f, n, gen, a),
        "thread_id": thread_id,
        "kind": "spill",
        "f": f,
        "n": n,
        "gen": gen,
        "a": a,
        "b": a + len(entries),
        "next_id": next_id,
        "entries": codec.dumps(entries),
    }


def big_item(thread_id: str, f: int, n: int, gen: str, entry: dict[str, Any]) -> Item:
    """A large entry whose head copy is :func:`stub` of it."""
    text = codec.dumps(entry)
    return {
        "id": log_id("e", f, n, gen, content_digest(text)),
        "thread_id": thread_id,
        "kind": "big",
        "f": f,
        "n": n,
        "gen": gen,
        "stub": stub_digest(stub(entry)),
        "entry": text,
    }
