"""The operations a scenario runs: one frozen dataclass per Xen entry point.

Every value is already evaluated to an int.  Flags are kept in the 64-bit PTE layout
as the scenario wrote them; ``xen_flags`` / ``xen_nf`` give Xen's 24-bit flag word
(``get_pte_flags``), the value Xen's callers pass.

``irqs=False`` runs the operation with interrupts disabled (before 4.19 its TLB
flushes are then local: Xen's ``flush_area`` macro); it exists on every op that calls
Xen's mapping code (map and unmap, populate, modify, destroy, lookup), not on
``access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pagerace.paging.pte import INVALID_MFN, get_pte_flags, pte_names

__all__ = [
    "AccessOp",
    "DestroyOp",
    "LookupOp",
    "MapOp",
    "ModifyOp",
    "Op",
    "PopulateOp",
    "flags_text",
]

# Composite names, most preferred first among equal values; PAGE_HYPERVISOR_RW is
# PAGE_HYPERVISOR, which Xen's callers write.
_COMPOSITES = (
    "PAGE_HYPERVISOR",
    "PAGE_HYPERVISOR_RO",
    "PAGE_HYPERVISOR_RX",
    "PAGE_HYPERVISOR_RWX",
    "PAGE_HYPERVISOR_SHSTK",
    "PAGE_HYPERVISOR_UCMINUS",
    "PAGE_HYPERVISOR_UC",
    "__PAGE_HYPERVISOR_RW",
    "__PAGE_HYPERVISOR_RO",
    "__PAGE_HYPERVISOR_RX",
    "__PAGE_HYPERVISOR",
    "__PAGE_HYPERVISOR_SHSTK",
    "__PAGE_HYPERVISOR_UCMINUS",
    "__PAGE_HYPERVISOR_UC",
)
# Single bits, highest first; bit 7 of the flags a caller passes is PAT, bit 9 is
# the MAP_SMALL_PAGES request.
_BITS = (
    "_PAGE_NX",
    "_PAGE_AVAIL2",
    "_PAGE_AVAIL1",
    "MAP_SMALL_PAGES",
    "_PAGE_GLOBAL",
    "_PAGE_PAT",
    "_PAGE_DIRTY",
    "_PAGE_ACCESSED",
    "_PAGE_PCD",
    "_PAGE_PWT",
    "_PAGE_USER",
    "_PAGE_RW",
    "_PAGE_PRESENT",
)
_PTE = pte_names(nx=True)


def flags_text(flags: int) -> str:
    """64-bit-layout flags as names: the largest ``PAGE_HYPERVISOR*`` constant they
    contain, then the other bits by name (highest first), then any unnamed rest in hex.

    ``flags_text(PAGE_HYPERVISOR | _PAGE_PCD | _PAGE_PWT)`` is
    ``"PAGE_HYPERVISOR|_PAGE_PCD|_PAGE_PWT"``; ``flags_text(0)`` is ``"_PAGE_NONE"``.
    """
    if flags == 0:
        return "_PAGE_NONE"
    parts: list[str] = []
    rest = flags
    best = max(
        (n for n in _COMPOSITES if _PTE[n] & flags == _PTE[n]),
        key=lambda n: _PTE[n].bit_count(),
        default=None,
    )
    if best is not None:
        parts.append(best)
        rest &= ~_PTE[best]
    for name in _BITS:
        if rest & _PTE[name]:
            parts.append(name)
            rest &= ~_PTE[name]
    if rest:
        parts.append(f"{rest:#x}")
    return "|".join(parts)


def _irqs(irqs: bool) -> str:
    return "" if irqs else " with irqs off"


@dataclass(frozen=True, slots=True)
class MapOp:
    """``map_pages_to_xen(virt, mfn, nr, flags)``; ``mfn`` may be ``INVALID_MFN``.

    A scenario's ``unmap`` op is this call with ``INVALID_MFN`` and ``_PAGE_NONE``,
    the way today's callers remove mappings."""

    op: ClassVar[str] = "map"
    virt: int
    mfn: int
    nr: int
    flags: int
    irqs: bool = True

    @property
    def xen_flags(self) -> int:
        return get_pte_flags(self.flags)

    def describe(self) -> str:
        mfn = "INVALID_MFN" if self.mfn == INVALID_MFN else f"{self.mfn:#x}"
        return (
            f"map_pages_to_xen({self.virt:#x}, mfn {mfn}, {self.nr}, {flags_text(self.flags)})"
            + _irqs(self.irqs)
        )


@dataclass(frozen=True, slots=True)
class PopulateOp:
    """``populate_pt_range(virt, nr)``."""

    op: ClassVar[str] = "populate"
    virt: int
    nr: int
    irqs: bool = True

    def describe(self) -> str:
        return f"populate_pt_range({self.virt:#x}, {self.nr})" + _irqs(self.irqs)


@dataclass(frozen=True, slots=True)
class ModifyOp:
    """``modify_xen_mappings(s, e, nf)``."""

    op: ClassVar[str] = "modify"
    s: int
    e: int
    nf: int
    irqs: bool = True

    @property
    def xen_nf(self) -> int:
        return get_pte_flags(self.nf)

    def describe(self) -> str:
        nf = flags_text(self.nf)
        return f"modify_xen_mappings({self.s:#x}, {self.e:#x}, {nf})" + _irqs(self.irqs)


@dataclass(frozen=True, slots=True)
class DestroyOp:
    """``destroy_xen_mappings(s, e)``."""

    op: ClassVar[str] = "destroy"
    s: int
    e: int
    irqs: bool = True

    def describe(self) -> str:
        return f"destroy_xen_mappings({self.s:#x}, {self.e:#x})" + _irqs(self.irqs)


@dataclass(frozen=True, slots=True)
class LookupOp:
    """The frame ``virt`` maps to, asked the way the version's callers ask it:
    ``xen_map_to_mfn(virt)`` from 4.19 on, ``vmap_to_mfn(virt)`` (a walk with
    ``virt_to_xen_l1e``) before."""

    op: ClassVar[str] = "lookup"
    virt: int
    irqs: bool = True

    def describe(self) -> str:
        return f"lookup({self.virt:#x})" + _irqs(self.irqs)


@dataclass(frozen=True, slots=True)
class AccessOp:
    """The CPU reads through ``virt``: a hardware walk that fills its TLB."""

    op: ClassVar[str] = "access"
    virt: int

    def describe(self) -> str:
        return f"access({self.virt:#x})"


Op = MapOp | PopulateOp | ModifyOp | DestroyOp | LookupOp | AccessOp
