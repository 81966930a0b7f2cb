"""Paging geometry: 4-level x86-64 paging with a configurable table size.

Real x86-64 has 512 entries per table.  Small-scope models shrink every table to
``entries`` (a power of two from 4 to 512) so that a whole L2 fits in a handful of
entries and the model checker can explore complete scenarios; shifts, spans and
counts follow (``PAGE_SHIFT`` stays 12).  Canonical sign extension exists only at
512 entries (48-bit virtual addresses).
"""

from __future__ import annotations

from functools import cached_property

__all__ = ["LEVELS", "PAGE_SHIFT", "PAGE_SIZE", "Geometry"]

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
LEVELS = 4
MASK64 = (1 << 64) - 1

# Xen's PML4 slots (config.h): the directmap starts at slot 262 and the hypervisor
# area ends at slot 272.  Smaller geometries scale the slot numbers down.
_DIRECTMAP_SLOT_512 = 262
_HYPERVISOR_END_SLOT_512 = 272


class Geometry:
    """Shifts, spans, indices and special addresses for one table size."""

    def __init__(self, entries: int = 512) -> None:
        if isinstance(entries, bool) or not isinstance(entries, int):
            raise ValueError(f"entries={entries!r}: must be an integer power of two from 4 to 512")
        if entries < 4 or entries > 512 or entries & (entries - 1):
            raise ValueError(f"entries={entries}: must be a power of two from 4 to 512")
        self.entries = entries
        self.bits = entries.bit_length() - 1
        self.index_mask = entries - 1
        # shift[level] for level 1..4 (index 0 unused)
        self.shift = (0, *(PAGE_SHIFT + self.bits * (lvl - 1) for lvl in range(1, LEVELS + 1)))
        self.span = tuple(1 << s if s else 0 for s in self.shift)
        self.l2_pages = 1 << self.bits
        self.l3_pages = 1 << (2 * self.bits)
        self.va_bits = PAGE_SHIFT + LEVELS * self.bits

    def __repr__(self) -> str:
        return f"Geometry(entries={self.entries})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Geometry) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    # -- spans and counts -------------------------------------------------
    def pages(self, level: int) -> int:
        """4 KiB pages covered by one entry of ``level``."""
        self._check_level(level)
        return 1 << (self.shift[level] - PAGE_SHIFT)

    def table_offset(self, va: int, level: int) -> int:
        """Xen's ``lN_table_offset(va)``."""
        return (va >> self.shift[level]) & self.index_mask

    # -- canonical addresses ----------------------------------------------
    def canonical(self, va: int) -> int:
        """Sign-extend ``va`` at 512 entries; at smaller geometries mask to va_bits."""
        va &= (1 << self.va_bits) - 1
        if self.entries == 512 and va >> (self.va_bits - 1):
            va |= MASK64 ^ ((1 << self.va_bits) - 1)
        return va

    def is_canonical(self, va: int) -> bool:
        return 0 <= va <= MASK64 and self.canonical(va) == va

    def va_of(self, l4: int, l3: int = 0, l2: int = 0, l1: int = 0, offset: int = 0) -> int:
        """The canonical address of the given table indices."""
        for name, idx in (("l4", l4), ("l3", l3), ("l2", l2), ("l1", l1)):
            if not 0 <= idx < self.entries:
                raise ValueError(f"{name} index {idx}: must be in 0..{self.entries - 1}")
        if not 0 <= offset < PAGE_SIZE:
            raise ValueError(f"offset {offset}: must be in 0..{PAGE_SIZE - 1}")
        va = (
            (l4 << self.shift[4])
            | (l3 << self.shift[3])
            | (l2 << self.shift[2])
            | (l1 << self.shift[1])
            | offset
        )
        return self.canonical(va)

    def check_va(self, va: int, what: str = "virtual address") -> int:
        """Validate a user-given address: in range, canonical and page-aligned."""
        if isinstance(va, bool) or not isinstance(va, int):
            raise ValueError(f"{what} {va!r}: must be an integer")
        if va < 0 or va > MASK64:
            raise ValueError(f"{what} {va:#x}: must be a 64-bit unsigned value")
        if not self.is_canonical(va):
            raise ValueError(
                f"{what} {va:#x}: not canonical for {self.entries} entries per table"
                f" ({self.va_bits}-bit addresses)"
            )
        if va & (PAGE_SIZE - 1):
            raise ValueError(f"{what} {va:#x}: must be 4 KiB aligned")
        return va

    # -- Xen's special areas ----------------------------------------------
    @cached_property
    def directmap_slot(self) -> int:
        return _DIRECTMAP_SLOT_512 * self.entries // 512

    @cached_property
    def directmap(self) -> int:
        """DIRECTMAP_VIRT_START: first address of the directmap's L4 slot."""
        return self.va_of(self.directmap_slot)

    @cached_property
    def hypervisor_virt_end(self) -> int:
        """HYPERVISOR_VIRT_END: end of the FLUSH_VA_VALID window (slot 272 at 512)."""
        slots = max(1, (_HYPERVISOR_END_SLOT_512 - _DIRECTMAP_SLOT_512) * self.entries // 512)
        end_slot = self.directmap_slot + slots
        if end_slot >= self.entries:
            return MASK64 + 1 if self.entries == 512 else 1 << self.va_bits
        return self.va_of(end_slot)

    def _check_level(self, level: int) -> None:
        if not 1 <= level <= LEVELS:
            raise ValueError(f"level {level}: must be 1..{LEVELS}")
