"""The functional oracle: translations as runs, the promises of each operation, and
the three kinds it reports (wrong-mapping, alloc-on-unmap, empty-table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hypothesis import given
from hypothesis import strategies as st

from pagerace.checks import OpTracker
from pagerace.checks.functional import (
    MappingRun,
    Problem,
    _clip,
    _first_difference,
    judge,
    mappings,
    promise_of,
    snapshot,
)
from pagerace.paging.dump import StateDump
from pagerace.paging.geometry import Geometry
from pagerace.paging.pte import INVALID_MFN
from pagerace.scenario import DestroyOp, MapOp, ModifyOp, PopulateOp
from pagerace.xen.hypervisor import Hypervisor

PH = 0x8000000000000163  # PAGE_HYPERVISOR, 64-bit layout
RO = 0x8000000000000121  # PAGE_HYPERVISOR_RO
SMALL = 0x200  # MAP_SMALL_PAGES
G = Geometry(512)
DM = G.directmap
L2 = G.span[2]
L3 = G.span[3]


def judged(hv: Hypervisor, op: object, *, rc: int | None = None) -> list[Problem]:
    """Run ``op`` on ``hv`` and judge it against its promise."""
    before = snapshot(hv.memory, hv.root, hv.geometry, page1gb=hv.config.page1gb)
    if isinstance(op, MapOp):
        r = hv.map(op.virt, op.mfn, op.nr, op.flags)
    elif isinstance(op, PopulateOp):
        r = hv.populate(op.virt, op.nr)
    elif isinstance(op, ModifyOp):
        r = hv.modify(op.s, op.e, op.nf)
    else:
        assert isinstance(op, DestroyOp)
        r = hv.destroy(op.s, op.e)
    assert r.error is None and r.rc == 0
    after = snapshot(hv.memory, hv.root, hv.geometry, page1gb=hv.config.page1gb)
    promise = promise_of(op)
    assert promise is not None
    return judge(promise, before, after, hv.memory, hv.root, hv.geometry, rc=rc)


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


# -- translations as runs ---------------------------------------------------------
def test_a_2m_leaf_and_512_4k_leaves_of_the_same_frames_are_one_run() -> None:
    big, small = Hypervisor(512), Hypervisor(512)
    big.map(DM, 0x200, 512, PH)
    for k in range(512):  # page by page, with an attribute bit that prevents coalescing
        small.map(DM + k * 4096, 0x200 + k, 1, PH)
    assert mappings(big.dump(), G) == [(DM, 512, 0x200, PH)]
    assert mappings(big.dump(), G) == mappings(small.dump(), G)


def test_a_superpage_frame_is_what_the_cpu_walks_to() -> None:
    """Bit 12 of a superpage is its PAT bit; bits 13.. below its size are reserved."""
    odd = StateDump([[DM, 2, 0x201, PH | 0x80, 1]], [], [], 0)
    assert mappings(odd, G) == [(DM, 512, 0x200, PH | 0x80)]  # PAT set, frame rounded
    reserved = StateDump([[DM, 2, 0x202, PH | 0x80, 1]], [], [], 0)
    assert mappings(reserved, G) == []  # the walk faults
    one_g = StateDump([[DM, 3, 0x40000, PH | 0x80, 1]], [], [], 0)
    assert mappings(one_g, G) == [(DM, 1 << 18, 0x40000, PH)]
    assert mappings(one_g, G, page1gb=False) == []  # PSE in an L3 entry is reserved


run_lists = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 4), st.integers(0, 12), st.sampled_from([1, 3])),
    max_size=6,
)


def _runs(spec: list[tuple[int, int, int, int]]) -> list[MappingRun]:
    """Non-overlapping sorted runs from (gap, pages, mfn, flags) tuples."""
    out, va = [], 0
    for gap, pages, mfn, flags in spec:
        va += gap * 4096
        out.append((va, pages, mfn, flags))
        va += pages * 4096
    return out


def _pages(runs: list[MappingRun]) -> dict[int, tuple[int, int]]:
    return {va + k * 4096: (mfn + k, f) for va, n, mfn, f in runs for k in range(n)}


@given(run_lists, run_lists, st.integers(0, 40), st.integers(0, 40))
def test_first_difference_is_the_lowest_page_that_differs(
    a: list[tuple[int, int, int, int]], b: list[tuple[int, int, int, int]], lo: int, n: int
) -> None:
    ra, rb = _runs(a), _runs(b)
    lo_va, hi_va = lo * 4096, (lo + n) * 4096
    ca, cb = _clip(ra, lo_va, hi_va), _clip(rb, lo_va, hi_va)
    pa = {v: e for v, e in _pages(ra).items() if lo_va <= v < hi_va}
    pb = {v: e for v, e in _pages(rb).items() if lo_va <= v < hi_va}
    assert _pages(ca) == pa and _pages(cb) == pb
    differing = sorted(v for v in pa.keys() | pb.keys() if pa.get(v) != pb.get(v))
    diff = _first_difference(ca, cb)
    if not differing:
        assert diff is None
    else:
        assert diff == (differing[0], pa.get(differing[0]), pb.get(differing[0]))


# -- what the real code keeps --------------------------------------------------------
def test_maps_modifies_and_destroys_that_keep_their_promise_find_nothing() -> None:
    hv = Hypervisor(512, "xen-4.14")
    ops = [
        MapOp(DM, 0, 1 << 18, PH),  # a 1 GiB leaf
        MapOp(DM + 5 * L2 + 3 * 4096, 7, 1, PH | 0x18),  # shatters it (2M, then 4K)
        MapOp(DM + 5 * L2 + 3 * 4096, 5 * 512 + 3, 1, PH),  # restores, coalesces 2M, 1G
        ModifyOp(DM + L2, DM + 3 * L2 + 4096, RO),  # shatters the 1G, then a 2M
        MapOp(DM + L3, 0x40000, 1000, PH | SMALL),
        ModifyOp(DM + L3, DM + L3 + 8192, 0),  # removes two pages
        DestroyOp(DM + L3 - 4096, DM + L3 + 1000 * 4096),
    ]
    for op in ops:
        assert judged(hv, op) == [], op


def test_map_skips_a_superpage_that_differs_only_in_accessed_and_dirty() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0, 512, PH)
    no_ad = PH & ~0x60
    assert judged(hv, MapOp(DM + 4096, 1, 10, no_ad)) == []  # Xen's skip path: A/D ignored
    assert mappings(hv.dump(), G)[0][3] == PH  # the leaf kept them


# -- wrong-mapping ---------------------------------------------------------------
def test_a_mapping_that_lands_elsewhere_is_reported_at_its_first_va() -> None:
    hv = Hypervisor(512)
    before = snapshot(hv.memory, hv.root, G)
    hv.map(DM, 0x100, 8, PH)
    # the model did something else than promised: one L1 entry points elsewhere
    l1 = next(f for f, lvl in hv.memory.level.items() if lvl == 1)
    hv.memory.words[l1][5] = (0x999 << 12) | 0x163
    after = snapshot(hv.memory, hv.root, G)
    promise = promise_of(MapOp(DM, 0x100, 8, PH))
    assert promise is not None
    (problem,) = judge(promise, before, after, hv.memory, hv.root, G)
    assert problem.kind == "wrong-mapping"
    assert f"va {DM + 5 * 4096:#x} has mfn 0x999" in problem.message
    assert "promises mfn 0x105" in problem.message


def test_a_change_outside_the_range_is_reported() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0x100, 8, PH)
    before = snapshot(hv.memory, hv.root, G)
    l1 = next(f for f, lvl in hv.memory.level.items() if lvl == 1)
    hv.memory.words[l1][7] = 0  # page 7 is outside [DM, DM + 2 pages)
    after = snapshot(hv.memory, hv.root, G)
    promise = promise_of(MapOp(DM, 0x100, 2, PH))
    assert promise is not None
    (problem,) = judge(promise, before, after, hv.memory, hv.root, G)
    assert problem.kind == "wrong-mapping"
    assert f"va {DM + 7 * 4096:#x}, outside its range" in problem.message
    assert "now no mapping" in problem.message
    # the same change inside a range another CPU was changing is not this op's
    other = (DM + 6 * 4096, DM + 8 * 4096)
    assert judge(promise, before, after, hv.memory, hv.root, G, exclude=[other]) == []


def test_modify_keeps_frames_and_applies_only_nx_d_a_rw_p() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0x100, 4, PH | 0x18)  # PCD|PWT: modify must keep them
    assert judged(hv, ModifyOp(DM, DM + 3 * 4096, RO | 0x100)) == []
    runs = mappings(hv.dump(), G)
    # (old & ~M) | (nf & M): PWT, PCD and G from the old flags, NX|A|P from nf
    assert runs[0] == (DM, 3, 0x100, 0x8000000000000139)
    assert runs[1] == (DM + 3 * 4096, 1, 0x103, PH | 0x18)


def test_a_modify_that_sets_the_wrong_attributes_is_reported() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0x100, 4, PH)
    before = snapshot(hv.memory, hv.root, G)
    hv.modify(DM, DM + 4 * 4096, PH)  # stays writable, where RO was promised
    after = snapshot(hv.memory, hv.root, G)
    promise = promise_of(ModifyOp(DM, DM + 4 * 4096, RO))
    assert promise is not None
    (problem,) = judge(promise, before, after, hv.memory, hv.root, G)
    assert problem.kind == "wrong-mapping" and f"va {DM:#x} has mfn 0x100" in problem.message


# -- alloc-on-unmap ------------------------------------------------------------------
def test_unmapping_a_whole_2m_leaf_page_by_page_allocates_a_table_of_nothing() -> None:
    """Before 4.20 an unmap takes the 4 KiB path: it shatters the leaf into an L1
    table and fills it with non-present entries."""
    hv = Hypervisor(512, "xsa-345")
    hv.map(DM + L2, 512, 512, PH)
    problems = judged(hv, MapOp(DM + L2, INVALID_MFN, 512, 0))
    assert kinds(problems) == ["alloc-on-unmap"]
    assert "L1 table" in problems[0].message
    assert f"[{DM + L2:#x}, {DM + 2 * L2:#x}), which maps nothing" in problems[0].message


def test_shattering_a_superpage_the_range_only_partly_covers_is_not_reported() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0, 512, PH)
    assert judged(hv, DestroyOp(DM + 4096, DM + 3 * 4096)) == []  # the L1 still maps 510
    assert judged(hv, MapOp(DM + 8 * 4096, INVALID_MFN, 2, 0)) == []  # already split


def test_populate_may_allocate_and_destroy_of_an_empty_l4_slot_may_not() -> None:
    hv = Hypervisor(512)
    assert judged(hv, PopulateOp(DM, 4)) == []
    (problem,) = judged(hv, DestroyOp(DM + 512 * L3, DM + 512 * L3 + 4096))
    assert problem.kind == "alloc-on-unmap" and "L3 table" in problem.message


# -- empty-table -------------------------------------------------------------------
def test_a_destroyed_l2_whose_last_slots_were_empty_stays_linked_before_4_20() -> None:
    """The L2 emptiness check runs after an L1 or superpage slot only: a destroy of a
    whole 1 GiB whose last L2 slots are empty never looks at the L2 again."""
    hv = Hypervisor(512, "xen-4.14")
    hv.map(DM + 3 * 4096, 3, 1, PH)
    problems = judged(hv, DestroyOp(DM, DM + L3))
    assert kinds(problems) == ["empty-table"]
    assert "L2 table" in problems[0].message and "every entry is zero" in problems[0].message
    # when the range ends right after the L1, the check runs and frees the L2
    hv = Hypervisor(512, "xen-4.14")
    hv.map(DM + 511 * L2, 3, 1, PH)
    assert judged(hv, DestroyOp(DM, DM + L3)) == []


def test_a_table_that_only_partly_lies_in_the_range_is_not_empty_table() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0, 4, PH)
    assert judged(hv, DestroyOp(DM, DM + 4 * 4096)) == []  # the L1 is freed (X5.8)
    hv.map(DM + 2 * L2, 0, 4, PH)
    assert judged(hv, DestroyOp(DM + L2, DM + 2 * L2 + 4 * 4096)) == []


# -- lookup ------------------------------------------------------------------------
@dataclass(frozen=True)
class Lookup:
    op: ClassVar[str] = "lookup"
    virt: int

    def describe(self) -> str:
        return f"lookup({self.virt:#x})"


def test_a_lookup_must_return_the_frame_the_cpu_walks_to() -> None:
    hv = Hypervisor(512)
    hv.map(DM, 0x200, 512, PH)
    now = snapshot(hv.memory, hv.root, G)
    promise = promise_of(Lookup(DM + 5 * 4096))
    assert promise is not None
    assert judge(promise, now, now, hv.memory, hv.root, G, rc=0x205) == []
    (problem,) = judge(promise, now, now, hv.memory, hv.root, G, rc=0x206)
    assert problem.kind == "wrong-mapping"
    assert "returned mfn 0x206, but va" in problem.message and "has mfn 0x205" in problem.message
    # an unmapped VA breaks the lookup's precondition: no value is promised
    unmapped = promise_of(Lookup(DM + L2))
    assert unmapped is not None
    assert judge(unmapped, now, now, hv.memory, hv.root, G, rc=INVALID_MFN) == []
    assert judge(unmapped, now, now, hv.memory, hv.root, G, rc=0) == []


# -- explored CPUs -------------------------------------------------------------------
def test_the_tracker_judges_only_operations_no_other_cpu_overlapped() -> None:
    hv = Hypervisor(512)
    found: list[tuple[str, int]] = []
    t = OpTracker(hv.memory, hv.root, G, lambda p, cpu: found.append((p.kind, cpu)))
    running = [0]
    t.watch(lambda: running[0])
    a = MapOp(DM, 0x100, 4, PH)
    b = MapOp(DM + 2 * 4096, 0x300, 4, PH)  # overlaps a
    c = MapOp(DM + L2, 0x500, 1, PH)  # disjoint from both
    t.start(0, a)
    t.start(1, b)  # started, but changes nothing before a finishes
    hv.map(a.virt, a.mfn, a.nr, a.flags)
    t.finish(0, 0)  # judged: b changed nothing meanwhile
    running[0] = 1
    hv.map(b.virt, b.mfn, b.nr, b.flags)
    t.finish(1, 0)  # not judged: a changed memory (an allocation) after b started
    assert found == [] and t.skipped == 1
    t.start(0, c)
    running[0] = 0
    hv.map(c.virt, c.mfn, c.nr, c.flags)
    l1 = next(f for f, lvl in hv.memory.level.items() if lvl == 1)
    hv.memory.words[l1][0] = 0  # something removed a page outside c's range
    t.finish(0, 0)
    assert found == [("wrong-mapping", 0)]
