"""Exact memoisation of the oracles across the executions of one search.

Many executions of a search end in the same state, and many operations start or
finish in a state an earlier execution already saw: what an oracle computes from a
state is then known.  A ``Memo`` keeps such results under a key that holds
*everything* the computation reads (every word of every table frame, live or freed,
and of every other frame stored into; the live tables' levels; the TLBs), compared
for equality on every hit, never a hash alone: a hit gives exactly the result the
computation would give.  A result that depends on less may also be kept under a
smaller key holding all it reads (the translation: ``walked_key``, the words a walk
from the root reads), which memories that differ elsewhere share.  Only the
computation is skipped; the caller still reports at the same point of the execution.

A memo is bounded: it forgets everything once its keys hold ``limit`` words, so its
memory stays flat however many executions a search runs.  ``ENABLED = False``
(tests only) makes every lookup a miss, to compare results with and without it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from mypy_extensions import mypyc_attr

from pagerace.paging.geometry import PAGE_SHIFT
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import _PAGE_PRESENT, _PAGE_PSE, ADDR_MASK
from pagerace.paging.tlb import TLB

__all__ = ["ENABLED", "MISSING", "Memo", "memory_key", "tlbs_key", "walked_key"]

#: False: every memo misses (for tests that compare results with and without memos)
ENABLED = True

#: what ``Memo.get`` returns for a key it does not hold (results may be None)
MISSING: Any = object()

#: words of keys a memo holds before it forgets everything (about 8 bytes a word,
#: plus the words' int objects when the memory no longer holds them)
DEFAULT_LIMIT = 1 << 20


@mypyc_attr(allow_interpreted_subclasses=True)
class Memo:
    """Results under exact keys; emptied when the keys' ``weight`` reaches ``limit``."""

    __slots__ = ("_items", "_weight", "enabled", "hits", "limit", "misses")

    def __init__(self, limit: int | None = None, *, enabled: bool | None = None) -> None:
        self.limit = DEFAULT_LIMIT if limit is None else limit
        self.enabled = ENABLED if enabled is None else enabled
        self._items: dict[Hashable, Any] = {}
        self._weight = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any:
        """The result kept under ``key``, or ``MISSING``."""
        found = self._items.get(key, MISSING) if self.enabled else MISSING
        if found is MISSING:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        """Keep ``value`` under ``key``; ``weight`` is the key's size in words."""
        if not self.enabled:
            return
        self._weight += weight
        if self._weight > self.limit:
            self._items.clear()
            self._weight = weight
        self._items[key] = value


def memory_key(memory: PhysicalMemory) -> tuple[Any, ...]:
    """Every word a walk from any root can read: the words of every frame that has
    been a table (in frame order) and those stored into other frames.  Two memories
    with equal keys read alike everywhere (levels and generations are not in it)."""
    words = memory.words
    data = memory.data
    return (
        tuple(words),
        tuple(map(tuple, words.values())),
        tuple(sorted((f, tuple(sorted(d.items()))) for f, d in data.items())) if data else (),
    )


#: the first item of every ``walked_key`` (so that none equals a ``memory_key``)
_WALKED = "walked"


def walked_key(memory: PhysicalMemory, root: int) -> tuple[Any, ...]:
    """The words a walk of the tree under ``root`` reads, frame by frame in the order
    it reads them (``dump_state``'s walk: from the L4 root, every present entry of
    levels 4 to 2 that is not a superpage leaf is followed to whatever frame it
    points at; a frame that is no table reads as stored).  Two memories with equal
    keys dump alike from ``root`` however they differ elsewhere."""
    frame_words = memory.frame_words
    out: list[Any] = [_WALKED]

    def walk(frame: int, level: int) -> None:
        read = tuple(frame_words(frame))
        out.append(read)
        if level > 1:
            for entry in read:
                if entry & _PAGE_PRESENT and (level == 4 or not entry & _PAGE_PSE):
                    walk((entry & ADDR_MASK) >> PAGE_SHIFT, level - 1)

    walk(root, 4)
    return tuple(out)


def memory_weight(memory: PhysicalMemory) -> int:
    """The size of ``memory_key(memory)`` in words (for ``Memo.put``)."""
    return len(memory.words) * (memory.entries + 1) + sum(map(len, memory.data.values()))


_EMPTY_TLB: tuple[frozenset[Any], frozenset[Any]] = (frozenset(), frozenset())


def tlbs_key(tlbs: Sequence[TLB]) -> tuple[Any, ...]:
    """The contents of each CPU's TLB and paging-structure cache (in any order)."""
    return tuple(
        [
            (frozenset(t.entries.items()), frozenset(t.psc.items()))
            if t.entries or t.psc
            else _EMPTY_TLB
            for t in tlbs
        ]
    )
