"""The lost-update oracle's pieces: serial orders and the translation normal form."""

from __future__ import annotations

from math import comb

from hypothesis import given
from hypothesis import strategies as st

from pagerace.checks import serial_orders, translation_of
from pagerace.paging.dump import StateDump
from pagerace.paging.geometry import Geometry
from pagerace.xen.hypervisor import Hypervisor

PH = 0x8000000000000163


@given(st.lists(st.integers(0, 3), min_size=1, max_size=3))
def test_serial_orders_are_every_interleaving_that_keeps_program_order(ops: list[int]) -> None:
    orders = list(serial_orders(ops))
    total, expected = 0, 1
    for n in ops:
        total += n
        expected *= comb(total, n)
    assert len(orders) == len(set(orders)) == expected
    for order in orders:
        assert [order.count(c) for c in range(len(ops))] == ops


def test_one_2m_leaf_and_512_4k_leaves_mapping_the_same_frames_are_one_translation() -> None:
    g = Geometry(512)
    dm = g.directmap
    big = Hypervisor(512)
    big.map(dm, 0, 512, PH)
    small = Hypervisor(512)
    small.map(dm, 0, 512, PH | 0x200)  # MAP_SMALL_PAGES forces 4K leaves
    # the same frames, but MAP_SMALL_PAGES is a real attribute bit: different
    assert translation_of(big.dump(), g) != translation_of(small.dump(), g)
    split = Hypervisor(512)
    for k in range(512):  # page by page with PAGE_HYPERVISOR: coalesces at the end
        split.map(dm + k * 4096, k, 1, PH)
    assert translation_of(split.dump(), g) == translation_of(big.dump(), g)
    assert translation_of(big.dump(), g) == ((dm, 512, 0, PH & ~0x60),)


def test_accessed_and_dirty_bits_are_ignored() -> None:
    g = Geometry(8)
    a = StateDump([[0x800000, 1, 5, 0x8000000000000163, 2]], [], [], 0)
    b = StateDump([[0x800000, 1, 5, 0x8000000000000103, 2]], [], [], 0)
    assert translation_of(a, g) == translation_of(b, g) == ((0x800000, 2, 5, 0x8000000000000103),)


def test_runs_that_do_not_continue_each_other_stay_apart() -> None:
    g = Geometry(8)
    d = StateDump([[0x800000, 1, 5, 0x103, 1], [0x801000, 1, 7, 0x103, 1]], [], [], 0)
    assert len(translation_of(d, g)) == 2
