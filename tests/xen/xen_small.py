"""Vocabulary of the small-scope Xen tests: the 8-entry geometry, flag values, a tracer.

At 8 entries per table (Geometry(8)) every level covers 8 entries of the level
below: an L2 entry (the "2 MiB" superpage of this scope) covers 8 pages = 32 KiB,
an L3 entry (the "1 GiB") 64 pages = 256 KiB, an L4 slot 512 pages = 2 MiB, and
DIRECTMAP_VIRT_START is L4 slot 262 * 8 // 512 = 4, i.e. 0x800000.
Flag values are written out in the 64-bit PTE layout, as the facade takes them.
"""

from __future__ import annotations

from typing import Any

from pagerace.xen.hypervisor import Hypervisor, OpResult

ENTRIES = 8
PAGE = 0x1000
L2SPAN = 0x8000  # one L2 entry: 8 pages
L3SPAN = 0x40000  # one L3 entry: 64 pages
L4SPAN = 0x200000  # one L4 slot: 512 pages
DM = 0x800000  # DIRECTMAP_VIRT_START (slot 4); the FLUSH_VA_VALID window is [DM, 0xa00000)

MFN = 0x4000  # a frame number aligned to an L3 entry (64 pages)

# leaf and table flags, 64-bit PTE layout
PSE = 0x80
NX = 1 << 63
PH = 0x8000_0000_0000_0163  # PAGE_HYPERVISOR: P|RW|A|D|G|NX
PH_PSE = PH | PSE  # l1f_to_lNf(PAGE_HYPERVISOR), a 2M or 1G leaf
RO = 0x8000_0000_0000_0121  # PAGE_HYPERVISOR_RO: P|A|G|NX
RX = 0x121  # PAGE_HYPERVISOR_RX: P|A|G
RWX = 0x163  # PAGE_HYPERVISOR_RWX (= PAGE_HYPERVISOR when cpu_has_nx is false)
UC = 0x8000_0000_0000_017B  # PAGE_HYPERVISOR_UC: PH|PCD|PWT
UCMINUS = 0x8000_0000_0000_0173  # PAGE_HYPERVISOR_UCMINUS: PH|PCD
RW_NOG = 0x8000_0000_0000_0063  # __PAGE_HYPERVISOR_RW: P|RW|A|D|NX, no G
UC_NOG = 0x07B  # __PAGE_HYPERVISOR_UC: P|RW|PWT|PCD|A|D, no G, no NX
SMALL = 0x200  # MAP_SMALL_PAGES (_PAGE_AVAIL0), written into the leaves too
NONLEAF = 0x063  # __PAGE_HYPERVISOR: every table entry Xen writes
POPULATED = 0xFFFF_FFFF_FFFF_F200  # mk(INVALID_MFN, MAP_SMALL_PAGES): non-present, non-zero

# flush_area flags
TLB = 0x100
GLOBAL = 0x200
CACHE = 0x400
VA_VALID = 0x800


def ORDER(n: int) -> int:
    """FLUSH_ORDER(n) = n + 1; at 8 entries a 2M flush is ORDER(3), a 1G flush ORDER(6)."""
    return n + 1


def new(**kw: Any) -> Hypervisor:
    """A hypervisor with 8-entry tables and an empty idle_pg_table."""
    return Hypervisor(entries=ENTRIES, **kw)


def va(l3: int = 0, l2: int = 0, l1: int = 0) -> int:
    """The address of directmap L3 entry ``l3``, L2 entry ``l2``, L1 entry ``l1``."""
    return DM + l3 * L3SPAN + l2 * L2SPAN + l1 * PAGE


def result(
    op: str,
    flushes: tuple[tuple[int, int], ...] = (),
    pt_alloc: int = 0,
    pt_free: int = 0,
    rc: int | None = 0,
    error: str | None = None,
) -> OpResult:
    return OpResult(op, rc, error, tuple(flushes), pt_alloc, pt_free)


def state(hv: Hypervisor) -> dict[str, Any]:
    """The canonical dump as plain data (runs as tuples) for exact comparisons."""
    d = hv.dump()
    return {
        "leaves": [tuple(r) for r in d.leaves],
        "tables": [tuple(r) for r in d.tables],
        "nonpresent": [tuple(r) for r in d.nonpresent],
        "live_pt": d.live_pt,
    }


def expect(
    leaves: list[tuple[int, ...]],
    tables: list[tuple[int, ...]],
    live_pt: int,
    nonpresent: list[tuple[int, ...]] | None = None,
) -> dict[str, Any]:
    return {"leaves": leaves, "tables": tables, "nonpresent": nonpresent or [], "live_pt": live_pt}


# the table entries above one directmap L3 entry: the L4 slot and the L3 entry
L4_TABLE = (DM, 4, NONLEAF, 1)
L3_TABLE = (DM, 3, NONLEAF, 1)


class Tracer:
    """Records the machine calls of the following operations as ``(kind, step)`` pairs.

    It wraps the direct machine's ``load``/``store``/``lock``/``unlock``/``alloc``/
    ``free``/``flush`` on the instance, so the model's step labels become observable
    (e.g. whether check_l3's M9.1 load ran).  ``irqs_at_flush`` holds the machine's
    ``irqs_enabled`` at each flush call, ``local_flushes`` whether the model asked for a
    local-only flush.
    """

    KINDS = ("load", "store", "lock", "unlock", "alloc", "free", "flush")

    def __init__(self, hv: Hypervisor) -> None:
        self.events: list[tuple[str, str]] = []
        self.locks: list[object] = []
        self.irqs_at_flush: list[bool] = []
        self.local_flushes: list[bool] = []
        m = hv.machine
        for kind in self.KINDS:
            setattr(m, kind, self._wrap(m, kind, getattr(m, kind)))

    def _wrap(self, m: Any, kind: str, inner: Any) -> Any:
        def call(*args: Any) -> Any:
            if kind == "flush":  # flush(va, flags, step, local)
                self.events.append((kind, args[2]))
                self.irqs_at_flush.append(m.irqs_enabled)
                self.local_flushes.append(bool(args[3:4] and args[3]))
            else:
                self.events.append((kind, args[-1]))
            if kind == "lock":
                self.locks.append(args[0])
            return inner(*args)

        return call

    def clear(self) -> None:
        self.events.clear()
        self.locks.clear()
        self.irqs_at_flush.clear()
        self.local_flushes.clear()

    def steps(self, kind: str) -> list[str]:
        return [step for k, step in self.events if k == kind]

    def kinds(self) -> set[str]:
        return {k for k, _ in self.events}
