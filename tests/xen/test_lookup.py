"""The lookup: xen_map_to_mfn (4.19 on, Q1-Q10) and the older vmap_to_mfn walk.

From 4.19 on: superpages answered from the leaf at face value, holes are an
ASSERT_UNREACHABLE, nothing allocated below L4, no flush; before 4.19 the walk with
virt_to_xen_l1e allocates tables for holes and BUGs on superpages.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from xen_small import DM, MFN, PAGE, PH, Tracer, new, state, va

from pagerace.paging.pte import INVALID_MFN
from pagerace.xen.versions import VERSIONS

NEW = ["xen-4.19", "xen-4.20.0", "xen-4.21"]
OLD = ["xen-4.14", "xsa-345"]


@pytest.mark.parametrize("variant", NEW)
@pytest.mark.parametrize(
    ("nr", "page"),
    [(1, 0), (8, 3), (64, 17)],  # a 4 KiB page, a 2 MiB leaf, a 1 GiB leaf (8 entries)
    ids=["4k", "2m", "1g"],
)
def test_xen_map_to_mfn_answers_every_page_size(variant: str, nr: int, page: int) -> None:
    hv = new(variant=variant)
    hv.map(va(1), MFN, nr, PH)
    before = state(hv)
    trace = Tracer(hv)
    r = hv.lookup(va(1) + page * PAGE)
    assert (r.rc, r.error, r.pt_alloc, r.flushes) == (MFN + page, None, 0, ())
    assert state(hv) == before
    loads = trace.steps("load")
    last = {1: "Q10", 8: "Q7", 64: "Q3"}[nr]
    assert loads[-1] == last and "Q1" in loads
    assert trace.steps("lock") == ["L3T_LOCK"] and trace.steps("unlock") == ["L3T_UNLOCK"]


@pytest.mark.parametrize("variant", NEW)
def test_an_odd_4_20_0_superpage_is_answered_at_face_value(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(va(0, 1, 1), MFN + 9, 16, PH)
    r = hv.lookup(va(0, 1, 2))
    # 4.20.0 wrote a 2 MiB leaf of frame MFN + 9 for the whole slot: page 2 of the slot
    # answers MFN + 11, one more than the caller mapped there
    assert r.rc == (MFN + 11 if variant == "xen-4.20.0" else MFN + 10)


@pytest.mark.parametrize("variant", NEW)
def test_a_hole_fails_assert_unreachable_and_allocates_at_most_the_l3(variant: str) -> None:
    hv = new(variant=variant)
    r = hv.lookup(DM)
    assert r.rc is None
    assert r.error == ("Q1: ASSERT_UNREACHABLE() in xen_map_to_mfn: the address is not mapped")
    assert r.pt_alloc == 1  # virt_to_xen_l3e installs the L3 table of the empty L4 slot


@pytest.mark.parametrize("variant", OLD)
def test_vmap_to_mfn_walks_with_virt_to_xen_l1e(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(va(1), MFN, 1, PH)
    trace = Tracer(hv)
    assert hv.lookup(va(1)).rc == MFN
    assert trace.steps("load")[-1] == "VMAP.1"
    assert trace.steps("lock") == []  # not even the l3t lock of the fix
    # a hole: the walkers install L2 and L1 tables and the answer is frame 0
    r = hv.lookup(va(2))
    assert (r.rc, r.pt_alloc, r.error) == (0, 2, None)


@pytest.mark.parametrize("variant", OLD)
def test_vmap_to_mfn_bugs_on_a_superpage(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(va(1), MFN, 8, PH)
    r = hv.lookup(va(1, 0, 3))
    assert r.rc is None
    assert r.error == "V1.4: BUG_ON(l2e_get_flags(*pl2e) & _PAGE_PSE) in virt_to_xen_l1e"


def test_every_version_has_one_lookup() -> None:
    assert [v for v in VERSIONS if VERSIONS[v].has_xen_map_to_mfn] == NEW
    assert INVALID_MFN == (1 << 64) - 1


@pytest.mark.parametrize("variant", list(VERSIONS))
def test_unmap_is_map_of_invalid_mfn_with_no_flags(variant: str) -> None:
    a, b = new(variant=variant), new(variant=variant)
    for hv in (a, b):
        hv.map(va(1), MFN, 16, PH)
    assert a.unmap(va(1, 1, 1), 9) == replace(b.map(va(1, 1, 1), INVALID_MFN, 9, 0), op="unmap")
    assert state(a) == state(b)
