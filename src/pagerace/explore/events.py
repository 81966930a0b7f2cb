"""Events: what a thread announces, what the trace records, and when two events depend.

A footprint is a small tuple of ``(key, is_write)`` pairs; a key is any hashable value.
Two events of different threads are *dependent* iff they share a key that at least one
of them writes.  Lock acquire and release of lock ``L`` both write the key
``("lock", L)``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

__all__ = [
    "ACQUIRE",
    "EVENT",
    "NOTE",
    "RELEASE",
    "Footprint",
    "Pending",
    "TraceEvent",
    "dependent",
    "footprint_keys",
]

Footprint = tuple[tuple[Hashable, bool], ...]

#: Kinds of trace records (``TraceEvent.kind``).
EVENT = "event"
ACQUIRE = "acquire"
RELEASE = "release"
NOTE = "note"


class Pending(Protocol):
    """A thread's announced event as strategies see it (``pending[t]``): a
    ``TraceEvent``, or the shared descriptor of a cell access."""

    footprint: Footprint
    label: str
    kind: str


class TraceEvent:
    """One record of an execution's trace.

    ``thread`` (0-based), ``index`` (position in the execution's trace, -1 while the
    event is only announced), ``label`` (short step name such as ``"M7.3"``),
    ``footprint``, ``detail`` (a dict or None; the model may set it after performing
    the effect) and ``kind`` (``"event"``, ``"acquire"``, ``"release"`` or ``"note"``;
    notes are not scheduling points and have an empty footprint).
    """

    __slots__ = ("detail", "footprint", "index", "kind", "label", "thread")

    def __init__(
        self,
        thread: int,
        index: int,
        label: str,
        footprint: Footprint,
        detail: dict[str, Any] | None = None,
        kind: str = EVENT,
    ) -> None:
        self.thread = thread
        self.index = index
        self.label = label
        self.footprint = footprint
        self.detail = detail
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        # (explicit: a compiled class is not rebuilt field by field)
        return (
            TraceEvent,
            (self.thread, self.index, self.label, self.footprint, self.detail, self.kind),
        )

    def __repr__(self) -> str:
        extra = f", detail={self.detail!r}" if self.detail else ""
        return (
            f"TraceEvent(thread={self.thread}, index={self.index}, label={self.label!r}, "
            f"kind={self.kind!r}{extra})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (footprint keys as their ``repr``) for reports and JSON."""
        return {
            "thread": self.thread,
            "index": self.index,
            "label": self.label,
            "kind": self.kind,
            "footprint": [[repr(key), is_write] for key, is_write in self.footprint],
            "detail": self.detail,
        }


def dependent(a: Footprint, b: Footprint) -> bool:
    """True iff the footprints share a key that at least one of them writes."""
    if len(a) > _SMALL or len(b) > _SMALL:
        # (a table scan reads hundreds of keys: pairwise would cost their product)
        keys_a, written_a = footprint_keys(a)
        keys_b, written_b = footprint_keys(b)
        return not (written_a.isdisjoint(keys_b) and written_b.isdisjoint(keys_a))
    for key_a, write_a in a:
        for key_b, write_b in b:
            if (write_a or write_b) and key_a == key_b:
                return True
    return False


#: Footprints longer than this are compared through sets of their keys.
_SMALL = 8
#: id(footprint) -> (footprint, its keys, its written keys); the footprint is kept so
#: that its id is not reused while cached.  Footprints are shared descriptors, made
#: once per access site, so few are ever indexed; the cache is emptied when full.
_INDEX: dict[int, tuple[Footprint, frozenset[Hashable], frozenset[Hashable]]] = {}
_INDEX_SIZE = 4096


def footprint_keys(fp: Footprint) -> tuple[frozenset[Hashable], frozenset[Hashable]]:
    """The keys of ``fp`` and those it writes (kept for the footprint object)."""
    entry = _INDEX.get(id(fp))
    if entry is None or entry[0] is not fp:
        if len(_INDEX) >= _INDEX_SIZE:
            _INDEX.clear()
        keys = frozenset(key for key, _ in fp)
        written = frozenset(key for key, is_write in fp if is_write)
        entry = _INDEX[id(fp)] = (fp, keys, written)
    return entry[1], entry[2]
