"""The environment parameters at 8 entries: cpu_has_page1gb, cpu_has_nx, system_state,
interrupts, allocation failures, and the ASSERTs of modify_xen_mappings.

What each test pins down: allocation and free in early boot, locking only once
system_state is past boot, flush_area with interrupts off, the CPU features, and
modify_xen_mappings' ASSERTs (with what a failed walk does in each variant).
"""

from __future__ import annotations

import pytest
from xen_small import (
    DM,
    GLOBAL,
    L3_TABLE,
    L3SPAN,
    L4_TABLE,
    MFN,
    NONLEAF,
    ORDER,
    PAGE,
    PH,
    PH_PSE,
    PSE,
    RO,
    RWX,
    RX,
    TLB,
    UC,
    Tracer,
    expect,
    new,
    result,
    state,
    va,
)

from pagerace.paging.pte import get_pte_flags, mk_pte, pte_pfn
from pagerace.xen.config import SystemState
from pagerace.xen.hypervisor import Hypervisor

VARIANTS = ["xen-4.14", "xsa-345"]
FINAL = (0, GLOBAL)
ENOMEM = -12
L2_TABLE_0 = (DM, 2, NONLEAF, 1)


def plant_1g(hv: Hypervisor, l3: int, mfn: int, flags64: int) -> None:
    """Write a 1G leaf into directmap L3 entry ``l3`` directly, as Xen's boot code left it.

    A destroy of one page makes virt_to_xen_l3e allocate the L3 table first.
    """
    hv.destroy(DM, DM + PAGE)
    l3_table = pte_pfn(hv.memory.read(hv.root, 4))
    hv.memory.write(l3_table, l3, mk_pte(mfn, get_pte_flags(flags64 | PSE)))


# -- cpu_has_page1gb --------------------------------------------------------------------------


def test_without_page1gb_an_aligned_1g_map_writes_eight_2m_leaves_and_never_checks_l3() -> None:
    hv = new(page1gb=False)
    trace = Tracer(hv)
    assert hv.map(DM, MFN, 64, PH) == result("map", pt_alloc=2)
    assert state(hv) == expect([(DM, 2, MFN, PH_PSE, 8)], [L4_TABLE, L3_TABLE], live_pt=2)
    assert "M2.1" not in trace.steps("store")
    assert "M9.1" not in trace.steps("load")


def test_without_page1gb_an_existing_1g_superpage_is_still_skipped() -> None:
    hv = new(page1gb=False)
    plant_1g(hv, 0, MFN, PH)
    assert state(hv)["leaves"] == [(DM, 3, MFN, PH_PSE, 1)]
    trace = Tracer(hv)
    assert hv.map(va(0, 2, 5), MFN + 21, 1, PH) == result("map")
    assert trace.kinds() == {"load"}


@pytest.mark.parametrize("page1gb", [False, True])
def test_a_shattered_1g_superpage_restored_coalesces_back_to_1g_only_with_page1gb(
    page1gb: bool,
) -> None:
    hv = new(page1gb=page1gb)
    if page1gb:
        hv.map(DM, MFN, 64, PH)
    else:
        plant_1g(hv, 0, MFN, PH)
    v = va(0, 2, 5)
    # M3 and M6 shatter; M7 rewrites a global leaf; M8 fails on the odd frame.  The
    # check_l3 attempt (page1gb only) fails: L2[2] is a table.
    r = hv.map(v, 0x9999, 1, PH)
    assert r == result(
        "map",
        ((v, TLB | ORDER(6) | GLOBAL), (v, TLB | ORDER(3) | GLOBAL), (v, TLB | ORDER(0) | GLOBAL)),
        pt_alloc=2,
    )
    r = hv.map(v, MFN + 21, 1, PH)
    m7 = (v, TLB | ORDER(0) | GLOBAL)
    m8 = (v, GLOBAL | ORDER(3))  # virt - 4096 after the one-page advance
    if page1gb:
        m9 = (v, GLOBAL | ORDER(6))
        assert r == result("map", (m7, m8, m9), pt_free=2)
        assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)
    else:
        assert r == result("map", (m7, m8), pt_free=1)
        assert state(hv) == expect([(DM, 2, MFN, PH_PSE, 8)], [L4_TABLE, L3_TABLE], live_pt=2)


def test_without_page1gb_a_whole_1g_superpage_is_still_modified_in_place() -> None:
    hv = new(page1gb=False)
    plant_1g(hv, 1, MFN + 64, PH)
    assert hv.modify(va(1), va(2), RO) == result("modify", (FINAL,))
    assert state(hv)["leaves"] == [(va(1), 3, MFN + 64, RO | PSE, 1)]


# -- cpu_has_nx -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nx", "flags", "coalesces"),
    [(False, RWX, True), (False, PH, False), (True, PH, True), (True, RWX, False)],
    ids=["no-NX-cpu-0x163", "no-NX-cpu-PH-with-NX", "NX-cpu-PH", "NX-cpu-0x163"],
)
def test_coalescing_compares_against_page_hypervisor_of_the_cpu(
    nx: bool, flags: int, coalesces: bool
) -> None:
    # PAGE_HYPERVISOR = 0x163 | _PAGE_NX, and _PAGE_NX is 0 without cpu_has_nx.
    hv = new(nx=nx)
    for i in range(7):
        hv.map(va(0, 0, i), MFN + i, 1, flags)
    r = hv.map(va(0, 0, 7), MFN + 7, 1, flags)
    if coalesces:
        assert r == result("map", ((va(0, 0, 7), GLOBAL | ORDER(3)),), pt_free=1)
        assert state(hv)["leaves"] == [(DM, 2, MFN, flags | PSE, 1)]
    else:
        assert r == result("map")
        assert state(hv)["leaves"] == [(DM, 1, MFN, flags, 8)]


@pytest.mark.parametrize(("nx", "leaf"), [(True, RX), (False, RX | (1 << 63))])
def test_modify_masks_nx_only_when_the_cpu_has_nx(nx: bool, leaf: int) -> None:
    # FLAGS_MASK = _PAGE_NX|D|A|RW|P: without cpu_has_nx the old NX bit is kept.
    hv = new(nx=nx)
    hv.map(DM, MFN, 1, PH)
    assert hv.modify(DM, DM + PAGE, RX) == result("modify", (FINAL,))
    assert state(hv)["leaves"] == [(DM, 1, MFN, leaf, 1)]


# -- system_state -------------------------------------------------------------------------------


def test_in_early_boot_a_coalesce_leaks_the_l1_because_free_is_a_no_op() -> None:
    hv = new(system_state=SystemState.early_boot)
    for i in range(7):
        hv.map(va(0, 0, i), MFN + i, 1, PH)
    r = hv.map(va(0, 0, 7), MFN + 7, 1, PH)
    assert r == result("map", ((va(0, 0, 7), GLOBAL | ORDER(3)),))  # pt_free 0
    assert state(hv) == expect([(DM, 2, MFN, PH_PSE, 1)], [L4_TABLE, L3_TABLE], live_pt=2)
    # root, L3, L2 reachable; the L1 is still allocated but unreachable
    assert len(hv.memory.live_tables()) == 4


def test_in_early_boot_destroy_unhooks_empty_tables_and_leaks_them() -> None:
    hv = new(system_state=SystemState.early_boot)
    hv.map(DM, MFN + 1, 3, PH)
    # The "flush before free" flushes still happen; the frees do not.
    assert hv.destroy(DM, DM + 3 * PAGE) == result("destroy", (FINAL,) * 3)
    assert state(hv) == expect([], [L4_TABLE], live_pt=1)
    assert len(hv.memory.live_tables()) == 4


def test_in_early_boot_an_allocation_failure_is_a_bug_and_the_hypervisor_is_dead() -> None:
    hv = new(system_state=SystemState.early_boot, fail_allocations=(2,))
    r = hv.map(DM, MFN, 1, PH)
    assert r.rc is None
    assert r.error is not None
    assert r.error.startswith("V3: ")  # the L3 allocation of virt_to_xen_l3e
    assert "alloc_boot_pages" in r.error
    with pytest.raises(RuntimeError, match="crashed"):
        hv.map(DM, MFN, 1, PH)


def _coalescing_sequence(hv: Hypervisor) -> list[object]:
    out: list[object] = [hv.map(va(0, 0, i), MFN + i, 1, PH) for i in range(8)]
    out.append(hv.destroy(DM, va(0, 1)))
    out.append(state(hv))
    return out


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("system_state", "locking"),
    [
        (SystemState.boot, False),
        (SystemState.smp_boot, True),
        (SystemState.active, True),
        (SystemState.resume, True),
    ],
)
def test_locks_are_taken_only_after_boot_and_results_do_not_depend_on_it(
    variant: str, system_state: SystemState, locking: bool
) -> None:
    hv = new(variant=variant, system_state=system_state)
    trace = Tracer(hv)
    got = _coalescing_sequence(hv)
    names = {name.split("(")[0] for name in trace.locks}
    if not locking:
        assert names == set()
    elif variant == "xen-4.14":
        assert names == {"map_pgdir_lock"}
    else:
        assert names == {"map_pgdir_lock", "l3t_lock"}
    assert got == _coalescing_sequence(new(variant=variant))


# -- interrupts disabled --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_with_interrupts_disabled_the_same_flush_calls_are_recorded(variant: str) -> None:
    # V/F flush_area is local-only with IRQs off; the sequential facade records the
    # calls all the same (OpResult has no irq field) and the machine sees IRQs off.
    def run(irqs: bool) -> tuple[list[object], list[bool]]:
        hv = new(variant=variant)
        hv.map(va(0, 0), 0x5000, 8, PH)
        hv.map(va(0, 1, 2), 0x6000, 1, UC)
        trace = Tracer(hv)
        out: list[object] = [
            hv.map(DM, MFN, 64, PH, irqs=irqs),
            hv.modify(va(0, 1), va(0, 2), RO, irqs=irqs),
            hv.map(va(0, 3, 3), 0x7000, 1, PH, irqs=irqs),
            hv.destroy(DM, va(1), irqs=irqs),
            state(hv),
        ]
        assert trace.local_flushes == [not irqs] * len(trace.local_flushes)
        return out, trace.irqs_at_flush

    with_irqs, seen_on = run(True)
    without, seen_off = run(False)
    assert without == with_irqs
    assert len(seen_off) == len(seen_on) > 0
    assert set(seen_on) == {True}
    assert set(seen_off) == {False}


# -- allocation failures ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_failed_allocation_makes_map_return_enomem_and_keeps_earlier_iterations(
    variant: str,
) -> None:
    # Allocations: 1 root, 2 L3, 3 L2, 4 L1 for L2[0], 5 L1 for L2[1] (fails).
    hv = new(variant=variant, fail_allocations=(5,))
    r = hv.map(DM, MFN + 1, 12, PH)
    assert r == result("map", rc=ENOMEM, pt_alloc=3)
    assert state(hv) == expect(
        [(DM, 1, MFN + 1, PH, 8)], [L4_TABLE, L3_TABLE, L2_TABLE_0], live_pt=3
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_failed_shatter_allocation_leaves_the_1g_superpage_and_flushes_nothing(
    variant: str,
) -> None:
    hv = new(variant=variant, fail_allocations=(3,))
    hv.map(DM, MFN, 64, PH)  # allocation 2: the L3
    assert hv.map(va(0, 2, 5), 0x9999, 1, PH) == result("map", rc=ENOMEM)
    assert state(hv) == expect([(DM, 3, MFN, PH_PSE, 1)], [L4_TABLE], live_pt=1)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_failed_2m_shatter_allocation_leaves_the_2m_superpage(variant: str) -> None:
    hv = new(variant=variant, fail_allocations=(4,))
    hv.map(DM, MFN, 8, PH)  # allocations 2, 3: L3, L2
    assert hv.map(va(0, 0, 2), 0x9999, 1, PH) == result("map", rc=ENOMEM)
    assert state(hv)["leaves"] == [(DM, 2, MFN, PH_PSE, 1)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_failed_shatter_allocation_in_modify_returns_enomem_without_the_final_flush(
    variant: str,
) -> None:
    hv = new(variant=variant, fail_allocations=(3,))
    hv.map(DM, MFN, 64, PH)
    assert hv.modify(va(0, 1), va(0, 2), RO) == result("modify", rc=ENOMEM)
    assert state(hv)["leaves"] == [(DM, 3, MFN, PH_PSE, 1)]


def test_xsa345_modify_returns_enomem_when_the_l3_walk_fails_while_xen_4_14_skips_1g() -> None:
    vuln = new(variant="xen-4.14", fail_allocations=(2,))
    fixed = new(variant="xsa-345", fail_allocations=(2,))
    # V: a NULL pl3e is "not present": skip to the next L3 boundary, final flush, 0.
    assert vuln.destroy(DM, DM + PAGE) == result("destroy", (FINAL,))
    # F: rc = -ENOMEM; goto out, which is after the final flush.
    assert fixed.destroy(DM, DM + PAGE) == result("destroy", rc=ENOMEM)
    assert state(vuln) == state(fixed) == expect([], [], live_pt=0)


def test_xen_4_14_retries_the_l3_walk_in_the_next_l3_span_after_a_failure() -> None:
    vuln = new(variant="xen-4.14", fail_allocations=(2,))
    fixed = new(variant="xsa-345", fail_allocations=(2,))
    assert vuln.destroy(DM, DM + 2 * L3SPAN) == result("destroy", (FINAL,), pt_alloc=1)
    assert state(vuln)["tables"] == [L4_TABLE]
    assert fixed.destroy(DM, DM + 2 * L3SPAN) == result("destroy", rc=ENOMEM)


def test_xen_4_14_asserts_for_a_present_nf_when_the_l3_walk_fails_and_xsa345_returns_enomem() -> (
    None
):
    vuln = new(variant="xen-4.14", fail_allocations=(2,))
    fixed = new(variant="xsa-345", fail_allocations=(2,))
    r = vuln.modify(DM, DM + PAGE, RO)
    assert (r.rc, r.error) == (None, "X1.1: ASSERT(!(nf & _PAGE_PRESENT)) in modify_xen_mappings")
    assert fixed.modify(DM, DM + PAGE, RO) == result("modify", rc=ENOMEM)


def test_the_root_table_allocation_cannot_be_made_to_fail() -> None:
    with pytest.raises(ValueError, match="root"):
        new(fail_allocations=(1,))


# -- ASSERTs --------------------------------------------------------------------------------------

ASSERT_NOT_PRESENT = "ASSERT(!(nf & _PAGE_PRESENT)) in modify_xen_mappings"


def test_a_present_nf_over_an_absent_l3_entry_fires_the_x1_1_assert() -> None:
    hv = new()
    # virt_to_xen_l3e allocated the L3 table before the ASSERT fired.
    r = hv.modify(DM, DM + PAGE, RO)
    assert r == result("modify", pt_alloc=1, rc=None, error=f"X1.1: {ASSERT_NOT_PRESENT}")


def test_a_present_nf_over_an_absent_l2_entry_fires_the_x3_2_assert() -> None:
    hv = new()
    hv.map(va(0, 1), MFN + 8, 8, PH)
    r = hv.modify(DM, va(0, 2), RO)
    assert (r.rc, r.error, r.flushes) == (None, f"X3.2: {ASSERT_NOT_PRESENT}", ())


def test_a_present_nf_over_an_absent_or_populated_l1_entry_fires_the_x5_2_assert() -> None:
    hv = new()
    hv.map(DM, MFN + 1, 3, PH)
    r = hv.modify(DM, DM + 4 * PAGE, RO)
    assert (r.rc, r.error, r.flushes) == (None, f"X5.2: {ASSERT_NOT_PRESENT}", ())
    hv = new()
    hv.populate(DM, 1)  # non-zero but not present: still the ASSERT
    assert hv.modify(DM, DM + PAGE, RO).error == f"X5.2: {ASSERT_NOT_PRESENT}"


def test_after_an_assert_the_hypervisor_refuses_further_operations() -> None:
    hv = new()
    hv.modify(DM, DM + PAGE, RO)
    assert hv.crashed == f"X1.1: {ASSERT_NOT_PRESENT}"
    with pytest.raises(RuntimeError, match="crashed earlier"):
        hv.destroy(DM, DM + PAGE)


@pytest.mark.parametrize(("s", "e"), [(DM + 8, DM + PAGE), (DM, DM + PAGE + 8)])
def test_an_unaligned_modify_range_fires_the_alignment_assert(s: int, e: int) -> None:
    r = new().destroy(s, e)
    assert r.rc is None
    assert r.error is not None
    assert r.error.startswith("X0: ASSERT(IS_ALIGNED(")
