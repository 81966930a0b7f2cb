"""Xen's PTE layout: flag words, entry construction and the named constants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerace.paging import pte
from pagerace.paging.pte import (
    __PAGE_HYPERVISOR,
    _PAGE_NX,
    _PAGE_PRESENT,
    _PAGE_PSE,
    ADDR_MASK,
    FLAGS_MASK_64,
    INVALID_MFN,
    MAP_SMALL_PAGES,
    PAGE_CACHE_ATTRS,
    PAGE_HYPERVISOR,
    describe_flags,
    describe_pte,
    get_pte_flags,
    hypervisor_flags,
    l1f_to_lNf,
    lNf_to_l1f,
    mk_pte,
    pte_flags,
    pte_names,
    pte_pfn,
    put_pte_flags,
)

LOW_BITS = range(0x1000)
HIGH_BITS = [0, 0x800000, 0x400000, 0x780000, 0xFFF000, 0x001000]
flag_words = st.integers(0, 0xFFFFFF)
entries = st.integers(0, (1 << 64) - 1)
pfns = st.integers(0, (1 << 40) - 1)


def test_every_low_flag_combination_survives_put_then_get_with_any_high_part() -> None:
    for high in HIGH_BITS:
        for low in LOW_BITS:
            word = high | low
            entry_bits = put_pte_flags(word)
            assert entry_bits == ((high << 40) | low)
            assert get_pte_flags(entry_bits) == word


@given(flag_words)
def test_a_24_bit_flag_word_survives_put_then_get(word: int) -> None:
    assert get_pte_flags(put_pte_flags(word)) == word
    assert put_pte_flags(word) & ADDR_MASK == 0


@given(entries)
def test_get_then_put_keeps_exactly_the_non_address_bits_of_an_entry(entry: int) -> None:
    assert put_pte_flags(get_pte_flags(entry)) == entry & FLAGS_MASK_64
    assert pte_flags(entry) == get_pte_flags(entry)


def test_nx_is_pte_bit_63_and_flag_word_bit_23() -> None:
    assert put_pte_flags(_PAGE_NX) == 1 << 63
    assert get_pte_flags(1 << 63) == 0x800000


@given(pfns, flag_words)
def test_mk_pte_and_pte_pfn_round_trip_below_52_address_bits(pfn: int, word: int) -> None:
    entry = mk_pte(pfn, word)
    assert pte_pfn(entry) == pfn
    assert pte_flags(entry) == word
    assert entry == (pfn << 12) | put_pte_flags(word)


def test_mk_pte_does_not_mask_a_pfn_too_large_for_the_address_field() -> None:
    entry = mk_pte(1 << 40, 0x63)
    assert entry == (1 << 52) | 0x63
    assert pte_pfn(entry) == 0
    assert get_pte_flags(entry) == 0x1063


@given(flag_words)
def test_invalid_mfn_entries_have_every_address_bit_and_high_bit_set(word: int) -> None:
    entry = mk_pte(INVALID_MFN, word)
    assert entry == 0xFFFF_FFFF_FFFF_F000 | (word & 0xFFF)
    assert pte_pfn(entry) == 0xFF_FFFF_FFFF
    assert get_pte_flags(entry) == 0xFFF000 | (word & 0xFFF)


def test_populate_pt_range_entry_is_invalid_mfn_with_map_small_pages() -> None:
    assert INVALID_MFN == 2**64 - 1
    entry = mk_pte(INVALID_MFN, MAP_SMALL_PAGES)
    assert entry == 0xFFFFFFFFFFFFF200
    assert not entry & _PAGE_PRESENT


def test_l1f_to_lnf_adds_pse_only_to_present_flags_and_lnf_to_l1f_removes_it() -> None:
    assert l1f_to_lNf(PAGE_HYPERVISOR) == 0x8001E3
    for high in (0, 0x800000):
        for low in LOW_BITS:
            word = high | low
            if word & _PAGE_PRESENT:
                assert l1f_to_lNf(word) == word | _PAGE_PSE
                assert lNf_to_l1f(word) == word & ~_PAGE_PSE
                assert lNf_to_l1f(l1f_to_lNf(word)) == word & ~_PAGE_PSE
            else:
                assert l1f_to_lNf(word) == word
                assert lNf_to_l1f(word) == word


# The "Flag values" table of tests/conformance/README.md, 64-bit layout.
README_FLAG_VALUES = {
    "_PAGE_PRESENT": 0x1,
    "_PAGE_RW": 0x2,
    "_PAGE_USER": 0x4,
    "_PAGE_PWT": 0x8,
    "_PAGE_PCD": 0x10,
    "_PAGE_ACCESSED": 0x20,
    "_PAGE_DIRTY": 0x40,
    "_PAGE_PAT": 0x80,
    "_PAGE_PSE": 0x80,
    "_PAGE_GLOBAL": 0x100,
    "_PAGE_AVAIL0": 0x200,
    "MAP_SMALL_PAGES": 0x200,
    "_PAGE_PSE_PAT": 1 << 12,
    "_PAGE_NX": 0x8000000000000000,
    "__PAGE_HYPERVISOR": 0x63,
    "PAGE_HYPERVISOR": 0x8000000000000163,
    "PAGE_HYPERVISOR_RW": 0x8000000000000163,
    "PAGE_HYPERVISOR_RO": 0x8000000000000121,
    "PAGE_HYPERVISOR_RX": 0x121,
    "PAGE_HYPERVISOR_RWX": 0x163,
    "PAGE_HYPERVISOR_SHSTK": 0x8000000000000161,
    "PAGE_HYPERVISOR_UCMINUS": 0x8000000000000173,
    "PAGE_HYPERVISOR_UC": 0x800000000000017B,
    "PAGE_CACHE_ATTRS": 0x98,
}


@pytest.mark.parametrize("name", sorted(README_FLAG_VALUES))
def test_named_flags_have_the_values_of_the_conformance_readme(name: str) -> None:
    value = README_FLAG_VALUES[name]
    assert pte_names()[name] == value
    if name != "_PAGE_PSE_PAT":
        assert put_pte_flags(getattr(pte, name)) == value


def test_the_flag_words_are_the_24_bit_forms() -> None:
    assert PAGE_HYPERVISOR == 0x800163
    assert __PAGE_HYPERVISOR == 0x063
    assert PAGE_CACHE_ATTRS == 0x98
    assert pte.PAGE_HYPERVISOR_UC == 0x80017B


def test_without_nx_the_hypervisor_flags_lose_bit_23() -> None:
    no_nx = hypervisor_flags(nx=False)
    assert no_nx["PAGE_HYPERVISOR"] == 0x163
    assert no_nx["PAGE_HYPERVISOR_RO"] == 0x121
    assert no_nx["PAGE_HYPERVISOR_UC"] == 0x17B
    assert pte_names(nx=False)["_PAGE_NX"] == 0


def test_flag_names_read_like_xens_and_bit_7_is_pat_at_level_1() -> None:
    assert describe_flags(PAGE_HYPERVISOR) == "P|RW|A|D|G|NX"
    assert describe_flags(0x80, level=1) == "PAT"
    assert describe_flags(0x80, level=2) == "PSE"
    assert describe_flags(0) == "0"
    assert describe_flags(0x1000) == "0x1000"


def test_entries_are_described_with_their_frame_and_page_size() -> None:
    assert describe_pte(0) == "0"
    assert describe_pte(mk_pte(0x1234, PAGE_HYPERVISOR)) == "mfn 0x1234 P|RW|A|D|G|NX"
    assert describe_pte(mk_pte(0x200, l1f_to_lNf(PAGE_HYPERVISOR)), level=2).startswith(
        "mfn 0x200 2M "
    )
    assert describe_pte(mk_pte(0x40000, 0x80 | 1), level=3) == "mfn 0x40000 1G P|PSE"
    assert describe_pte(0xFFFFFFFFFFFFF200) == "0xfffffffffffff200 (not present)"
