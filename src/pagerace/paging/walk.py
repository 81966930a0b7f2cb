"""The hardware page walk, and a walk over every entry reachable from a root.

``translate`` is what the MMU does for one address: start at a table (the root L4
by default), read one entry per level with ``memory.read`` and stop at a leaf or at
a fault.  It reads whatever the frames hold: a walk through a freed table or a data
frame reads the words that are there, and deciding what that means is left to the
layers above (the model checker's oracles).

Leaves are hardware leaves: a present L1 entry, or a present L2/L3 entry with PSE.
For a superpage, bit 12 is its PAT bit and the frame is bits shift[level]..51; the
bits between (13..shift[level]-1) are reserved and a walk that meets one set faults
(as the processor's page walk does).  Xen's software view (``pte_pfn``, all of bits 12..51)
is in pte.py; this module is the hardware's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from pagerace.paging.geometry import PAGE_SHIFT, Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import _PAGE_PRESENT, _PAGE_PSE, ADDR_MASK, FLAGS_MASK_64

__all__ = [
    "NOT_PRESENT",
    "RESERVED_BIT",
    "Fault",
    "Translation",
    "WalkStep",
    "WalkedEntry",
    "is_leaf_entry",
    "is_table_entry",
    "reachable_tables",
    "translate",
    "walk_entries",
]

NOT_PRESENT = "not-present"
RESERVED_BIT = "reserved-bit"

_PAT_BIT_SUPERPAGE = 1 << 12


class WalkStep(NamedTuple):
    """One entry read by a walk: the table's level and frame, the entry's offset and value."""

    level: int
    frame: int
    offset: int  # lN_table_offset(va): the index of the entry in the table
    entry: int


class WalkedEntry(NamedTuple):
    """A non-zero entry reachable from the root, with the canonical va it covers."""

    va: int
    level: int
    entry: int


@dataclass(frozen=True, slots=True)
class Translation:
    """A successful walk: ``va`` maps to 4 KiB frame ``mfn`` through a level-``level`` leaf.

    ``flags`` is the leaf entry's flags in the 64-bit layout (``pte & FLAGS_MASK_64``,
    PSE kept for superpages; a superpage's PAT bit 12 is not included).
    """

    mfn: int
    flags: int
    level: int
    path: tuple[WalkStep, ...]

    @property
    def entry(self) -> int | None:
        """The leaf entry (None for a TLB hit, which has no path)."""
        return self.path[-1].entry if self.path else None


@dataclass(frozen=True, slots=True)
class Fault:
    """A page fault at ``level``: ``reason`` is ``NOT_PRESENT`` or ``RESERVED_BIT``."""

    level: int
    reason: str
    path: tuple[WalkStep, ...]


def is_leaf_entry(level: int, entry: int) -> bool:
    """A present L1 entry, or a present L2/L3 entry with PSE."""
    if not entry & _PAGE_PRESENT:
        return False
    return level == 1 or (level in (2, 3) and bool(entry & _PAGE_PSE))


def is_table_entry(level: int, entry: int) -> bool:
    """A present L4 entry, or a present L3/L2 entry without PSE."""
    if not entry & _PAGE_PRESENT:
        return False
    return level == 4 or (level in (2, 3) and not entry & _PAGE_PSE)


def translate(
    memory: PhysicalMemory,
    root_frame: int,
    geometry: Geometry,
    va: int,
    *,
    level: int = 4,
    page1gb: bool = True,
) -> Translation | Fault:
    """Walk ``va`` from the level-``level`` table in ``root_frame`` (the L4 root by default).

    ``page1gb=False`` models a CPU without 1 GiB pages: PSE in an L3 entry is then a
    reserved bit.  PSE in an L4 entry is always reserved.  Raises ``ValueError`` for an
    address that is not canonical for the geometry or a level outside 1..4.
    """
    if isinstance(va, bool) or not isinstance(va, int) or not geometry.is_canonical(va):
        raise ValueError(
            f"virtual address {va!r}: must be canonical for {geometry.entries} entries per table"
        )
    if not 1 <= level <= 4:
        raise ValueError(f"level {level}: a walk starts at a table of level 1..4")
    shift = geometry.shift
    mask = geometry.index_mask
    frame = root_frame
    path: list[WalkStep] = []
    for lvl in range(level, 0, -1):
        index = (va >> shift[lvl]) & mask
        entry = memory.read(frame, index)
        path.append(WalkStep(lvl, frame, index, entry))
        if not entry & _PAGE_PRESENT:
            return Fault(lvl, NOT_PRESENT, tuple(path))
        if lvl == 1:
            return Translation(
                (entry & ADDR_MASK) >> PAGE_SHIFT, entry & FLAGS_MASK_64, 1, tuple(path)
            )
        if entry & _PAGE_PSE:
            if lvl == 4 or (lvl == 3 and not page1gb):
                return Fault(lvl, RESERVED_BIT, tuple(path))
            low = (1 << shift[lvl]) - 1
            if entry & low & ~(_PAT_BIT_SUPERPAGE | 0xFFF):
                return Fault(lvl, RESERVED_BIT, tuple(path))
            base = (entry & ADDR_MASK & ~low) >> PAGE_SHIFT
            mfn = base + ((va & low) >> PAGE_SHIFT)
            return Translation(mfn, entry & FLAGS_MASK_64, lvl, tuple(path))
        frame = (entry & ADDR_MASK) >> PAGE_SHIFT
    raise AssertionError("unreachable: the walk ends at level 1")  # pragma: no cover


def walk_entries(
    memory: PhysicalMemory, root_frame: int, geometry: Geometry
) -> Iterator[WalkedEntry]:
    """Every non-zero entry reachable from the root, in pre-order (ascending va).

    Non-leaf entries (``is_table_entry``) are yielded before the entries of the table
    they point to.  Tables are read with ``memory.read``, whatever the frame is.
    """
    yield from _walk(memory, root_frame, geometry, 4, 0)


def _walk(
    memory: PhysicalMemory, frame: int, geometry: Geometry, level: int, base: int
) -> Iterator[WalkedEntry]:
    span = geometry.span[level]
    for index in range(geometry.entries):
        entry = memory.read(frame, index)
        if not entry:
            continue
        va = base + index * span
        yield WalkedEntry(geometry.canonical(va), level, entry)
        if is_table_entry(level, entry):
            yield from _walk(memory, (entry & ADDR_MASK) >> PAGE_SHIFT, geometry, level - 1, va)


def reachable_tables(memory: PhysicalMemory, root_frame: int, geometry: Geometry) -> dict[int, int]:
    """Frames reached through non-leaf entries (not the root) -> the level they serve as.

    A frame reached twice keeps the level of its first (pre-order) use.
    """
    found: dict[int, int] = {}
    for item in walk_entries(memory, root_frame, geometry):
        if is_table_entry(item.level, item.entry):
            child = (item.entry & ADDR_MASK) >> PAGE_SHIFT
            if child != root_frame:
                found.setdefault(child, item.level - 1)
    return found
