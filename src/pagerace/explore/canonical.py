"""A canonical form of an execution's Mazurkiewicz trace, independent of DPOR.

Two executions are equivalent when one becomes the other by swapping adjacent
independent events, i.e. when they have the same events per thread and order every
pair of dependent events of different threads alike.  The canonical form lists, per
thread, its events as ``(label, footprint, preds)`` where ``preds`` gives, for each
other thread q, the position (1-based, 0 for none) of the last event of q before this
one that is dependent with it.  Since a thread's events are ordered, that number
settles the order of this event against every dependent event of q, so equal forms
mean equivalent executions and vice versa.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from pagerace.explore.events import NOTE, TraceEvent

__all__ = ["canonical_form"]

CanonicalForm = tuple[tuple[tuple[str, object, tuple[tuple[int, int], ...]], ...], ...]


def canonical_form(trace: Iterable[TraceEvent]) -> CanonicalForm:
    """The canonical form of the trace (notes are ignored)."""
    threads: dict[int, list[tuple[str, object, tuple[tuple[int, int], ...]]]] = {}
    # key -> thread -> [position of its last read, position of its last write]
    last: dict[Hashable, dict[int, list[int]]] = {}
    for ev in trace:
        if ev.kind == NOTE:
            continue
        p = ev.thread
        events = threads.setdefault(p, [])
        position = len(events) + 1
        preds: dict[int, int] = {}
        for key, is_write in ev.footprint:
            for q, (read, write) in last.get(key, {}).items():
                if q == p:
                    continue
                latest = max(read, write) if is_write else write
                if latest > preds.get(q, 0):
                    preds[q] = latest
        events.append((ev.label, ev.footprint, tuple(sorted(preds.items()))))
        for key, is_write in ev.footprint:
            slot = last.setdefault(key, {}).setdefault(p, [0, 0])
            slot[1 if is_write else 0] = position
    return tuple(tuple(threads[t]) for t in sorted(threads))
