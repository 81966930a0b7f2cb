"""Whose fault a finding is: the hypervisor's code, or a caller that broke a promise.

Xen's mapping functions promise their callers memory safety whatever they do
concurrently, but they rely on callers for the rest (this is how the XSA-345 fix is
designed): no two CPUs change the same 4 KiB page at once, and ``modify_xen_mappings``
is not asked to set present attributes on a range that is not mapped (its
``ASSERT(!(nf & _PAGE_PRESENT))`` and alignment ``ASSERT``s check that, in debug builds
only).  A finding that follows from such a broken promise is the caller's fault:

* ``lost-update``: the final translation agrees with some serial order on every page
  outside the contested ones (pages that operations of two CPUs both change);
* ``stale-tlb``: every stale entry covers only contested pages;
* an ``ASSERT`` (a ``bug`` finding with ``check`` "ASSERT") in an operation that breaks
  it when its CPU runs alone, or whose range is contested.

Everything else -- use-after-free, double or bad free, wild writes, torn entries,
leaks, deadlocks, ``BUG_ON`` -- is the hypervisor's fault: no caller may provoke it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pagerace.checks.final_state import Translation

__all__ = ["CALLER", "HYPERVISOR", "Preconditions", "restrict"]

CALLER = "caller"
HYPERVISOR = "hypervisor"

Range = tuple[int, int]  # [start, end) in bytes


class Preconditions:
    """Where a scenario breaks its callers' promises.

    ``changes[c][k]`` is the VA range CPU c's k-th operation changes (None for one
    that changes no mapping: a populate or an access); ``alone`` holds the (c, k) whose
    operation fails an ``ASSERT`` when CPU c runs its operations alone after the
    set-up."""

    __slots__ = ("alone", "changes", "contested")

    def __init__(
        self, changes: Sequence[Sequence[Range | None]], alone: Iterable[tuple[int, int]] = ()
    ) -> None:
        self.changes = [list(ops) for ops in changes]
        self.alone = frozenset(alone)
        pieces: list[Range] = []
        for c, mine in enumerate(self.changes):
            for d in range(c + 1, len(self.changes)):
                for a in mine:
                    for b in self.changes[d]:
                        if a is not None and b is not None:
                            lo, hi = max(a[0], b[0]), min(a[1], b[1])
                            if lo < hi:
                                pieces.append((lo, hi))
        #: sorted, disjoint VA ranges that operations of two CPUs both change
        self.contested = _union(pieces)

    def covers(self, start: int, end: int) -> bool:
        """Whether every address of [start, end) is contested."""
        for lo, hi in self.contested:
            if lo <= start < hi:
                if end <= hi:
                    return True
                start = hi
        return False

    def touches(self, start: int, end: int) -> bool:
        """Whether some address of [start, end) is contested."""
        return any(lo < end and start < hi for lo, hi in self.contested)

    def of_assert(self, cpu: int | None, op: int | None) -> str:
        """The fault of an ``ASSERT`` that CPU ``cpu``'s operation ``op`` failed."""
        if cpu is None or op is None or op < 0:
            return HYPERVISOR
        if (cpu, op) in self.alone:
            return CALLER
        changed = self.changes[cpu][op] if op < len(self.changes[cpu]) else None
        return CALLER if changed is not None and self.touches(*changed) else HYPERVISOR

    def of_lost_update(self, now: Translation, acceptable: Iterable[Translation]) -> str:
        """The fault of a final translation that no serial order leaves."""
        if not self.contested:
            return HYPERVISOR
        mine = restrict(now, self.contested)
        if any(restrict(t, self.contested) == mine for t in acceptable):
            return CALLER
        return HYPERVISOR

    def of_stale_entries(self, ranges: Iterable[Range]) -> str:
        """The fault of stale TLB entries covering ``ranges``."""
        return CALLER if all(self.covers(s, e) for s, e in ranges) else HYPERVISOR


def restrict(t: Translation, holes: Sequence[Range]) -> Translation:
    """``t`` without the addresses in ``holes`` (sorted, disjoint): runs are cut at the
    holes' edges.  Two translations that agree outside the holes give equal results,
    as ``t``'s runs are maximal."""
    out = []
    for va, pages, mfn, flags in t:
        end = va + (pages << 12)
        start = va
        for lo, hi in holes:
            if hi <= start or lo >= end:
                continue
            if lo > start:
                out.append((start, (lo - start) >> 12, mfn + ((start - va) >> 12), flags))
            start = max(start, hi)
            if start >= end:
                break
        if start < end:
            out.append((start, (end - start) >> 12, mfn + ((start - va) >> 12), flags))
    return tuple(out)


def _union(ranges: list[Range]) -> tuple[Range, ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)
