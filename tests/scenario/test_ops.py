"""Scenario ops: Xen flag words and the one-line descriptions used in traces."""

from __future__ import annotations

import pytest

import pagerace.scenario as scenario_pkg
from pagerace.paging.pte import INVALID_MFN, get_pte_flags, pte_names
from pagerace.scenario import AccessOp, DestroyOp, MapOp, ModifyOp, PopulateOp, flags_text

N = pte_names()
DM = 0xFFFF830000000000


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (0, "_PAGE_NONE"),
        (N["PAGE_HYPERVISOR"], "PAGE_HYPERVISOR"),
        (N["PAGE_HYPERVISOR_RO"], "PAGE_HYPERVISOR_RO"),
        (N["PAGE_HYPERVISOR_RX"], "PAGE_HYPERVISOR_RX"),
        (N["PAGE_HYPERVISOR_UC"], "PAGE_HYPERVISOR_UC"),
        (N["PAGE_HYPERVISOR"] | N["_PAGE_PCD"], "PAGE_HYPERVISOR_UCMINUS"),
        (N["PAGE_HYPERVISOR"] | N["_PAGE_PWT"], "PAGE_HYPERVISOR|_PAGE_PWT"),
        (N["PAGE_HYPERVISOR"] | N["_PAGE_PAT"] | N["_PAGE_PWT"],
         "PAGE_HYPERVISOR|_PAGE_PAT|_PAGE_PWT"),
        (N["PAGE_HYPERVISOR"] | N["MAP_SMALL_PAGES"], "PAGE_HYPERVISOR|MAP_SMALL_PAGES"),
        (N["MAP_SMALL_PAGES"], "MAP_SMALL_PAGES"),
        (N["_PAGE_PRESENT"] | N["_PAGE_USER"], "_PAGE_USER|_PAGE_PRESENT"),
        (N["__PAGE_HYPERVISOR"], "__PAGE_HYPERVISOR"),
        (N["PAGE_HYPERVISOR_RX"] | 1 << 52, "PAGE_HYPERVISOR_RX|0x10000000000000"),
    ],
)  # fmt: skip
def test_flags_are_named_by_the_largest_contained_constant_then_the_other_bits(
    flags: int, text: str
) -> None:
    assert flags_text(flags) == text


def test_flags_text_names_exactly_the_flags_it_was_given() -> None:
    for flags in [*N.values(), N["PAGE_HYPERVISOR"] | N["_PAGE_PCD"] | N["_PAGE_AVAIL2"]]:
        if flags & 0x000F_FFFF_FFFF_F000:
            continue  # _PAGE_PSE_PAT: a frame-number bit, refused by the loader
        value = 0
        for part in flags_text(flags).split("|"):
            value |= int(part, 16) if part.startswith("0x") else N[part]
        assert value == flags


def test_map_describes_itself_as_the_xen_call_with_named_flags() -> None:
    op = MapOp(0xFFFF830040A03000, 0x40A03, 1, N["PAGE_HYPERVISOR"] | N["_PAGE_PAT"])
    assert op.describe() == (
        "map_pages_to_xen(0xffff830040a03000, mfn 0x40a03, 1, PAGE_HYPERVISOR|_PAGE_PAT)"
    )
    assert op.op == "map"


def test_map_of_invalid_mfn_with_irqs_off_says_so() -> None:
    op = MapOp(DM, INVALID_MFN, 4, N["MAP_SMALL_PAGES"], irqs=False)
    assert op.describe() == (
        "map_pages_to_xen(0xffff830000000000, mfn INVALID_MFN, 4, MAP_SMALL_PAGES) with irqs off"
    )


def test_each_other_op_describes_itself_as_its_xen_call() -> None:
    assert PopulateOp(DM, 512).describe() == "populate_pt_range(0xffff830000000000, 512)"
    assert ModifyOp(DM, DM + 0x200000, N["PAGE_HYPERVISOR_RO"]).describe() == (
        "modify_xen_mappings(0xffff830000000000, 0xffff830000200000, PAGE_HYPERVISOR_RO)"
    )
    assert DestroyOp(DM, DM + 0x1000, irqs=False).describe() == (
        "destroy_xen_mappings(0xffff830000000000, 0xffff830000001000) with irqs off"
    )
    assert AccessOp(DM).describe() == "access(0xffff830000000000)"


def test_xen_flags_and_xen_nf_are_the_24_bit_flag_words() -> None:
    assert MapOp(0, 0, 1, N["PAGE_HYPERVISOR"]).xen_flags == 0x800163
    assert ModifyOp(0, 4096, N["PAGE_HYPERVISOR_RX"]).xen_nf == 0x121
    assert MapOp(0, 0, 1, N["PAGE_HYPERVISOR_UC"]).xen_flags == get_pte_flags(
        N["PAGE_HYPERVISOR_UC"]
    )


def test_ops_are_frozen_and_slotted() -> None:
    op = DestroyOp(0, 4096)
    with pytest.raises(AttributeError):
        op.s = 8192  # type: ignore[misc]
    assert not hasattr(op, "__dict__")


def test_the_package_exports_each_public_name_once_and_every_export_exists() -> None:
    names = scenario_pkg.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(scenario_pkg, name), name
