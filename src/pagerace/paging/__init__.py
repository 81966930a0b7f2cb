"""pagerace.paging: x86-64 paging facts for Xen's hypervisor page tables.

Geometry (geometry.py), Xen's PTE layout and flag words (pte.py), physical frames
and the page-table allocator (memory.py), the hardware walk (walk.py), flush flags
(flush.py), the per-CPU TLB model (tlb.py) and the canonical state dump (dump.py).
This layer knows nothing of concurrency; it imports only ``pagerace.errors``.
"""

from pagerace.paging.dump import (
    StateDump,
    dump_state,
    encode_flushes,
    encode_leaves,
    encode_nonpresent,
    encode_tables,
    expand_flushes,
    expand_leaves,
    expand_nonpresent,
    expand_tables,
)
from pagerace.paging.geometry import LEVELS, PAGE_SHIFT, PAGE_SIZE, Geometry
from pagerace.paging.memory import (
    TABLE_FRAME_BASE,
    FrameKind,
    MemoryFault,
    PhysicalMemory,
    TableRef,
)

__all__ = [
    "LEVELS",
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "TABLE_FRAME_BASE",
    "FrameKind",
    "Geometry",
    "MemoryFault",
    "PhysicalMemory",
    "StateDump",
    "TableRef",
    "dump_state",
    "encode_flushes",
    "encode_leaves",
    "encode_nonpresent",
    "encode_tables",
    "expand_flushes",
    "expand_leaves",
    "expand_nonpresent",
    "expand_tables",
]
