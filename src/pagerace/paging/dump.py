"""The canonical state dump of tests/conformance/README.md, in both directions.

``dump_state`` walks a page-table tree from its root (all L4 slots, then L3, L2, L1,
in pre-order) and returns the maximal-run encoding of

* ``leaves``: ``[va, level, mfn, flags, count]`` for present L1 entries and present
  L2/L3 entries with PSE;
* ``tables``: ``[va, level, flags, count]`` for present L4 entries and present L3/L2
  entries without PSE (the child frame is left out: it depends on the allocator);
* ``nonpresent``: ``[va, level, raw, count]`` for non-zero entries with bit 0 clear;

with ``mfn = (pte & ADDR_MASK) >> 12`` (Xen's ``lNe_get_pfn``), ``flags = pte &
FLAGS_MASK_64`` and ``va`` canonical.  Element k of a run is the first element with
``va + k*size(level)`` (and ``mfn + k*size(level)/4096``); a run is extended exactly
when the next element has the same level and flags/raw and the formula's values.

Runs are built while walking, never by expanding and re-encoding.  An L1 table is
first tested in bulk for the common cases "512 consecutive leaves" and "512
identical non-present entries", an L2 or L3 table for "512 consecutive superpage
leaves"; only mixed tables fall back to a per-entry loop.
The first test reads the table as one integer (``array('Q')``, 64 bits
a lane) and compares it with ``first * ONES + STEPS``: the lanes of ``ONES`` are 1 and
those of ``STEPS`` are k * 4096, so it equals the table exactly when entry k is
``first + k * 4096`` (no lane carries, as the frame number is checked not to spill
out of the address field).  This avoids making 512 big Python ints per table.

``expand_*`` and ``encode_*`` convert between runs and element lists; flushes use
``[va, flush_flags, count]`` with stride ``0x1000 << (order - 1)`` (order = the low
byte of the flags, stride 0 when it is 0).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat

from pagerace.paging.geometry import PAGE_SHIFT, Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import ADDR_MASK, FLAGS_MASK_64

__all__ = [
    "StateDump",
    "dump_state",
    "encode_flushes",
    "encode_leaves",
    "encode_nonpresent",
    "encode_tables",
    "expand_flushes",
    "expand_leaves",
    "expand_nonpresent",
    "expand_tables",
    "flush_stride",
]

_PRESENT = 0x1
_BYTEORDER = sys.byteorder  # array("Q") lanes are native-endian
_PSE = 0x80
_GEOMETRY_512 = Geometry(512)


@dataclass(frozen=True, slots=True)
class StateDump:
    """One page-table state, as the conformance vectors publish it."""

    leaves: list[list[int]]
    tables: list[list[int]]
    nonpresent: list[list[int]]
    live_pt: int  # page-table frames reachable from the root, not counting the root

    def as_dict(self) -> dict[str, object]:
        return {
            "leaves": self.leaves,
            "tables": self.tables,
            "nonpresent": self.nonpresent,
            "live_pt": self.live_pt,
        }


@cache
def _lane_constants(entries: int, shift: int = PAGE_SHIFT) -> tuple[int, int]:
    """(ONES, STEPS) for a table of ``entries`` 64-bit lanes (see the module doc);
    lane k of STEPS is ``k << shift`` (4 KiB frames in an L1, superpages above)."""
    ones = int.from_bytes(array("Q", [1] * entries).tobytes(), _BYTEORDER)
    steps = int.from_bytes(array("Q", range(0, entries << shift, 1 << shift)).tobytes(), _BYTEORDER)
    return ones, steps


class _Dumper:
    """Builds the three run lists during one walk (mutable; frozen into a StateDump)."""

    __slots__ = (
        "entries",
        "leaf_flags",
        "leaf_level",
        "leaf_mfn",
        "leaf_run",
        "leaf_va",
        "leaves",
        "memory",
        "nonpresent",
        "np_level",
        "np_raw",
        "np_run",
        "np_va",
        "ones",
        "pages",
        "root",
        "sign",
        "span",
        "steps",
        "table_flags",
        "table_frames",
        "table_level",
        "table_run",
        "table_va",
        "tables",
    )

    def __init__(self, memory: PhysicalMemory, root: int, geometry: Geometry) -> None:
        self.memory = memory
        self.root = root
        self.entries = geometry.entries
        self.span = geometry.span
        self.pages = tuple(s >> PAGE_SHIFT for s in geometry.span)
        # canonical(va) = va | sign for the upper half at 512 entries, else va
        self.sign = ((1 << 64) - (1 << geometry.va_bits)) if geometry.entries == 512 else 0
        self.ones, self.steps = _lane_constants(geometry.entries)
        self.leaves: list[list[int]] = []
        self.tables: list[list[int]] = []
        self.nonpresent: list[list[int]] = []
        self.table_frames: set[int] = set()
        # open runs: the run list and the next element it would accept
        self.leaf_run: list[int] = []
        self.leaf_va = self.leaf_mfn = self.leaf_level = self.leaf_flags = -1
        self.table_run: list[int] = []
        self.table_va = self.table_level = self.table_flags = -1
        self.np_run: list[int] = []
        self.np_va = self.np_level = self.np_raw = -1

    def canon(self, va: int) -> int:
        sign = self.sign
        if sign and va >> 47:
            return va | sign
        return va

    # -- run builders ---------------------------------------------------------
    def leaf(self, va: int, level: int, mfn: int, flags: int, count: int) -> None:
        if (
            va == self.leaf_va
            and mfn == self.leaf_mfn
            and level == self.leaf_level
            and flags == self.leaf_flags
        ):
            self.leaf_run[4] += count
        else:
            self.leaf_run = [va, level, mfn, flags, count]
            self.leaves.append(self.leaf_run)
            self.leaf_level = level
            self.leaf_flags = flags
        self.leaf_va = va + count * self.span[level]
        self.leaf_mfn = mfn + count * self.pages[level]

    def table(self, va: int, level: int, flags: int) -> None:
        if va == self.table_va and level == self.table_level and flags == self.table_flags:
            self.table_run[3] += 1
        else:
            self.table_run = [va, level, flags, 1]
            self.tables.append(self.table_run)
            self.table_level = level
            self.table_flags = flags
        self.table_va = va + self.span[level]

    def nonpresent_entry(self, va: int, level: int, raw: int, count: int) -> None:
        if va == self.np_va and level == self.np_level and raw == self.np_raw:
            self.np_run[3] += count
        else:
            self.np_run = [va, level, raw, count]
            self.nonpresent.append(self.np_run)
            self.np_level = level
            self.np_raw = raw
        self.np_va = va + count * self.span[level]

    # -- the walk ---------------------------------------------------------------
    def walk(self, frame: int, level: int, base: int) -> None:
        """Pre-order walk of a level-``level`` table whose first entry covers ``base``."""
        words = self.memory.frame_words(frame)
        span = self.span[level]
        first = words[0]
        if level < 4 and first & _PRESENT and first & _PSE:
            # all superpage leaves with one flag word and consecutive frames?
            addr = first & ADDR_MASK
            n = self.entries
            if addr + (n - 1) * span <= ADDR_MASK and self.contiguous(words, first, span):
                self.leaf(self.canon(base), level, addr >> PAGE_SHIFT, first & FLAGS_MASK_64, n)
                return
        # a run of leaves continues while each entry is the previous one + span
        pending = 0
        expect = run_va = run_mfn = run_flags = -1
        for index, entry in enumerate(words):
            if entry == expect:
                pending += 1
                expect += span
                continue
            if pending:
                self.leaf(run_va, level, run_mfn, run_flags, pending)
                pending = 0
                expect = -1
            if not entry:
                continue
            va = self.canon(base + index * span)
            if not entry & _PRESENT:
                self.nonpresent_entry(va, level, entry, 1)
            elif level == 4 or not entry & _PSE:
                self.table(va, level, entry & FLAGS_MASK_64)
                child = (entry & ADDR_MASK) >> PAGE_SHIFT
                if child != self.root:
                    self.table_frames.add(child)
                if level == 2:
                    self.walk_l1(child, base + index * span)
                else:
                    self.walk(child, level - 1, base + index * span)
            else:
                addr = entry & ADDR_MASK
                run_va, run_mfn, run_flags = va, addr >> PAGE_SHIFT, entry & FLAGS_MASK_64
                pending = 1
                expect = entry + span if addr + span <= ADDR_MASK else -1
        if pending:
            self.leaf(run_va, level, run_mfn, run_flags, pending)

    def contiguous(self, words: list[int], first: int, span: int = 1 << PAGE_SHIFT) -> bool:
        """Entry k is ``first + k * span`` for every k (one big-integer comparison)."""
        try:
            lanes = array("Q", words)
        except OverflowError:  # a word outside 0..2**64-1: let the loop report it as is
            return False
        if span == 1 << PAGE_SHIFT:
            ones, steps = self.ones, self.steps
        else:
            ones, steps = _lane_constants(self.entries, span.bit_length() - 1)
        return int.from_bytes(lanes.tobytes(), _BYTEORDER) == first * ones + steps

    def walk_l1(self, frame: int, base: int) -> None:
        words = self.memory.frame_words(frame)
        n = self.entries
        first = words[0]
        if first & _PRESENT:
            # all present leaves with one flag word and consecutive frames?
            addr = first & ADDR_MASK
            if addr + ((n - 1) << PAGE_SHIFT) <= ADDR_MASK and self.contiguous(words, first):
                self.leaf(self.canon(base), 1, addr >> PAGE_SHIFT, first & FLAGS_MASK_64, n)
                return
        elif words.count(first) == n:
            if first:
                self.nonpresent_entry(self.canon(base), 1, first, n)
            return
        va0 = self.canon(base)
        for index, entry in enumerate(words):
            if not entry:
                continue
            va = va0 + (index << PAGE_SHIFT)
            if entry & _PRESENT:
                self.leaf(va, 1, (entry & ADDR_MASK) >> PAGE_SHIFT, entry & FLAGS_MASK_64, 1)
            else:
                self.nonpresent_entry(va, 1, entry, 1)


def dump_state(memory: PhysicalMemory, root_frame: int, geometry: Geometry) -> StateDump:
    """The canonical dump of the tree under ``root_frame`` (an L4 table).

    Non-leaf entries are followed to ``pte_pfn(entry)`` whatever that frame is (a
    freed table reads its old words, a data frame what was stored into it).
    ``live_pt`` counts the distinct frames reached through non-leaf entries, except
    the root itself.
    """
    dumper = _Dumper(memory, root_frame, geometry)
    dumper.walk(root_frame, 4, 0)
    return StateDump(dumper.leaves, dumper.tables, dumper.nonpresent, len(dumper.table_frames))


# -- runs <-> elements ----------------------------------------------------------
def expand_leaves(
    runs: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, mfn, flags, count]`` runs -> ``[va, level, mfn, flags]`` elements."""
    out: list[list[int]] = []
    for va, level, mfn, flags, count in runs:
        span = geometry.span[level]
        pages = span >> PAGE_SHIFT
        out.extend(
            map(
                list,
                zip(
                    range(va, va + count * span, span),
                    repeat(level, count),
                    range(mfn, mfn + count * pages, pages),
                    repeat(flags, count),
                ),
            )
        )
    return out


def expand_tables(
    runs: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, flags, count]`` runs -> ``[va, level, flags]`` elements."""
    out: list[list[int]] = []
    for va, level, flags, count in runs:
        span = geometry.span[level]
        out.extend(
            map(list, zip(range(va, va + count * span, span), repeat(level), repeat(flags, count)))
        )
    return out


def expand_nonpresent(
    runs: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, raw, count]`` runs -> ``[va, level, raw]`` elements."""
    return expand_tables(runs, geometry)


def flush_stride(flags: int) -> int:
    """Distance between consecutive flushes of one run: 4 KiB << (order - 1), or 0."""
    order = flags & 0xFF
    return 0x1000 << (order - 1) if order else 0


def expand_flushes(runs: Iterable[Sequence[int]]) -> list[list[int]]:
    """``[va, flush_flags, count]`` runs -> ``[va, flush_flags]`` calls."""
    out: list[list[int]] = []
    for va, flags, count in runs:
        stride = flush_stride(flags)
        if stride:
            out.extend(map(list, zip(range(va, va + count * stride, stride), repeat(flags))))
        else:
            out.extend([va, flags] for _ in range(count))
    return out


def encode_leaves(
    elements: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, mfn, flags]`` elements (in order) -> maximal runs."""
    runs: list[list[int]] = []
    run: list[int] = []
    next_va = next_mfn = -1
    for va, level, mfn, flags in elements:
        if run and va == next_va and mfn == next_mfn and level == run[1] and flags == run[3]:
            run[4] += 1
        else:
            run = [va, level, mfn, flags, 1]
            runs.append(run)
        next_va = va + geometry.span[level]
        next_mfn = mfn + (geometry.span[level] >> PAGE_SHIFT)
    return runs


def encode_tables(
    elements: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, flags]`` elements (in order) -> maximal ``[va, level, flags, count]`` runs."""
    runs: list[list[int]] = []
    run: list[int] = []
    next_va = -1
    for va, level, value in elements:
        if run and va == next_va and level == run[1] and value == run[2]:
            run[3] += 1
        else:
            run = [va, level, value, 1]
            runs.append(run)
        next_va = va + geometry.span[level]
    return runs


def encode_nonpresent(
    elements: Iterable[Sequence[int]], geometry: Geometry = _GEOMETRY_512
) -> list[list[int]]:
    """``[va, level, raw]`` elements (in order) -> maximal ``[va, level, raw, count]`` runs."""
    return encode_tables(elements, geometry)


def encode_flushes(calls: Iterable[Sequence[int]]) -> list[list[int]]:
    """``(va, flush_flags)`` calls in call order -> maximal ``[va, flush_flags, count]`` runs."""
    runs: list[list[int]] = []
    run: list[int] = []
    next_va = -1
    for va, flags in calls:
        if run and va == next_va and flags == run[1]:
            run[2] += 1
        else:
            run = [va, flags, 1]
            runs.append(run)
        next_va = va + flush_stride(flags)
    return runs
