"""The rules that differ between the modelled Xen versions, one small case each.

At 8 entries (xen_small): an L2 entry covers 8 pages, an L3 entry 64 pages.  Each
test runs the same operations on the variants and shows where the versions'
rules make them differ: the alignment test of the superpage paths (non-present maps
against mfn 0, 4.20.0's one-page window, the INVALID_MFN ASSERT), the reclaim check
after a non-present L2 slot, the kept L1 pointer and the flush rule.
"""

from __future__ import annotations

import pytest
from xen_small import (
    DM,
    GLOBAL,
    L3_TABLE,
    L4_TABLE,
    MFN,
    NONLEAF,
    ORDER,
    PH,
    PH_PSE,
    SMALL,
    TLB,
    Tracer,
    expect,
    new,
    result,
    state,
    va,
)

from pagerace.paging.pte import INVALID_MFN
from pagerace.xen.versions import VERSIONS

ALL = list(VERSIONS)
BEFORE_4_20 = ["xen-4.14", "xsa-345", "xen-4.19"]
FROM_4_20 = ["xen-4.20.0", "xen-4.21"]
UNMAPPED = 0xFFFF_FFFF_FFFF_F000  # mk(INVALID_MFN, _PAGE_NONE)


def test_the_variants_are_the_five_modelled_versions_oldest_first() -> None:
    assert ALL == ["xen-4.14", "xsa-345", "xen-4.19", "xen-4.20.0", "xen-4.21"]
    assert [v.xsa345_fixed for v in VERSIONS.values()] == [False, True, True, True, True]


# -- non-present maps over a superpage-sized range (spec 3.1, 3.2) -----------------------------


@pytest.mark.parametrize("variant", ALL)
def test_an_aligned_unmap_of_a_2m_leaf(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(va(0, 1), MFN + 8, 8, PH)  # one 2M leaf in L2 slot 1
    r = hv.map(va(0, 1), INVALID_MFN, 8, 0)
    if variant in FROM_4_20:
        # M5 with mfn 0: one non-present entry for the whole slot, one flush
        assert r == result("map", [(va(0, 1), TLB | ORDER(3) | GLOBAL)])
        assert state(hv) == expect(
            [], [L4_TABLE, L3_TABLE], live_pt=2, nonpresent=[(va(0, 1), 2, UNMAPPED, 1)]
        )
    else:
        # the 4 KiB path: M6 shatters the leaf, M7.3 writes 8 non-present entries
        assert r.pt_alloc == 1 and r.rc == 0
        assert state(hv) == expect(
            [],
            [L4_TABLE, L3_TABLE, (va(0, 1), 2, NONLEAF, 1)],
            live_pt=3,
            nonpresent=[(va(0, 1), 1, UNMAPPED, 8)],
        )


@pytest.mark.parametrize("page1gb", [True, False])
@pytest.mark.parametrize("variant", ALL)
def test_a_present_map_of_invalid_mfn_fails_the_assert_from_4_20_on(
    variant: str, page1gb: bool
) -> None:
    hv = new(variant=variant, page1gb=page1gb)
    r = hv.map(va(0, 1), INVALID_MFN, 8, PH)
    if variant in FROM_4_20:
        # the 1 GiB test comes first when the CPU has 1 GiB pages
        step = "M2" if page1gb else "M5"
        assert r.rc is None
        assert r.error == f"{step}: ASSERT(!mfn_eq(m_, INVALID_MFN)) in IS_LnE_ALIGNED"
    else:
        assert r.rc == 0 and r.error is None
        # present 4 KiB entries with every frame bit set
        assert hv.dump().leaves[0][:2] == [va(0, 1), 1]


# -- 4.20.0's one-page window (spec 4) ------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_a_map_one_page_past_a_2m_boundary(variant: str) -> None:
    hv = new(variant=variant)
    r = hv.map(va(0, 1, 1), MFN + 9, 16, PH)
    leaves = [tuple(x) for x in hv.dump().leaves]
    if variant == "xen-4.20.0":
        # M5 takes the slot containing virt with the unrounded (odd) mfn, twice;
        # the page at offset 0 of slot 3 was asked for but is never mapped
        assert leaves == [(va(0, 1), 2, MFN + 9, PH_PSE, 2)]
        assert r.pt_alloc == 2  # the L3 and L2 tables
    else:
        # the 4 KiB path for 7 pages, a 2M leaf for slot 2, 4 KiB for the last page
        assert leaves == [
            (va(0, 1, 1), 1, MFN + 9, PH, 7),
            (va(0, 2), 2, MFN + 16, PH_PSE, 1),
            (va(0, 3), 1, MFN + 24, PH, 1),
        ]


@pytest.mark.parametrize("variant", ALL)
def test_an_unmap_one_page_past_a_2m_boundary(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(va(0, 1), MFN + 8, 16, PH)  # 2M leaves in slots 1 and 2
    hv.map(va(0, 1, 1), INVALID_MFN, 8, 0)
    leaves = [tuple(x) for x in hv.dump().leaves]
    if variant == "xen-4.20.0":
        # the whole of slot 1 is gone, offset 0 too; slot 2 is untouched
        assert leaves == [(va(0, 2), 2, MFN + 16, PH_PSE, 1)]
    else:
        # slots 1 and 2 shattered; pages 1..8 unmapped, offset 0 of slot 1 kept
        assert leaves == [(va(0, 1), 1, MFN + 8, PH, 1), (va(0, 2, 1), 1, MFN + 17, PH, 7)]


# -- modify_xen_mappings after a non-present L2 slot (spec 3.3) ---------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_a_destroy_ending_in_non_present_l2_slots_reclaims_the_l2_from_4_20_on(
    variant: str,
) -> None:
    hv = new(variant=variant)
    hv.map(va(0, 0), MFN, 8, PH)  # a 2M leaf in slot 0, the rest of the L2 empty
    r = hv.destroy(va(0), va(1))
    if variant in FROM_4_20:
        # X4.3 zaps slot 0, X3.2 at slot 1 leads to CHECK_L3 at the L3 boundary
        assert r == result("destroy", [(0, GLOBAL), (0, GLOBAL)], pt_free=1)
        assert state(hv) == expect([], [L4_TABLE], live_pt=1)
    else:
        assert r == result("destroy", [(0, GLOBAL)])
        assert state(hv) == expect([], [L4_TABLE, L3_TABLE], live_pt=2)


# -- the L1 pointer after M6.2 (spec 2.4) -------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_after_installing_an_l1_table_m7_1_runs_only_before_4_19(variant: str) -> None:
    hv = new(variant=variant)
    trace = Tracer(hv)
    hv.map(va(0, 1, 3), MFN + 11, 1, PH)
    loads = trace.steps("load")
    assert "V1.5" in loads and "M6.1" in loads
    assert ("M7.1" in loads) == (variant in ("xen-4.14", "xsa-345"))
    assert state(hv) == expect(
        [(va(0, 1, 3), 1, MFN + 11, PH, 1)],
        [L4_TABLE, L3_TABLE, (va(0, 1), 2, NONLEAF, 1)],
        live_pt=3,
    )


# -- the flush rule (spec 2.3) -------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL)
def test_with_interrupts_off_only_4_14_and_the_fix_flush_locally(variant: str) -> None:
    hv = new(variant=variant)
    hv.map(DM, MFN, 1, PH)
    trace = Tracer(hv)
    r = hv.map(DM, MFN + 1, 1, PH, irqs=False)  # replaces a present entry: M7.4
    assert r.flushes == ((DM, TLB | ORDER(0) | GLOBAL),)
    assert trace.local_flushes == [variant in ("xen-4.14", "xsa-345")]


def test_the_versions_differ_only_where_the_spec_says() -> None:
    v = VERSIONS
    assert [x.name for x in v.values() if x.flush_local_if_irqs_off] == ["xen-4.14", "xsa-345"]
    assert [x.name for x in v.values() if not x.reuse_pl1e] == ["xen-4.14", "xsa-345"]
    assert [x.name for x in v.values() if x.align_ignores_bit0] == ["xen-4.20.0"]
    assert [x.name for x in v.values() if x.nonpresent_l2_checks_l3] == FROM_4_20
    assert [x.name for x in v.values() if x.nonpresent_ignores_mfn] == FROM_4_20
    assert [x.name for x in v.values() if x.assert_valid_mfn] == FROM_4_20
    assert [x.name for x in v.values() if x.has_xen_map_to_mfn] == [
        "xen-4.19",
        *FROM_4_20,
    ]
    assert v["xen-4.14"].discipline.name != v["xsa-345"].discipline.name
    assert {x.discipline.name for x in v.values() if x.xsa345_fixed} == {"l3t_lock"}


@pytest.mark.parametrize("variant", ["xen-4.19", "xen-4.20.0", "xen-4.21"])
def test_4_20_0_tries_the_coalesce_one_page_past_a_boundary(variant: str) -> None:
    # an L1 of slot 1 whose pages 1..7 are PAGE_HYPERVISOR and page 0 is not yet
    hv = new(variant=variant)
    hv.map(va(0, 1), MFN + 8, 8, PH | SMALL)
    hv.map(va(0, 1, 1), MFN + 9, 7, PH)
    # remapping pages 0 and 1 completes the L1: 4.20.0's M8 trigger fires after page 0
    # (virt and mfn one page past the boundary), the others' only at the end
    r = hv.map(va(0, 1), MFN + 8, 2, PH)
    page = TLB | ORDER(0) | GLOBAL
    if variant == "xen-4.20.0":
        want = ((va(0, 1), page), (va(0, 1), GLOBAL | ORDER(3)))
    else:
        want = ((va(0, 1), page), (va(0, 1, 1), page), (va(0, 1, 1), GLOBAL | ORDER(3)))
    assert r == result("map", want, pt_free=1)
    assert [tuple(x) for x in hv.dump().leaves] == [(va(0, 1), 2, MFN + 8, PH_PSE, 1)]
