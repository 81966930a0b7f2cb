"""Xen's ``flush_area`` flag word (asm-x86/flushtlb.h:109-137).

``flush_area(va, flags)`` takes a flag word whose low byte is ``FLUSH_ORDER(n)`` =
n + 1 (the flush covers 2**n pages from ``va``; 0 means "no order given") and whose
upper bits say what to flush.  ``flush_area_local`` computes
``order = (flags - 1) & 0xff``, so a flag word without an order field (a bare
``FLUSH_TLB_GLOBAL``) gives order 0xff: everything.  The TLB model (tlb.py) gives
the flags their meaning; this module only names and prints them.
"""

from __future__ import annotations

__all__ = [
    "FLUSH_CACHE",
    "FLUSH_FORCE_IPI",
    "FLUSH_HVM_ASID_CORE",
    "FLUSH_ORDER",
    "FLUSH_ORDER_MASK",
    "FLUSH_ROOT_PGTBL",
    "FLUSH_TLB",
    "FLUSH_TLB_GLOBAL",
    "FLUSH_VA_VALID",
    "FLUSH_VCPU_STATE",
    "describe_flush",
    "flush_order",
]

FLUSH_ORDER_MASK = 0xFF
FLUSH_TLB = 0x100
FLUSH_TLB_GLOBAL = 0x200
FLUSH_CACHE = 0x400
FLUSH_VA_VALID = 0x800
FLUSH_VCPU_STATE = 0x1000
FLUSH_ROOT_PGTBL = 0x2000
FLUSH_HVM_ASID_CORE = 0x4000
FLUSH_FORCE_IPI = 0x8000


def FLUSH_ORDER(order: int) -> int:
    """``FLUSH_ORDER(x)``: the order field for a flush of 2**x pages."""
    if not 0 <= order < FLUSH_ORDER_MASK:
        raise ValueError(f"flush order {order}: must be in 0..{FLUSH_ORDER_MASK - 1}")
    return order + 1


def flush_order(flags: int) -> int:
    """``flush_area_local``'s order: ``(flags - 1) & 0xff`` (0xff = everything)."""
    return (flags - 1) & FLUSH_ORDER_MASK


_FLAG_NAMES = (
    (FLUSH_TLB, "TLB"),
    (FLUSH_TLB_GLOBAL, "GLOBAL"),
    (FLUSH_CACHE, "CACHE"),
    (FLUSH_VA_VALID, "VA_VALID"),
    (FLUSH_VCPU_STATE, "VCPU_STATE"),
    (FLUSH_ROOT_PGTBL, "ROOT_PGTBL"),
    (FLUSH_HVM_ASID_CORE, "HVM_ASID_CORE"),
    (FLUSH_FORCE_IPI, "FORCE_IPI"),
)


def describe_flush(va: int, flags: int) -> str:
    """``flush_area(0xffff830000000000, TLB|GLOBAL|ORDER(9))``; va 0 is ``NULL``."""
    parts = [name for bit, name in _FLAG_NAMES if flags & bit]
    if flags & FLUSH_ORDER_MASK:
        parts.append(f"ORDER({(flags & FLUSH_ORDER_MASK) - 1})")
    rest = flags & ~(FLUSH_ORDER_MASK | sum(bit for bit, _ in _FLAG_NAMES))
    if rest:
        parts.append(f"{rest:#x}")
    where = "NULL" if va == 0 else f"{va:#x}"
    return f"flush_area({where}, {'|'.join(parts) if parts else '0'})"
