"""The stale-TLB oracle: after every operation returned, what each CPU has cached."""

from __future__ import annotations

from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.tlb import TLB, stale_entries

__all__ = ["stale_tlb_problems"]


def stale_tlb_problems(
    tlbs: list[TLB], memory: PhysicalMemory, root: int, geometry: Geometry, page1gb: bool
) -> list[str]:
    """One message per stale TLB or paging-structure-cache entry, CPU by CPU."""
    out = []
    for cpu, tlb in enumerate(tlbs):
        for stale in stale_entries(tlb, memory, root, geometry, page1gb=page1gb):
            what = "TLB" if stale.kind == "tlb" else "paging-structure cache"
            out.append(f"CPU{cpu} {what} entry for va {stale.va:#x}: {stale.reason}")
    return out
