"""Geometry: shifts, spans, indices, canonical addresses and Xen's special slots."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerace.paging.geometry import LEVELS, PAGE_SHIFT, PAGE_SIZE, Geometry

ALL_SIZES = [4, 8, 16, 32, 64, 128, 256, 512]


def test_a_real_x86_64_table_has_512_entries_and_xens_shifts_and_spans() -> None:
    g = Geometry()
    assert g.entries == 512
    assert (PAGE_SHIFT, PAGE_SIZE, LEVELS) == (12, 4096, 4)
    assert g.shift[1:] == (12, 21, 30, 39)
    assert g.span[1:] == (0x1000, 0x200000, 0x40000000, 0x8000000000)
    assert [g.pages(level) for level in (1, 2, 3, 4)] == [1, 512, 262144, 512 * 262144]
    assert (g.l2_pages, g.l3_pages) == (512, 262144)
    assert g.va_bits == 48


def test_an_8_entry_geometry_shrinks_every_level_to_3_index_bits() -> None:
    g = Geometry(8)
    assert g.shift[1:] == (12, 15, 18, 21)
    assert g.span[1:] == (0x1000, 0x8000, 0x40000, 0x200000)
    assert (g.l2_pages, g.l3_pages) == (8, 64)
    assert g.va_bits == 24
    assert g.index_mask == 7


def test_the_directmap_starts_at_pml4_slot_262_at_512_entries() -> None:
    g = Geometry(512)
    assert g.directmap_slot == 262
    assert g.directmap == 0xFFFF830000000000
    assert g.hypervisor_virt_end == 0xFFFF880000000000


@pytest.mark.parametrize("entries", ALL_SIZES)
def test_the_directmap_slot_scales_as_floor_262_entries_over_512(entries: int) -> None:
    g = Geometry(entries)
    slot = 262 * entries // 512
    assert g.directmap_slot == slot
    assert g.table_offset(g.directmap, 4) == slot
    assert all(g.table_offset(g.directmap, level) == 0 for level in (1, 2, 3))
    assert g.directmap < g.hypervisor_virt_end


def test_small_geometries_place_the_directmap_without_sign_extension() -> None:
    assert Geometry(8).directmap == 4 << 21
    assert Geometry(4).directmap == 2 << 18


def test_addresses_in_the_upper_half_are_sign_extended_at_512_entries() -> None:
    g = Geometry(512)
    assert g.canonical(0x0000800000000000) == 0xFFFF800000000000
    assert g.canonical(0x00007FFFFFFFF000) == 0x00007FFFFFFFF000
    assert g.is_canonical(0xFFFF800000000000)
    assert g.is_canonical(0x00007FFFFFFFFFFF)
    assert not g.is_canonical(0x0000800000000000)
    assert not g.is_canonical(0xFFFF7FFFFFFFFFFF)
    assert not g.is_canonical(-1)
    assert not g.is_canonical(1 << 64)
    assert g.va_of(256) == 0xFFFF800000000000
    assert g.va_of(255, 511, 511, 511, 0xFFF) == 0x00007FFFFFFFFFFF


def test_small_geometries_have_no_upper_half_only_va_bits() -> None:
    g = Geometry(8)
    assert g.canonical((1 << 24) | 0x5000) == 0x5000
    assert g.is_canonical((1 << 24) - 1)
    assert not g.is_canonical(1 << 24)
    assert g.va_of(7, 7, 7, 7) == (1 << 24) - PAGE_SIZE


@given(st.sampled_from(ALL_SIZES), st.data())
def test_va_of_and_table_offset_are_inverse(entries: int, data: st.DataObject) -> None:
    g = Geometry(entries)
    idx = [data.draw(st.integers(0, entries - 1)) for _ in range(4)]
    offset = data.draw(st.integers(0, PAGE_SIZE - 1))
    va = g.va_of(*idx, offset=offset)
    assert g.is_canonical(va)
    assert [g.table_offset(va, level) for level in (4, 3, 2, 1)] == idx
    assert va & (PAGE_SIZE - 1) == offset


@pytest.mark.parametrize("entries", [0, 2, 6, 12, 1024, -8])
def test_a_table_size_that_is_not_a_power_of_two_from_4_to_512_is_refused(entries: int) -> None:
    rule = rf"entries={entries}: must be a power of two from 4 to 512"
    with pytest.raises(ValueError, match=rule):
        Geometry(entries)


@pytest.mark.parametrize("entries", [True, "8", 8.0])
def test_a_table_size_that_is_not_an_integer_is_refused(entries: object) -> None:
    with pytest.raises(ValueError, match="must be an integer power of two"):
        Geometry(entries)  # type: ignore[arg-type]


def test_check_va_refuses_negative_addresses_naming_the_value() -> None:
    with pytest.raises(ValueError, match=r"-0x1000: must be a 64-bit unsigned value"):
        Geometry().check_va(-0x1000)


def test_check_va_refuses_addresses_wider_than_64_bits() -> None:
    with pytest.raises(ValueError, match=r"0x10000000000000000: must be a 64-bit unsigned value"):
        Geometry().check_va(1 << 64)


def test_check_va_refuses_unaligned_addresses() -> None:
    with pytest.raises(ValueError, match=r"0xffff830000000008: must be 4 KiB aligned"):
        Geometry().check_va(0xFFFF830000000008)


def test_check_va_refuses_non_canonical_addresses_with_the_width() -> None:
    with pytest.raises(ValueError, match=r"0x800000000000: not canonical .*48-bit"):
        Geometry().check_va(0x0000800000000000)
    with pytest.raises(ValueError, match=r"0x1000000: not canonical for 8 entries .*24-bit"):
        Geometry(8).check_va(1 << 24)


def test_check_va_names_what_the_address_is_and_accepts_a_good_one() -> None:
    with pytest.raises(ValueError, match=r"^virt True: must be an integer"):
        Geometry().check_va(True, "virt")
    assert Geometry().check_va(0xFFFF830000000000) == 0xFFFF830000000000


@pytest.mark.parametrize("level", [0, 5, -1])
def test_a_level_outside_1_to_4_is_refused(level: int) -> None:
    with pytest.raises(ValueError, match=rf"level {level}: must be 1..4"):
        Geometry().pages(level)


def test_table_indices_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match=r"l3 index 8: must be in 0..7"):
        Geometry(8).va_of(0, 8)
    with pytest.raises(ValueError, match=r"offset 4096: must be in 0..4095"):
        Geometry(8).va_of(0, offset=4096)


def test_geometries_compare_by_table_size() -> None:
    assert Geometry(8) == Geometry(8)
    assert Geometry(8) != Geometry(16)
    assert len({Geometry(8), Geometry(8), Geometry(512)}) == 2
    assert repr(Geometry(8)) == "Geometry(entries=8)"
