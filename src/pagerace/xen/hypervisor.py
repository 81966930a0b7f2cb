"""A sequential facade over the model: one hypervisor, operations run directly.

    hv = Hypervisor(entries=512, variant="xen-4.14")
    r = hv.map(virt, mfn, nr, flags64)        # flags in the 64-bit PTE layout
    r.rc, r.flushes, r.pt_alloc, r.pt_free, r.error
    hv.dump()                                  # canonical state (conformance format)

Operations take flags in the 64-bit PTE layout and convert them to Xen's 24-bit
flag word with ``get_pte_flags``, as Xen's callers do.  A BUG_ON or ASSERT that
fires is reported in ``OpResult.error`` (rc None), and the hypervisor is then
unusable (Xen would have crashed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pagerace.errors import XenBug
from pagerace.machine.direct import DirectMachine
from pagerace.paging.dump import StateDump, dump_state
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import MemoryFault, PhysicalMemory
from pagerace.paging.pte import INVALID_MFN, get_pte_flags
from pagerace.xen.config import SystemState, XenConfig
from pagerace.xen.lookup import lookup
from pagerace.xen.map_pages import map_pages_to_xen, populate_pt_range
from pagerace.xen.modify import destroy_xen_mappings, modify_xen_mappings

__all__ = ["Hypervisor", "OpResult"]


@dataclass(frozen=True, slots=True)
class OpResult:
    """The outcome of one operation."""

    op: str
    rc: int | None
    error: str | None
    flushes: tuple[tuple[int, int], ...]
    pt_alloc: int
    pt_free: int


class Hypervisor:
    """Xen's hypervisor page tables, driven one operation at a time on one CPU."""

    def __init__(
        self,
        entries: int | Geometry = 512,
        variant: str = "xen-4.14",
        *,
        page1gb: bool = True,
        nx: bool = True,
        system_state: SystemState | int = SystemState.active,
        fail_allocations: tuple[int, ...] = (),
    ) -> None:
        self.geometry = entries if isinstance(entries, Geometry) else Geometry(entries)
        self.config = XenConfig(
            variant=variant, page1gb=page1gb, nx=nx, system_state=SystemState(system_state)
        )
        self.memory = PhysicalMemory(self.geometry, fail_allocations=fail_allocations)
        root = self.memory.alloc(4)
        if root is None:
            raise ValueError("fail_allocations: the root table's allocation (1) cannot fail")
        self.root = root
        self.machine = DirectMachine(self.memory, self.root, self.config)
        self.crashed: str | None = None

    # -- operations -------------------------------------------------------------
    def map(self, virt: int, mfn: int, nr: int, flags: int, *, irqs: bool = True) -> OpResult:
        """``map_pages_to_xen(virt, mfn, nr, get_pte_flags(flags))``."""
        xf = get_pte_flags(flags)
        return self._run("map", irqs, lambda m: map_pages_to_xen(m, virt, mfn, nr, xf))

    def populate(self, virt: int, nr: int, *, irqs: bool = True) -> OpResult:
        return self._run("populate", irqs, lambda m: populate_pt_range(m, virt, nr))

    def modify(self, s: int, e: int, nf: int, *, irqs: bool = True) -> OpResult:
        xf = get_pte_flags(nf)
        return self._run("modify", irqs, lambda m: modify_xen_mappings(m, s, e, xf))

    def destroy(self, s: int, e: int, *, irqs: bool = True) -> OpResult:
        return self._run("destroy", irqs, lambda m: destroy_xen_mappings(m, s, e))

    def unmap(self, virt: int, nr: int, *, irqs: bool = True) -> OpResult:
        """``map_pages_to_xen(virt, INVALID_MFN, nr, _PAGE_NONE)``."""
        return self._run("unmap", irqs, lambda m: map_pages_to_xen(m, virt, INVALID_MFN, nr, 0))

    def lookup(self, va: int, *, irqs: bool = True) -> OpResult:
        """The version's lookup (xen_map_to_mfn, or vmap_to_mfn before 4.19); ``rc`` is
        the frame number it returns."""
        return self._run("lookup", irqs, lambda m: lookup(m, va))

    def _run(self, op: str, irqs: bool, call: Callable[[DirectMachine], int]) -> OpResult:
        if self.crashed is not None:
            raise RuntimeError(f"the hypervisor crashed earlier ({self.crashed})")
        counters = self.machine.begin_op(irqs)
        rc: int | None
        error: str | None = None
        try:
            rc = call(self.machine)
        except (XenBug, MemoryFault) as exc:
            rc = None
            error = str(exc)
            self.crashed = error
        return OpResult(
            op=op,
            rc=rc,
            error=error,
            flushes=tuple(counters.flushes),
            pt_alloc=counters.pt_alloc,
            pt_free=counters.pt_free,
        )

    # -- state ------------------------------------------------------------------
    def dump(self) -> StateDump:
        return dump_state(self.memory, self.root, self.geometry)
