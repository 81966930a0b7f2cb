"""map_pages_to_xen and populate_pt_range at 8 entries per table, state by state.

Every expected value is derived from Xen's map_pages_to_xen and populate_pt_range (step labels in
the comments), not read back from the model.  At 8 entries: ORDER(3) is a "2 MiB"
flush, ORDER(6) a "1 GiB" one, and the flush flags are TLB 0x100, GLOBAL 0x200,
CACHE 0x400, VA_VALID 0x800 plus the order byte.
"""

from __future__ import annotations

import pytest
from xen_small import (
    CACHE,
    DM,
    GLOBAL,
    L3_TABLE,
    L4_TABLE,
    MFN,
    NONLEAF,
    ORDER,
    PAGE,
    PH,
    PH_PSE,
    POPULATED,
    PSE,
    RO,
    RW_NOG,
    RWX,
    SMALL,
    TLB,
    UC,
    UC_NOG,
    VA_VALID,
    Tracer,
    expect,
    new,
    result,
    state,
    va,
)

from pagerace.xen.hypervisor import Hypervisor

L2_TABLE_0 = (DM, 2, NONLEAF, 1)  # L2 entry 0 of directmap L3 entry 0 points to an L1


# -- M2: the 1 GiB path ------------------------------------------------------------------


def test_a_1g_map_on_an_empty_l4_slot_writes_one_l3_leaf_and_allocates_only_the_l3_table() -> None:
    hv = new()
    # V3: the L4 slot is empty, so virt_to_xen_l3e allocates the L3 table; M2.1 writes
    # the 1G leaf; the old L3 entry was 0, so there is nothing to flush or free.
    assert hv.map(DM, MFN, 64, PH) == result("map", pt_alloc=1)
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


def test_a_1g_map_over_an_l2_table_frees_it_and_its_l1_tables_after_one_accumulated_flush() -> None:
    hv = new()
    hv.map(va(0, 0), 0x5000, 8, PH)  # L2[0]: a 2M leaf, global
    hv.map(va(0, 1, 2), 0x6000, 1, UC)  # L2[1] -> L1 with one UC leaf, global
    hv.map(va(0, 2, 0), 0x7000, 2, RW_NOG)  # L2[2] -> L1 with two leaves, not global
    assert state(hv)["live_pt"] == 4
    # M2.3/M2.4 accumulate over the old L2 and every entry of its L1s:
    #   the 2M PH leaf: G -> GLOBAL; its cache bits equal PH's;
    #   the UC leaf: G -> GLOBAL, (UC ^ PH) & PAGE_CACHE_ATTRS = PCD|PWT -> CACHE, and
    #   virt = DIRECTMAP_VIRT_START is inside [DIRECTMAP, HYPERVISOR_VIRT_END) -> VA_VALID;
    #   the RW_NOG leaves and the empty entries add nothing.
    # M2.5 flushes once with TLB|ORDER(6)|GLOBAL|CACHE|VA_VALID = 0xf07, then M2.7 frees
    # the two L1s and M2.8 the L2.
    r = hv.map(DM, MFN, 64, PH)
    assert r == result("map", ((DM, TLB | ORDER(6) | GLOBAL | CACHE | VA_VALID),), pt_free=3)
    assert r.flushes == ((DM, 0xF07),)
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)
    assert len(hv.memory.live_tables()) == 2  # the root and the L3 table


def test_a_1g_map_over_non_global_leaves_with_the_same_cache_bits_flushes_tlb_only() -> None:
    hv = new()
    hv.map(va(0, 0), 0x5000, 8, RW_NOG)
    hv.map(va(0, 1, 2), 0x6000, 1, RW_NOG)
    r = hv.map(DM, MFN, 64, PH)
    assert r == result("map", ((DM, TLB | ORDER(6)),), pt_free=2)


def test_a_1g_uc_map_asks_for_a_cache_flush_because_empty_l1_entries_are_accumulated_too() -> None:
    # Surprising but right: M2.4 runs flush_flags() over all entries of an old L1,
    # present or not ("all 512 entries, present or not").  The one present entry has
    # the same cache bits as UC (UC_NOG differs only in G and NX); the seven empty
    # entries have flag word 0, and (0 ^ UC) & PAGE_CACHE_ATTRS = PCD|PWT != 0.
    hv = new()
    hv.map(va(0, 1, 2), 0x6000, 1, UC_NOG)
    r = hv.map(DM, MFN, 64, UC)
    assert r == result("map", ((DM, TLB | ORDER(6) | CACHE | VA_VALID),), pt_free=2)
    assert state(hv)["leaves"] == [(DM, 3, MFN, UC | PSE, 1)]


def test_a_cache_flush_outside_the_directmap_carries_no_va_valid() -> None:
    below = DM - 0x200000  # L4 slot 3: below DIRECTMAP_VIRT_START
    hv = new()
    hv.map(below, MFN, 64, PH)
    # M2.2: the old 1G PH leaf is global and differs from UC in PCD|PWT.
    assert hv.map(below, MFN, 64, UC) == result("map", ((below, TLB | ORDER(6) | GLOBAL | CACHE),))


def test_a_1g_map_over_a_1g_leaf_flushes_with_the_old_leafs_flags_and_frees_nothing() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    # M2.2: acc(lNf_to_l1f(PH|PSE)) = GLOBAL, and PCD|PWT differ from UC.
    r = hv.map(DM, 0x8000, 64, UC)
    assert r == result("map", ((DM, TLB | ORDER(6) | GLOBAL | CACHE | VA_VALID),))
    assert state(hv)["leaves"] == [(DM, 3, 0x8000, UC | PSE, 1)]


# -- M5: the 2 MiB path ------------------------------------------------------------------


def test_a_2m_map_on_an_empty_slot_allocates_the_l3_and_l2_tables_and_writes_one_l2_leaf() -> None:
    hv = new()
    # The map is PAGE_HYPERVISOR with nr reaching 0, so M9 runs; the L2 holds one
    # leaf, so it cannot coalesce.
    assert hv.map(va(0, 3), MFN + 24, 8, PH) == result("map", pt_alloc=2)
    assert state(hv) == expect([(va(0, 3), 2, MFN + 24, PH_PSE, 1)], [L4_TABLE, L3_TABLE], 2)


def test_a_2m_map_over_an_l1_table_frees_it_after_a_flush_with_the_old_leaves_flags() -> None:
    hv = new()
    hv.map(va(0, 0, 0), 0x9000, 2, PH)
    hv.map(va(0, 0, 5), 0x9100, 1, UC)
    # M5.4 scans all 8 L1 entries: PH and UC are global -> GLOBAL; (UC ^ RO) & 0x98 =
    # PCD|PWT -> CACHE|VA_VALID; (PH ^ RO) and (0 ^ RO) have no cache bits.  M5.5
    # flushes TLB|ORDER(3)|GLOBAL|CACHE|VA_VALID, M5.6 frees the L1.  RO is not
    # PAGE_HYPERVISOR: no check_l3.
    r = hv.map(va(0, 0), MFN, 8, RO)
    assert r == result("map", ((DM, TLB | ORDER(3) | GLOBAL | CACHE | VA_VALID),), pt_free=1)
    assert r.flushes == ((DM, 0xF04),)
    assert state(hv) == expect([(DM, 2, MFN, RO | PSE, 1)], [L4_TABLE, L3_TABLE], live_pt=2)


def test_a_2m_map_over_a_2m_leaf_flushes_with_its_flags_and_frees_nothing() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    assert hv.map(DM, 0x9000, 8, PH) == result("map", ((DM, TLB | ORDER(3) | GLOBAL),))
    assert state(hv)["leaves"] == [(DM, 2, 0x9000, PH_PSE, 1)]


# -- M3 and M6: shattering superpages ------------------------------------------------


def test_a_4k_map_inside_a_1g_superpage_shatters_it_into_2m_leaves_with_the_old_flags() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    virt = va(0, 3, 5)
    r = hv.map(virt, 0x7777, 1, UC)
    # M3: the skip test fails (mfn), a new L2 gets 2M leaves copied from the snapshot
    #     (PSE kept), and M3.4 flushes TLB|ORDER(6)|GLOBAL (the old leaf was global);
    # M6: the 2M leaf now at L2[3] is shattered the same way, M6.11 TLB|ORDER(3)|GLOBAL;
    # M7: the old 4K leaf (MFN+29, PH) was present: TLB|ORDER(0)|GLOBAL, and PCD|PWT
    #     differ -> CACHE|VA_VALID.  UC is not PAGE_HYPERVISOR: no M8, no M9.
    assert r == result(
        "map",
        (
            (virt, TLB | ORDER(6) | GLOBAL),
            (virt, TLB | ORDER(3) | GLOBAL),
            (virt, TLB | ORDER(0) | GLOBAL | CACHE | VA_VALID),
        ),
        pt_alloc=2,
    )
    assert state(hv) == expect(
        [
            (DM, 2, MFN, PH_PSE, 3),
            (va(0, 3), 1, MFN + 24, PH, 5),
            (virt, 1, 0x7777, UC, 1),
            (va(0, 3, 6), 1, MFN + 30, PH, 2),
            (va(0, 4), 2, MFN + 32, PH_PSE, 4),
        ],
        [L4_TABLE, L3_TABLE, (va(0, 3), 2, NONLEAF, 1)],
        live_pt=3,
    )


def test_a_2m_map_inside_a_1g_superpage_shatters_only_the_1g_and_overwrites_one_2m_leaf() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    virt = va(0, 5)
    # M3.4 flushes for the shatter; M5.3 then flushes for the copied 2M leaf it
    # overwrites (global; PH and RO have the same cache bits).
    r = hv.map(virt, 0x9000, 8, RO)
    assert r == result(
        "map", ((virt, TLB | ORDER(6) | GLOBAL), (virt, TLB | ORDER(3) | GLOBAL)), pt_alloc=1
    )
    assert state(hv) == expect(
        [
            (DM, 2, MFN, PH_PSE, 5),
            (virt, 2, 0x9000, RO | PSE, 1),
            (va(0, 6), 2, MFN + 48, PH_PSE, 2),
        ],
        [L4_TABLE, L3_TABLE],
        live_pt=2,
    )


def test_a_4k_map_inside_a_2m_superpage_shatters_it_into_4k_leaves_without_pse() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    virt = va(0, 0, 2)
    # M6: the new L1 holds mk(pfn + i, lNf_to_l1f(PH|PSE)) = PH; M7 replaces entry 2.
    r = hv.map(virt, 0x9999, 1, RO)
    assert r == result(
        "map", ((virt, TLB | ORDER(3) | GLOBAL), (virt, TLB | ORDER(0) | GLOBAL)), pt_alloc=1
    )
    assert state(hv) == expect(
        [(DM, 1, MFN, PH, 2), (virt, 1, 0x9999, RO, 1), (va(0, 0, 3), 1, MFN + 3, PH, 5)],
        [L4_TABLE, L3_TABLE, L2_TABLE_0],
        live_pt=3,
    )


def test_shattering_non_global_superpages_flushes_without_global() -> None:
    hv = new()
    hv.map(DM, MFN, 64, RW_NOG)
    virt = va(0, 2, 1)
    r = hv.map(virt, 0x9999, 1, RW_NOG)
    assert r.flushes == ((virt, TLB | ORDER(6)), (virt, TLB | ORDER(3)), (virt, TLB | ORDER(0)))
    assert (r.pt_alloc, r.pt_free) == (2, 0)


# -- M8 / M9: coalescing -------------------------------------------------------------------


def test_the_eighth_contiguous_page_hypervisor_4k_page_coalesces_the_l1_into_a_2m_leaf() -> None:
    hv = new()
    assert hv.map(va(0, 0, 0), MFN, 1, PH) == result("map", pt_alloc=3)
    for i in range(1, 7):
        assert hv.map(va(0, 0, i), MFN + i, 1, PH) == result("map")
    assert state(hv)["leaves"] == [(DM, 1, MFN, PH, 7)]
    # M8: after the write nr == 0; the 8 entries are contiguous from an 8-aligned base
    # with flags == PAGE_HYPERVISOR: M8.4 writes the 2M leaf, M8.5 flushes at
    # virt - 4096, virt having advanced to the next L2 entry, and M8.6 frees the L1.
    # M9 then fails: L2[1] is empty.
    r = hv.map(va(0, 0, 7), MFN + 7, 1, PH)
    assert r == result("map", ((va(0, 1) - PAGE, GLOBAL | ORDER(3)),), pt_free=1)
    assert r.flushes == ((va(0, 0, 7), 0x204),)
    assert state(hv) == expect([(DM, 2, MFN, PH_PSE, 1)], [L4_TABLE, L3_TABLE], live_pt=2)


def test_a_map_crossing_a_2m_boundary_coalesces_the_l1_it_completes_and_goes_on() -> None:
    hv = new()
    hv.map(va(0, 0, 0), MFN, 1, PH)
    # Pages 1..7 complete L1[0]; then virt/mfn are 2M-aligned (A2M) so M8 coalesces
    # it although nr = 2; M9 is not tried (nr != 0 and not A1G).  The last 2 pages
    # need a new L1 under L2[1]; the final M8 and M9 fail.
    r = hv.map(va(0, 0, 1), MFN + 1, 9, PH)
    assert r == result("map", ((va(0, 0, 7), GLOBAL | ORDER(3)),), pt_alloc=1, pt_free=1)
    assert state(hv) == expect(
        [(DM, 2, MFN, PH_PSE, 1), (va(0, 1), 1, MFN + 8, PH, 2)],
        [L4_TABLE, L3_TABLE, (va(0, 1), 2, NONLEAF, 1)],
        live_pt=3,
    )


def test_eight_contiguous_2m_page_hypervisor_leaves_coalesce_into_a_1g_leaf() -> None:
    hv = new()
    assert hv.map(va(0, 0), MFN, 8, PH) == result("map", pt_alloc=2)
    for r in range(1, 7):
        assert hv.map(va(0, r), MFN + 8 * r, 8, PH) == result("map")
    # M5 writes the last 2M leaf, goes to check_l3 with nr == 0: M9.4 writes the 1G
    # leaf, M9.5 flushes TLB_GLOBAL|ORDER(6) at virt - 4096, M9.6 frees the L2.
    res = hv.map(va(0, 7), MFN + 56, 8, PH)
    assert res == result("map", ((va(1) - PAGE, GLOBAL | ORDER(6)),), pt_free=1)
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


def test_one_map_can_coalesce_an_l1_into_2m_and_then_the_l2_into_1g() -> None:
    hv = new()
    hv.map(DM, MFN, 1, PH)
    # Pages 1..7 fill L1[0] (M8 at the 2M boundary), then seven M5 iterations write
    # 2M leaves; only the last reaches check_l3 with nr == 0 and coalesces.
    r = hv.map(DM + PAGE, MFN + 1, 63, PH)
    assert r == result(
        "map",
        ((va(0, 0, 7), GLOBAL | ORDER(3)), (va(0, 7, 7), GLOBAL | ORDER(6))),
        pt_free=2,
    )
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


def test_the_last_4k_page_of_a_1g_region_coalesces_twice() -> None:
    hv = new()
    for r in range(7):
        hv.map(va(0, r), MFN + 8 * r, 8, PH)
    for i in range(7):
        hv.map(va(0, 7, i), MFN + 56 + i, 1, PH)
    res = hv.map(va(0, 7, 7), MFN + 63, 1, PH)
    # M8 then M9, both flushing at virt - 4096 = the page just written.
    assert res == result(
        "map",
        ((va(0, 7, 7), GLOBAL | ORDER(3)), (va(0, 7, 7), GLOBAL | ORDER(6))),
        pt_free=2,
    )
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


@pytest.mark.parametrize(
    "flags",
    [
        RWX,  # PAGE_HYPERVISOR without NX
        RW_NOG,  # without G
        PH | SMALL,  # AVAIL0 set (MAP_SMALL_PAGES)
        PH & ~0x40,  # without D
        UC,  # cache attributes
    ],
    ids=["no-NX", "no-G", "MAP_SMALL_PAGES", "no-D", "UC"],
)
def test_eight_contiguous_4k_pages_do_not_coalesce_unless_flags_equal_page_hypervisor(
    flags: int,
) -> None:
    hv = new()
    results = [hv.map(va(0, 0, i), MFN + i, 1, flags) for i in range(8)]
    assert [(r.pt_alloc, r.pt_free, r.flushes) for r in results] == [(3, 0, ())] + [(0, 0, ())] * 7
    assert state(hv) == expect(
        [(DM, 1, MFN, flags, 8)], [L4_TABLE, L3_TABLE, L2_TABLE_0], live_pt=3
    )


def test_eight_page_hypervisor_pages_do_not_coalesce_when_the_frames_are_not_contiguous() -> None:
    hv = new()
    for i in range(8):
        hv.map(va(0, 0, i), MFN + (100 if i == 4 else i), 1, PH)
    assert state(hv)["leaves"] == [
        (DM, 1, MFN, PH, 4),
        (va(0, 0, 4), 1, MFN + 100, PH, 1),
        (va(0, 0, 5), 1, MFN + 5, PH, 3),
    ]
    assert state(hv)["live_pt"] == 3


def test_a_full_l1_of_contiguous_frames_from_an_unaligned_base_does_not_coalesce() -> None:
    hv = new()
    # mfn MFN+1 is not 8-aligned, so the 4K path is taken; M8.2's base is
    # pfn(L1[0]) & ~7 = MFN, and L1[0] holds MFN+1 != base + 0.
    assert hv.map(DM, MFN + 1, 8, PH) == result("map", pt_alloc=3)
    assert state(hv) == expect(
        [(DM, 1, MFN + 1, PH, 8)], [L4_TABLE, L3_TABLE, L2_TABLE_0], live_pt=3
    )


# -- skip if unchanged ---------------------------------------------------------------------


def test_a_map_matching_a_1g_superpage_is_skipped_without_writes_flushes_or_check_l3() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    before = state(hv)
    trace = Tracer(hv)
    assert hv.map(va(0, 2, 5), MFN + 21, 3, PH) == result("map")
    # The M3 skip advances past the 3 pages and `continue`s: nr == 0 ends the loop.
    # The only loads are the L4 walk and the M1.1 snapshot; no M9.1.
    assert trace.steps("load") == ["V3.1", "V3.4", "M1.1"]
    assert trace.kinds() == {"load"}
    assert state(hv) == before


@pytest.mark.parametrize(
    ("flags", "skipped"),
    [
        (PH & ~0x60, True),  # A and D are ignored by the skip test
        (RW_NOG, False),  # G differs
        (RWX, False),  # NX differs
        (PH | SMALL, False),  # AVAIL0 differs
    ],
    ids=["no-A-D", "no-G", "no-NX", "MAP_SMALL_PAGES"],
)
def test_the_1g_skip_test_ignores_only_accessed_and_dirty(flags: int, skipped: bool) -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    r = hv.map(va(0, 2, 5), MFN + 21, 1, flags)
    if skipped:
        assert r == result("map")
        assert state(hv)["leaves"] == [(DM, 3, MFN, PH_PSE, 1)]
    else:
        # M3 shatter, M6 shatter (the copied 2M leaf fails the same test), M7 rewrite
        # of a present global leaf with the same cache bits.
        v = va(0, 2, 5)
        assert r == result(
            "map",
            ((v, TLB | ORDER(6) | GLOBAL), (v, TLB | ORDER(3) | GLOBAL), (v, TLB | GLOBAL | 1)),
            pt_alloc=2,
        )
        assert (v, 1, MFN + 21, flags, 1) in state(hv)["leaves"]


def test_a_map_matching_a_2m_superpage_is_skipped_and_goes_to_check_l3() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    before = state(hv)
    trace = Tracer(hv)
    assert hv.map(va(0, 0, 1), MFN + 1, 2, PH) == result("map")
    loads = trace.steps("load")
    assert loads[loads.index("M6.3") :][:3] == ["M6.3", "M6.4", "M6.5"]  # the skip test
    assert "M9.1" in loads  # check_l3 ran (PAGE_HYPERVISOR, nr == 0) and failed
    assert trace.kinds() == {"load", "lock", "unlock"}  # map_pgdir_lock around M9
    assert state(hv) == before


def test_a_2m_skip_can_complete_a_1g_coalesce_because_it_goes_to_check_l3() -> None:
    hv = new()
    for r in range(7):
        hv.map(va(0, r), MFN + 8 * r, 8, PH)
    hv.map(va(0, 7), MFN + 56, 8, PH & ~0x2)  # read-only: not PAGE_HYPERVISOR, no M9
    # modify_xen_mappings never coalesces: after making the last leaf PH|PSE the L2
    # holds 8 contiguous PH|PSE leaves and is still there.
    assert hv.modify(va(0, 7), va(1), PH) == result("modify", ((0, GLOBAL),))
    assert state(hv) == expect([(DM, 2, MFN, PH_PSE, 8)], [L4_TABLE, L3_TABLE], live_pt=2)
    # A 1-page map matching a 2M leaf: the M6 skip goes to check_l3, which coalesces.
    r = hv.map(va(0, 3, 1), MFN + 25, 1, PH)
    assert r == result("map", ((va(0, 3, 1), GLOBAL | ORDER(6)),), pt_free=1)
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


def test_a_skip_covers_at_most_the_rest_of_the_superpage() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    # 3 pages are skipped (8 - (mfn & 7)); the remaining 7 need an L1 under L2[1].
    assert hv.map(va(0, 0, 5), MFN + 5, 10, PH) == result("map", pt_alloc=1)
    assert state(hv) == expect(
        [(DM, 2, MFN, PH_PSE, 1), (va(0, 1), 1, MFN + 8, PH, 7)],
        [L4_TABLE, L3_TABLE, (va(0, 1), 2, NONLEAF, 1)],
        live_pt=3,
    )


# -- populate_pt_range -----------------------------------------------------------------------


def test_populate_creates_the_tables_and_writes_invalid_non_present_entries() -> None:
    hv = new()
    # INVALID_MFN and MAP_SMALL_PAGES force the 4K path: L3, L2 and two L1 tables.
    # The entries are mk(INVALID_MFN, MAP_SMALL_PAGES) = 0xfffffffffffff200.
    assert hv.populate(va(0, 0, 3), 10) == result("populate", pt_alloc=4)
    assert state(hv) == expect(
        [],
        [L4_TABLE, L3_TABLE, (DM, 2, NONLEAF, 2)],
        live_pt=4,
        nonpresent=[(va(0, 0, 3), 1, POPULATED, 10)],
    )
    # Again: the tables exist and the old entries are not present.
    assert hv.populate(va(0, 0, 3), 10) == result("populate")
    assert state(hv)["live_pt"] == 4


def test_populate_over_a_mapping_replaces_it_and_flushes_the_old_leaf() -> None:
    hv = new()
    hv.map(va(0, 0, 3), 0x9000, 1, PH)
    # M7.4: the old leaf was present and global; MAP_SMALL_PAGES lacks PRESENT, so no
    # cache flags are accumulated.
    r = hv.populate(va(0, 0, 3), 1)
    assert r == result("populate", ((va(0, 0, 3), TLB | ORDER(0) | GLOBAL),))
    assert state(hv)["nonpresent"] == [(va(0, 0, 3), 1, POPULATED, 1)]
    assert state(hv)["leaves"] == []


# -- 512 entries ---------------------------------------------------------------------------------


def test_a_1g_map_with_map_small_pages_at_512_entries_writes_one_run_of_262144_leaves() -> None:
    hv = Hypervisor(entries=512)
    dm = 0xFFFF_8300_0000_0000  # DIRECTMAP_VIRT_START, PML4 slot 262
    r = hv.map(dm, 0x100000, 262144, PH | SMALL)
    # MAP_SMALL_PAGES forbids the 1G and 2M paths: an L3 table for the empty slot, one
    # L2 table, and 512 L1 tables; nothing was present, so no flush.  PH|AVAIL0 is not
    # PAGE_HYPERVISOR: no coalescing.
    assert r == result("map", pt_alloc=1 + 1 + 512)
    d = hv.dump()
    assert d.leaves == [[dm, 1, 0x100000, PH | SMALL, 262144]]
    assert d.tables == [[dm, 4, NONLEAF, 1], [dm, 3, NONLEAF, 1], [dm, 2, NONLEAF, 512]]
    assert d.nonpresent == []
    assert d.live_pt == 514


# -- the flush_flags accumulator at the edges ------------------------------------------------------


def test_va_valid_follows_the_current_virt_across_the_directmap_boundaries() -> None:
    # flush_flags() tests the loop's current virt against [DIRECTMAP_VIRT_START,
    # HYPERVISOR_VIRT_END); at 8 entries that window is L4 slot 4, [0x800000, 0xa00000).
    end = 0xA00000
    for first in (DM - PAGE, end - PAGE):
        hv = new()
        hv.map(first, MFN + 1, 2, PH)  # one 4K leaf on each side of the boundary
        r = hv.map(first, 0x9001, 2, UC)
        inside = first + PAGE if first < DM else first
        outside = first if first < DM else first + PAGE
        m7 = TLB | ORDER(0) | GLOBAL | CACHE
        assert sorted(r.flushes) == sorted([(inside, m7 | VA_VALID), (outside, m7)])
        assert (r.pt_alloc, r.pt_free) == (0, 0)


def test_a_non_present_1g_map_accumulates_no_cache_flags_and_leaves_an_entry_without_pse() -> None:
    hv = new()
    hv.map(DM, MFN, 64, UC)
    # flags = 0: CACHE is only added when the new flags are present; only the old
    # leaf's G counts.  l1f_to_lNf(0) = 0 (PSE only for present flags), so M2.1
    # writes mk(MFN, 0): non-present, with an address.
    assert hv.map(DM, MFN, 64, 0) == result("map", ((DM, TLB | ORDER(6) | GLOBAL),))
    assert state(hv) == expect([], [L4_TABLE], live_pt=1, nonpresent=[(DM, 3, MFN << 12, 1)])
