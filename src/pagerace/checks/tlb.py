"""The stale-TLB oracle: after every operation returned, what each CPU has cached."""

from __future__ import annotations

from typing import NamedTuple

from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.tlb import TLB, stale_entries

__all__ = ["StaleProblem", "stale_tlb_problems"]


class StaleProblem(NamedTuple):
    """One stale entry: the VA range [start, end) it covers, and what is wrong."""

    start: int
    end: int
    message: str


def stale_tlb_problems(
    tlbs: list[TLB], memory: PhysicalMemory, root: int, geometry: Geometry, page1gb: bool
) -> list[StaleProblem]:
    """One problem per stale TLB or paging-structure-cache entry, CPU by CPU."""
    out = []
    for cpu, tlb in enumerate(tlbs):
        for stale in stale_entries(tlb, memory, root, geometry, page1gb=page1gb):
            what = "TLB" if stale.kind == "tlb" else "paging-structure cache"
            # a PSC entry for an Ln table entry covers the span of that entry
            span = geometry.span[stale.level]
            out.append(
                StaleProblem(
                    stale.va,
                    stale.va + span,
                    f"CPU{cpu} {what} entry for va {stale.va:#x}: {stale.reason}",
                )
            )
    return out
