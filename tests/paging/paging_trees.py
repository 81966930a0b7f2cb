"""Test helper: page-table trees built by writing entries straight into tables,
with a naive model of what they map (no walker involved)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from pagerace.paging.geometry import PAGE_SHIFT, Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import FLAGS_MASK_64

PRESENT = 0x1
PSE = 0x80
NONLEAF_FLAGS = (0x63, 0x67, 0x8000000000000063, 0x23)
LEAF_FLAGS = (
    0x8000000000000163,  # PAGE_HYPERVISOR
    0x8000000000000363,  # | MAP_SMALL_PAGES
    0x8000000000000121,  # PAGE_HYPERVISOR_RO
    0x121,  # PAGE_HYPERVISOR_RX
    0x800000000000017B,  # PAGE_HYPERVISOR_UC
    0x80000000000001E3,  # PAGE_HYPERVISOR | _PAGE_PAT (PSE at L2/L3)
    0x0000000000000E01,  # present with the software bits 9..11
    0x7FF0000000000001,  # present with high bits 52..62
)
RAW_NONPRESENT = (0xFFFFFFFFFFFFF200, 0x2, 0x8000000000000000, 0x1234000)


@dataclass
class Tree:
    """A tree under construction plus the naive model of its leaves and holes."""

    geometry: Geometry
    memory: PhysicalMemory = field(init=False)
    root: int = field(init=False)
    # (level, base va) -> (first mfn, flags as dumped, entry)
    leaves: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    nonpresent: dict[tuple[int, int], int] = field(default_factory=dict)
    # tables by (level of the table, first va it covers) -> frame
    tables: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.memory = PhysicalMemory(self.geometry)
        root = self.memory.alloc(4)
        assert root is not None
        self.root = root

    def _table_for(self, va: int, level: int, nonleaf_flags: int) -> int | None:
        """The level-``level`` table covering va, creating the path; None if blocked."""
        g = self.geometry
        frame = self.root
        for lvl in range(4, level, -1):
            index = g.table_offset(va, lvl)
            entry = self.memory.read(frame, index)
            base = g.canonical(va & ~(g.span[lvl] - 1))
            if entry == 0:
                child = self.memory.alloc(lvl - 1)
                assert child is not None
                self.memory.write(frame, index, (child << PAGE_SHIFT) | nonleaf_flags)
                self.tables[(lvl - 1, base)] = child
                frame = child
            elif (lvl - 1, base) in self.tables:
                frame = self.tables[(lvl - 1, base)]
            else:
                return None  # a leaf or a non-present entry is in the way
        return frame

    def place(self, va: int, level: int, entry: int, nonleaf_flags: int = 0x63) -> bool:
        """Write ``entry`` as the level-``level`` entry for ``va`` if that slot is free."""
        g = self.geometry
        va = g.canonical(va & ~(g.span[level] - 1))
        frame = self._table_for(va, level, nonleaf_flags)
        if frame is None:
            return False
        index = g.table_offset(va, level)
        if self.memory.read(frame, index) != 0:
            return False
        self.memory.write(frame, index, entry)
        if entry & PRESENT:
            mfn = (entry & 0x000FFFFFFFFFF000) >> PAGE_SHIFT
            if level > 1:
                mfn &= ~(g.pages(level) - 1)
            self.leaves[(level, va)] = (mfn, entry & FLAGS_MASK_64, entry)
        else:
            self.nonpresent[(level, va)] = entry
        return True

    # -- the naive model ------------------------------------------------------------
    def expect(self, va: int) -> tuple[str, int, int, int]:
        """("map", level, mfn, flags) or ("fault", level, 0, 0) for ``va``."""
        g = self.geometry
        for level in (1, 2, 3):
            base = g.canonical(va & ~(g.span[level] - 1))
            if (level, base) in self.leaves:
                mfn, flags, _ = self.leaves[(level, base)]
                return ("map", level, mfn + ((va - base) >> PAGE_SHIFT), flags)
            if (level, base) in self.nonpresent:
                return ("fault", level, 0, 0)
        for level in (1, 2, 3):
            base = g.canonical(va & ~(g.span[level + 1] - 1))
            if (level, base) in self.tables:
                return ("fault", level, 0, 0)
        return ("fault", 4, 0, 0)


@st.composite
def trees(draw: st.DrawFn, entries: int, max_items: int = 16) -> Tree:
    """Random trees of 4K, 2M and 1G leaves and non-present entries at ``entries``."""
    g = Geometry(entries)
    tree = Tree(g)
    if entries == 512:
        slots = st.sampled_from([0, 1, 255, 256, 261, 262, 511])
        idx = st.one_of(st.sampled_from([0, 1, 510, 511]), st.integers(0, 511))
    else:
        slots = st.integers(0, entries - 1)
        idx = st.integers(0, entries - 1)
    for _ in range(draw(st.integers(0, max_items))):
        level = draw(st.sampled_from([1, 1, 2, 2, 3]))
        parts = [draw(slots), draw(idx), draw(idx), draw(idx)]
        va = g.va_of(*parts)
        nonleaf = draw(st.sampled_from(NONLEAF_FLAGS))
        if draw(st.integers(0, 9)) == 0:
            tree.place(va, level, draw(st.sampled_from(RAW_NONPRESENT)), nonleaf)
            continue
        flags = draw(st.sampled_from(LEAF_FLAGS))
        pages = g.pages(level)
        mfn = draw(st.integers(0, (1 << 20) - 1)) * pages
        if level == 1:
            entry = (mfn << PAGE_SHIFT) | flags
        else:
            entry = (mfn << PAGE_SHIFT) | flags | PSE
            if draw(st.booleans()):
                entry |= 1 << 12  # the superpage's PAT bit
        tree.place(va, level, entry, nonleaf)
    return tree
