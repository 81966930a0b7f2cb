"""Xen's flush_area flag word: values, order and description."""

from __future__ import annotations

import pytest

from pagerace.paging.flush import (
    FLUSH_CACHE,
    FLUSH_FORCE_IPI,
    FLUSH_HVM_ASID_CORE,
    FLUSH_ORDER,
    FLUSH_ORDER_MASK,
    FLUSH_ROOT_PGTBL,
    FLUSH_TLB,
    FLUSH_TLB_GLOBAL,
    FLUSH_VA_VALID,
    FLUSH_VCPU_STATE,
    describe_flush,
    flush_order,
)


def test_flush_flags_have_xens_values() -> None:
    assert FLUSH_ORDER_MASK == 0xFF
    assert (FLUSH_TLB, FLUSH_TLB_GLOBAL, FLUSH_CACHE, FLUSH_VA_VALID) == (
        0x100,
        0x200,
        0x400,
        0x800,
    )
    assert (FLUSH_VCPU_STATE, FLUSH_ROOT_PGTBL, FLUSH_HVM_ASID_CORE, FLUSH_FORCE_IPI) == (
        0x1000,
        0x2000,
        0x4000,
        0x8000,
    )


@pytest.mark.parametrize("order", [0, 1, 9, 18, 254])
def test_flush_order_n_is_n_plus_1_and_flush_area_local_recovers_n(order: int) -> None:
    assert FLUSH_ORDER(order) == order + 1
    assert flush_order(FLUSH_TLB | FLUSH_ORDER(order)) == order


def test_flags_without_an_order_field_mean_order_0xff() -> None:
    assert flush_order(FLUSH_TLB_GLOBAL) == 0xFF
    assert flush_order(0) == 0xFF


@pytest.mark.parametrize("order", [-1, 255])
def test_an_order_outside_the_field_is_refused(order: int) -> None:
    with pytest.raises(ValueError, match=rf"flush order {order}: must be in 0\.\.254"):
        FLUSH_ORDER(order)


def test_a_flush_is_described_as_the_xen_call() -> None:
    flags = FLUSH_TLB | FLUSH_TLB_GLOBAL | FLUSH_ORDER(9)
    assert describe_flush(0xFFFF830000000000, flags) == (
        "flush_area(0xffff830000000000, TLB|GLOBAL|ORDER(9))"
    )
    assert describe_flush(0, FLUSH_TLB_GLOBAL) == "flush_area(NULL, GLOBAL)"
    assert describe_flush(0x1000, FLUSH_CACHE | FLUSH_VA_VALID | FLUSH_ORDER(0)) == (
        "flush_area(0x1000, CACHE|VA_VALID|ORDER(0))"
    )
    assert describe_flush(0x1000, 0x10000) == "flush_area(0x1000, 0x10000)"
    assert describe_flush(0x1000, 0) == "flush_area(0x1000, 0)"
