"""Xen's x86-64 page-table entry layout (asm-x86/page.h, x86_64/page.h).

Two representations of flags, exactly as in Xen:

* the **64-bit PTE layout**: the bits as they sit in an entry (NX is bit 63);
* Xen's **24-bit flag word** (``unsigned int flags``): PTE bits 0..11 stay, PTE bits
  52..63 move down to bits 12..23 (``get_pte_flags`` / ``put_pte_flags``).

The ``_PAGE_*`` and ``PAGE_HYPERVISOR*`` names below are flag words, the values the
Xen functions receive; ``pte_names()`` gives the same names in the 64-bit layout, as
scenario files and the conformance vectors write them.
"""

from __future__ import annotations

__all__ = [
    "ADDR_MASK",
    "FLAGS_MASK_64",
    "INVALID_MFN",
    "MAP_SMALL_PAGES",
    "MASK64",
    "PAGE_CACHE_ATTRS",
    "PAGE_HYPERVISOR",
    "PAGE_HYPERVISOR_RO",
    "PAGE_HYPERVISOR_RW",
    "PAGE_HYPERVISOR_RWX",
    "PAGE_HYPERVISOR_RX",
    "PAGE_HYPERVISOR_SHSTK",
    "PAGE_HYPERVISOR_UC",
    "PAGE_HYPERVISOR_UCMINUS",
    "_PAGE_ACCESSED",
    "_PAGE_AVAIL0",
    "_PAGE_AVAIL1",
    "_PAGE_AVAIL2",
    "_PAGE_DIRTY",
    "_PAGE_GLOBAL",
    "_PAGE_NONE",
    "_PAGE_NX",
    "_PAGE_NX_BIT",
    "_PAGE_PAT",
    "_PAGE_PCD",
    "_PAGE_PRESENT",
    "_PAGE_PSE",
    "_PAGE_PSE_PAT",
    "_PAGE_PWT",
    "_PAGE_RW",
    "_PAGE_USER",
    "__PAGE_HYPERVISOR",
    "describe_flags",
    "describe_pte",
    "flag_word_names",
    "get_pte_flags",
    "hypervisor_flags",
    "l1f_to_lNf",
    "lNf_to_l1f",
    "mk_pte",
    "pte_flags",
    "pte_names",
    "pte_pfn",
    "put_pte_flags",
]

MASK64 = (1 << 64) - 1
ADDR_MASK = 0x000F_FFFF_FFFF_F000  # bits 12..51 (PADDR_BITS = 52)
FLAGS_MASK_64 = 0xFFF0_0000_0000_0FFF  # an entry with its address bits removed
INVALID_MFN = MASK64

# -- flag word bits (page.h) --------------------------------------------------
_PAGE_NONE = 0x000
_PAGE_PRESENT = 0x001
_PAGE_RW = 0x002
_PAGE_USER = 0x004
_PAGE_PWT = 0x008
_PAGE_PCD = 0x010
_PAGE_ACCESSED = 0x020
_PAGE_DIRTY = 0x040
_PAGE_PSE = 0x080  # page size, in L2/L3 entries
_PAGE_PAT = 0x080  # PAT, in L1 entries: the same bit as PSE
_PAGE_GLOBAL = 0x100
_PAGE_AVAIL0 = 0x200
_PAGE_AVAIL1 = 0x400
_PAGE_AVAIL2 = 0x800
_PAGE_PSE_PAT = 0x1000  # PAT of a superpage: PTE bit 12, inside the address field
_PAGE_NX_BIT = 1 << 23  # PTE bit 63
_PAGE_NX = _PAGE_NX_BIT  # cpu_has_nx; hypervisor_flags(nx=False) for the other case

MAP_SMALL_PAGES = _PAGE_AVAIL0
PAGE_CACHE_ATTRS = _PAGE_PAT | _PAGE_PCD | _PAGE_PWT

__PAGE_HYPERVISOR = 0x063  # every non-leaf entry Xen writes: P|RW|A|D


def hypervisor_flags(nx: bool = True) -> dict[str, int]:
    """The ``PAGE_HYPERVISOR*`` flag words (page.h:359-369), with or without NX."""
    nxb = _PAGE_NX_BIT if nx else 0
    base = {
        "__PAGE_HYPERVISOR_RO": 0x021 | nxb,
        "__PAGE_HYPERVISOR_RW": 0x063 | nxb,
        "__PAGE_HYPERVISOR_RX": 0x021,
        "__PAGE_HYPERVISOR": 0x063,
        "__PAGE_HYPERVISOR_UCMINUS": 0x073,
        "__PAGE_HYPERVISOR_UC": 0x07B,
        "__PAGE_HYPERVISOR_SHSTK": 0x061 | nxb,
    }
    g = _PAGE_GLOBAL
    return {
        **base,
        "PAGE_HYPERVISOR_RO": base["__PAGE_HYPERVISOR_RO"] | g,
        "PAGE_HYPERVISOR_RW": base["__PAGE_HYPERVISOR_RW"] | g,
        "PAGE_HYPERVISOR": base["__PAGE_HYPERVISOR_RW"] | g,
        "PAGE_HYPERVISOR_RX": base["__PAGE_HYPERVISOR_RX"] | g,
        "PAGE_HYPERVISOR_RWX": base["__PAGE_HYPERVISOR"] | g,
        "PAGE_HYPERVISOR_SHSTK": base["__PAGE_HYPERVISOR_SHSTK"] | g,
        "PAGE_HYPERVISOR_UCMINUS": base["__PAGE_HYPERVISOR_UCMINUS"] | g | nxb,
        "PAGE_HYPERVISOR_UC": base["__PAGE_HYPERVISOR_UC"] | g | nxb,
    }


_HV = hypervisor_flags(nx=True)
PAGE_HYPERVISOR_RO = _HV["PAGE_HYPERVISOR_RO"]
PAGE_HYPERVISOR_RW = _HV["PAGE_HYPERVISOR_RW"]
PAGE_HYPERVISOR = _HV["PAGE_HYPERVISOR"]
PAGE_HYPERVISOR_RX = _HV["PAGE_HYPERVISOR_RX"]
PAGE_HYPERVISOR_RWX = _HV["PAGE_HYPERVISOR_RWX"]
PAGE_HYPERVISOR_SHSTK = _HV["PAGE_HYPERVISOR_SHSTK"]
PAGE_HYPERVISOR_UCMINUS = _HV["PAGE_HYPERVISOR_UCMINUS"]
PAGE_HYPERVISOR_UC = _HV["PAGE_HYPERVISOR_UC"]


# -- conversions (x86_64/page.h:120-160) --------------------------------------
def get_pte_flags(pte: int) -> int:
    """64-bit entry (or flags) -> Xen's 24-bit flag word."""
    return ((pte >> 40) & 0xFFF000) | (pte & 0xFFF)


def put_pte_flags(flags: int) -> int:
    """24-bit flag word -> the flag bits of a 64-bit entry."""
    return (((flags & 0xFFF000) << 40) | (flags & 0xFFF)) & MASK64


def pte_pfn(pte: int) -> int:
    """``lNe_get_pfn``: bits 12..51 of the entry, whatever it holds."""
    return (pte & ADDR_MASK) >> 12


def pte_flags(pte: int) -> int:
    """``lNe_get_flags``: the entry's flag word."""
    return ((pte >> 40) & 0xFFF000) | (pte & 0xFFF)


def mk_pte(pfn: int, flags: int) -> int:
    """``lNe_from_pfn(pfn, flags)``: no masking of the pfn, wrapping at 64 bits as C does."""
    return ((pfn << 12) | (((flags & 0xFFF000) << 40) | (flags & 0xFFF))) & MASK64


def l1f_to_lNf(flags: int) -> int:
    return flags | _PAGE_PSE if flags & _PAGE_PRESENT else flags


def lNf_to_l1f(flags: int) -> int:
    return flags & ~_PAGE_PSE if flags & _PAGE_PRESENT else flags


# -- names ---------------------------------------------------------------------
_BIT_NAMES = (
    (_PAGE_PRESENT, "P"),
    (_PAGE_RW, "RW"),
    (_PAGE_USER, "US"),
    (_PAGE_PWT, "PWT"),
    (_PAGE_PCD, "PCD"),
    (_PAGE_ACCESSED, "A"),
    (_PAGE_DIRTY, "D"),
    (0x080, "PSE"),  # "PAT" at level 1
    (_PAGE_GLOBAL, "G"),
    (_PAGE_AVAIL0, "AVAIL0"),
    (_PAGE_AVAIL1, "AVAIL1"),
    (_PAGE_AVAIL2, "AVAIL2"),
    (_PAGE_NX_BIT, "NX"),
)


def flag_word_names(nx: bool = True) -> dict[str, int]:
    """Every named flag word: ``_PAGE_*``, ``PAGE_HYPERVISOR*``, ``MAP_SMALL_PAGES``."""
    names = {
        "_PAGE_NONE": _PAGE_NONE,
        "_PAGE_PRESENT": _PAGE_PRESENT,
        "_PAGE_RW": _PAGE_RW,
        "_PAGE_USER": _PAGE_USER,
        "_PAGE_PWT": _PAGE_PWT,
        "_PAGE_PCD": _PAGE_PCD,
        "_PAGE_ACCESSED": _PAGE_ACCESSED,
        "_PAGE_DIRTY": _PAGE_DIRTY,
        "_PAGE_PSE": _PAGE_PSE,
        "_PAGE_PAT": _PAGE_PAT,
        "_PAGE_GLOBAL": _PAGE_GLOBAL,
        "_PAGE_AVAIL0": _PAGE_AVAIL0,
        "_PAGE_AVAIL1": _PAGE_AVAIL1,
        "_PAGE_AVAIL2": _PAGE_AVAIL2,
        "_PAGE_PSE_PAT": _PAGE_PSE_PAT,
        "_PAGE_NX_BIT": _PAGE_NX_BIT,
        "_PAGE_NX": _PAGE_NX_BIT if nx else 0,
        "MAP_SMALL_PAGES": MAP_SMALL_PAGES,
        "PAGE_CACHE_ATTRS": PAGE_CACHE_ATTRS,
    }
    names.update(hypervisor_flags(nx))
    return names


def pte_names(nx: bool = True) -> dict[str, int]:
    """The same names with 64-bit PTE layout values (as scenario files use them).

    ``_PAGE_PSE_PAT`` is PTE bit 12 in an entry, so it is given as such here.
    """
    out = {name: put_pte_flags(value) for name, value in flag_word_names(nx).items()}
    out["_PAGE_PSE_PAT"] = 1 << 12
    return out


def describe_flags(flags: int, level: int = 1) -> str:
    """Readable names of a flag word, e.g. ``P|RW|A|D|G|NX``; bit 7 is PAT at level 1."""
    parts = []
    rest = flags
    for bit, name in _BIT_NAMES:
        if flags & bit:
            parts.append("PAT" if bit == 0x080 and level == 1 else name)
            rest &= ~bit
    if rest:
        parts.append(f"{rest:#x}")
    return "|".join(parts) if parts else "0"


def describe_pte(pte: int, level: int = 1) -> str:
    """An entry for traces: ``mfn 0x1234 P|RW|A|D`` or ``0`` or ``INVALID``-style."""
    if pte == 0:
        return "0"
    flags = pte_flags(pte)
    if not flags & _PAGE_PRESENT:
        return f"{pte:#018x} (not present)"
    kind = ""
    if level in (2, 3) and flags & _PAGE_PSE:
        kind = " 1G" if level == 3 else " 2M"
    return f"mfn {pte_pfn(pte):#x}{kind} {describe_flags(flags, level)}"
