"""modify_xen_mappings and destroy_xen_mappings at 8 entries per table.

Expected values follow Xen's modify_xen_mappings and destroy_xen_mappings: FLAGS_MASK = NX|D|A|RW|P;
no flush in the loop except "flush before free" (X5.9, X6.4), one final
FLUSH(NULL, FLUSH_TLB_GLOBAL) (X7); reclaim tests look at raw 64-bit values;
L3 tables are never freed.
"""

from __future__ import annotations

from xen_small import (
    DM,
    GLOBAL,
    L3_TABLE,
    L4_TABLE,
    MFN,
    NONLEAF,
    PAGE,
    PH,
    PH_PSE,
    POPULATED,
    RO,
    UC,
    Tracer,
    expect,
    new,
    result,
    state,
    va,
)

FINAL = (0, GLOBAL)  # X7: flush_area(NULL, FLUSH_TLB_GLOBAL); also X5.9 and X6.4
RO_PSE = 0x8000_0000_0000_01A1  # (PH|PSE & ~FLAGS_MASK) | (RO & FLAGS_MASK) = G|PSE | P|A|NX
L2_TABLE_0 = (DM, 2, NONLEAF, 1)


# -- whole superpages ----------------------------------------------------------------------


def test_modifying_a_whole_1g_superpage_rewrites_it_in_place_and_flushes_once_at_the_end() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    trace = Tracer(hv)
    # X2.1/X2.2: nl3e = mk(pfn, (fl & ~FLAGS_MASK) | nf); no flush in the loop.
    assert hv.modify(DM, va(1), RO) == result("modify", (FINAL,))
    assert trace.steps("flush") == ["X7"]
    assert trace.steps("store") == ["X2.2"]
    assert state(hv) == expect([(DM, 3, MFN, RO_PSE, 1)], [L4_TABLE], live_pt=1)


def test_modifying_a_whole_2m_superpage_rewrites_it_in_place_and_flushes_once_at_the_end() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    trace = Tracer(hv)
    assert hv.modify(DM, va(0, 1), RO) == result("modify", (FINAL,))
    assert trace.steps("flush") == ["X7"]
    assert trace.steps("store") == ["X4.3"]
    assert state(hv) == expect([(DM, 2, MFN, RO_PSE, 1)], [L4_TABLE, L3_TABLE], live_pt=2)


def test_modify_changes_only_nx_dirty_accessed_rw_and_present() -> None:
    hv = new()
    hv.map(DM, MFN, 2, UC)  # 4K leaves: P|RW|PWT|PCD|A|D|G|NX
    # nf = P|US|A|NX; US is masked away.  The leaves keep G|PCD|PWT and get P|A|NX:
    # 0x118 | 0x021 | NX.
    assert hv.modify(DM, DM + 2 * PAGE, 0x8000_0000_0000_0025) == result("modify", (FINAL,))
    assert state(hv)["leaves"] == [(DM, 1, MFN, 0x8000_0000_0000_0139, 2)]


def test_destroying_a_whole_1g_superpage_zeroes_it_and_keeps_the_l3_table() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    # X2.2 writes 0; check_l3 (X6.1) sees a non-present L3 entry.  No L4 entry is ever
    # cleared: the L3 table stays.
    assert hv.destroy(DM, va(1)) == result("destroy", (FINAL,))
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


def test_destroying_a_whole_2m_superpage_that_was_alone_frees_the_empty_l2() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    trace = Tracer(hv)
    # X4.3 writes 0, v == e: X6 finds all 8 L2 entries zero, zaps the L3 entry,
    # flushes before the free (X6.4), frees; then the final X7 flush.
    assert hv.destroy(DM, va(0, 1)) == result("destroy", (FINAL, FINAL), pt_free=1)
    assert trace.steps("flush") == ["X6.4", "X7"]
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


# -- shattering ------------------------------------------------------------------------------


def test_a_2m_modify_inside_a_1g_superpage_shatters_it_without_a_flush_in_the_loop() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    trace = Tracer(hv)
    # X2.3-X2.5 shatter into 2M leaves with the old flags (PSE kept), then X4.3
    # rewrites L2[1] whole.
    assert hv.modify(va(0, 1), va(0, 2), RO) == result("modify", (FINAL,), pt_alloc=1)
    assert trace.steps("flush") == ["X7"]
    assert state(hv) == expect(
        [
            (DM, 2, MFN, PH_PSE, 1),
            (va(0, 1), 2, MFN + 8, RO_PSE, 1),
            (va(0, 2), 2, MFN + 16, PH_PSE, 6),
        ],
        [L4_TABLE, L3_TABLE],
        live_pt=2,
    )


def test_a_4k_modify_inside_a_1g_superpage_shatters_both_levels() -> None:
    hv = new()
    hv.map(DM, MFN, 64, PH)
    # X2 shatters the 1G; X4.4 shatters the 2M (fl & ~PSE), v stays; the next
    # iteration rewrites the 4K leaf: (PH & ~FLAGS_MASK) | (RO & FLAGS_MASK) = RO.
    assert hv.modify(va(0, 2, 3), va(0, 2, 4), RO) == result("modify", (FINAL,), pt_alloc=2)
    assert state(hv) == expect(
        [
            (DM, 2, MFN, PH_PSE, 2),
            (va(0, 2), 1, MFN + 16, PH, 3),
            (va(0, 2, 3), 1, MFN + 19, RO, 1),
            (va(0, 2, 4), 1, MFN + 20, PH, 4),
            (va(0, 3), 2, MFN + 24, PH_PSE, 5),
        ],
        [L4_TABLE, L3_TABLE, (va(0, 2), 2, NONLEAF, 1)],
        live_pt=3,
    )


def test_a_4k_modify_inside_a_2m_superpage_shatters_it() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    assert hv.modify(va(0, 0, 1), va(0, 0, 2), RO) == result("modify", (FINAL,), pt_alloc=1)
    assert state(hv) == expect(
        [(DM, 1, MFN, PH, 1), (va(0, 0, 1), 1, MFN + 1, RO, 1), (va(0, 0, 2), 1, MFN + 2, PH, 6)],
        [L4_TABLE, L3_TABLE, L2_TABLE_0],
        live_pt=3,
    )


def test_destroying_part_of_a_2m_superpage_shatters_it_and_keeps_the_l1() -> None:
    hv = new()
    hv.map(DM, MFN, 8, PH)
    assert hv.destroy(va(0, 0, 2), va(0, 0, 4)) == result("destroy", (FINAL,), pt_alloc=1)
    assert state(hv)["leaves"] == [(DM, 1, MFN, PH, 2), (va(0, 0, 4), 1, MFN + 4, PH, 4)]


# -- reclaiming empty tables -----------------------------------------------------------------


def test_destroying_the_last_mappings_of_an_l1_frees_it_and_then_the_empty_l2() -> None:
    hv = new()
    hv.map(DM, MFN + 1, 3, PH)  # unaligned mfn: three 4K leaves in L1[0]
    trace = Tracer(hv)
    # v == e after the 3 leaves: X5.7 finds the L1 all zero -> X5.8, X5.9 flush, X5.10
    # free; check_l3 finds the L2 all zero -> X6.3, X6.4 flush, X6.5 free; X7.
    r = hv.destroy(DM, DM + 3 * PAGE)
    assert r == result("destroy", (FINAL, FINAL, FINAL), pt_free=2)
    assert trace.steps("flush") == ["X5.9", "X6.4", "X7"]
    assert trace.steps("free") == ["X5.10", "X6.5"]
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


def test_destroying_part_of_an_l1_keeps_it() -> None:
    hv = new()
    hv.map(DM, MFN + 1, 3, PH)
    assert hv.destroy(DM, DM + PAGE) == result("destroy", (FINAL,))
    assert state(hv) == expect(
        [(va(0, 0, 1), 1, MFN + 2, PH, 2)], [L4_TABLE, L3_TABLE, L2_TABLE_0], live_pt=3
    )


def test_a_destroy_across_two_l1_tables_frees_each_and_then_the_l2() -> None:
    hv = new()
    assert hv.map(va(0, 0, 6), MFN + 6, 3, PH).pt_alloc == 4  # L3, L2 and two L1s
    # The first iteration ends at the L1 boundary (l1i(v) == 0): L1[0] is reclaimed,
    # check_l3 is skipped (v != e and l2i(v) != 0); the second reclaims L1[1] and,
    # with v == e, the now empty L2.
    r = hv.destroy(va(0, 0, 6), va(0, 1, 1))
    assert r == result("destroy", (FINAL,) * 4, pt_free=3)
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


def test_populated_invalid_entries_keep_an_l1_alive_because_reclaim_tests_raw_values() -> None:
    hv = new()
    hv.populate(DM, 8)
    hv.map(DM, MFN, 2, PH)  # 4K path: the L1 exists; M8 fails on entry 2
    # Entries 2..7 are 0xfffffffffffff200: non-present but non-zero, so X5.7's scan
    # keeps the L1 (and X6.2's keeps the L2).
    assert hv.destroy(DM, DM + 2 * PAGE) == result("destroy", (FINAL,))
    assert state(hv) == expect(
        [],
        [L4_TABLE, L3_TABLE, L2_TABLE_0],
        live_pt=3,
        nonpresent=[(va(0, 0, 2), 1, POPULATED, 6)],
    )
    # Destroying the whole L1 zeroes the populated entries too, so both tables go.
    assert hv.destroy(DM, va(0, 1)) == result("destroy", (FINAL,) * 3, pt_free=2)
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


def test_modify_with_a_non_present_nf_removes_and_reclaims_like_destroy() -> None:
    hv = new()
    hv.map(DM, MFN + 1, 3, PH)
    # nf = RW: after masking it lacks PRESENT, so the leaves are zeroed (X5.3).
    assert hv.modify(DM, DM + 3 * PAGE, 0x2) == result("modify", (FINAL,) * 3, pt_free=2)
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)


def test_modify_with_a_present_nf_never_reclaims() -> None:
    hv = new()
    hv.map(DM, MFN + 1, 3, PH)
    assert hv.modify(DM, DM + 3 * PAGE, RO) == result("modify", (FINAL,))
    assert state(hv)["live_pt"] == 3


# -- empty L4 slots and absent L3 entries -------------------------------------------------------


def test_destroy_on_an_empty_l4_slot_allocates_an_l3_table_that_is_never_freed() -> None:
    hv = new()
    # V3: virt_to_xen_l3e allocates the L3 table even to destroy; X1.1 finds the L3
    # entry absent and skips to the next L3 boundary.
    assert hv.destroy(DM, DM + PAGE) == result("destroy", (FINAL,), pt_alloc=1)
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)
    assert hv.destroy(DM, DM + PAGE) == result("destroy", (FINAL,))
    assert state(hv)["live_pt"] == 1


def test_a_destroy_touching_two_empty_l4_slots_allocates_one_l3_table_for_each() -> None:
    hv = new()
    # DM - PAGE is in L4 slot 3; X1.1 rounds v up to the next L3 boundary, DM.
    assert hv.destroy(DM - PAGE, DM + PAGE) == result("destroy", (FINAL,), pt_alloc=2)
    assert state(hv)["tables"] == [(DM - 0x200000, 4, NONLEAF, 2)]
    assert state(hv)["live_pt"] == 2


def test_destroy_skips_an_absent_l3_entry_to_the_next_l3_boundary() -> None:
    hv = new()
    hv.map(va(1), MFN + 64, 64, PH)
    # X1.1 at va(0,0,3): absent -> v = va(1), where the whole 1G leaf is zeroed.
    assert hv.destroy(va(0, 0, 3), va(2)) == result("destroy", (FINAL,))
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)
