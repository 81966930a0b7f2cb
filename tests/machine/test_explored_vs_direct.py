"""On one CPU, the explored machine and the direct machine run the model alike.

The direct machine is the one checked against Xen's own results (conformance);
this carries that trust over to the explored machine: same rc, same flush calls,
same allocations and frees, same final state, for random operation sequences.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pagerace.explore import explore
from pagerace.machine.explored import ExploredCPU, World
from pagerace.paging.dump import dump_state
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import INVALID_MFN, get_pte_flags
from pagerace.paging.tlb import TLB
from pagerace.xen.config import XenConfig
from pagerace.xen.hypervisor import Hypervisor
from pagerace.xen.map_pages import map_pages_to_xen, populate_pt_range
from pagerace.xen.modify import destroy_xen_mappings, modify_xen_mappings
from pagerace.xen.versions import VERSIONS

G = Geometry(8)
DM = G.directmap
PAGES = 4 * G.l3_pages  # a window of 4 L3 entries
FLAGS = [0x8000000000000163, 0x8000000000000363, 0x8000000000000121, 0x800000000000017B, 0x163]

op = st.one_of(
    st.tuples(
        st.just("map"),
        st.integers(0, PAGES - 1),
        st.integers(1, 80),
        st.sampled_from(FLAGS),
        st.sampled_from([0, 1, 3]),  # mfn: aligned with virt, one page off, three off
    ),
    st.tuples(st.just("unmap"), st.integers(0, PAGES - 1), st.integers(1, 80)),
    st.tuples(st.just("populate"), st.integers(0, PAGES - 1), st.integers(1, 40)),
    st.tuples(st.just("destroy"), st.integers(0, PAGES - 1), st.integers(1, 80)),
    st.tuples(st.just("modify0"), st.integers(0, PAGES - 1), st.integers(1, 80)),
)


class RecordingCPU(ExploredCPU):
    """An explored CPU that also lists its flush calls, as the direct machine does."""

    flushes: list[tuple[int, int]]

    def flush(self, va: int, flags: int, step: str, local: bool = False) -> None:
        super().flush(va, flags, step, local)
        self.flushes.append((va, flags))


def call(m: Any, o: tuple[Any, ...]) -> int:
    kind, page, n = o[0], o[1], min(o[2], PAGES - o[1])
    virt = DM + page * 4096
    if kind == "map":
        return map_pages_to_xen(m, virt, page + o[4], n, get_pte_flags(o[3]))
    if kind == "unmap":
        return map_pages_to_xen(m, virt, INVALID_MFN, n, 0)
    if kind == "populate":
        return populate_pt_range(m, virt, n)
    if kind == "destroy":
        return destroy_xen_mappings(m, virt, virt + n * 4096)
    return modify_xen_mappings(m, virt, virt + n * 4096, 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(op, min_size=1, max_size=6), st.sampled_from(list(VERSIONS)), st.booleans())
def test_one_explored_cpu_matches_the_direct_machine(
    ops: list[tuple[Any, ...]], variant: str, page1gb: bool
) -> None:
    hv = Hypervisor(G, variant, page1gb=page1gb)
    direct = []
    for o in ops:
        counters = hv.machine.begin_op()
        rc = call(hv.machine, o)
        direct.append((rc, list(counters.flushes)))
    want = hv.dump()

    got: dict[str, Any] = {}

    def program(ctx: Any) -> Any:
        memory = PhysicalMemory(G)
        root = memory.alloc(4)
        assert root is not None
        world = World(ctx, memory, root, XenConfig(variant=variant, page1gb=page1gb), [TLB(G)])
        m = RecordingCPU(world, 0)

        def body() -> None:
            results = []
            for o in ops:
                m.flushes = []
                rc = call(m, o)
                results.append((rc, m.flushes))
            got["results"] = results
            got["dump"] = dump_state(memory, root, G)

        return [body], None

    r = explore(program)
    assert r.findings == (), [f.message for f in r.findings]
    assert got["results"] == direct
    assert got["dump"] == want
