"""The hardware page walk and the walk over every reachable entry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paging_trees import PSE, Tree, trees

from pagerace.paging.geometry import PAGE_SHIFT, PAGE_SIZE, Geometry
from pagerace.paging.walk import (
    NOT_PRESENT,
    RESERVED_BIT,
    Fault,
    Translation,
    WalkStep,
    is_leaf_entry,
    is_table_entry,
    reachable_tables,
    translate,
    walk_entries,
)

G8 = Geometry(8)
G512 = Geometry(512)
PH = 0x8000000000000163


def _check(tree: Tree, va: int) -> None:
    got = translate(tree.memory, tree.root, tree.geometry, va)
    kind, level, mfn, flags = tree.expect(va)
    if kind == "map":
        assert isinstance(got, Translation), (hex(va), got)
        assert (got.mfn, got.flags, got.level) == (mfn, flags, level), hex(va)
    else:
        assert isinstance(got, Fault), (hex(va), got)
        assert (got.level, got.reason) == (level, NOT_PRESENT), hex(va)
    assert [step.level for step in got.path] == list(range(4, got.level - 1, -1))
    assert got.path[0].frame == tree.root


@settings(max_examples=60, deadline=None)
@given(trees(8))
def test_the_walker_agrees_with_a_naive_model_on_every_page_at_8_entries(tree: Tree) -> None:
    g = tree.geometry
    for page in range(1 << (g.va_bits - PAGE_SHIFT)):
        _check(tree, page << PAGE_SHIFT)


@settings(max_examples=80, deadline=None)
@given(trees(512), st.lists(st.integers(0, (1 << 48) - 1), max_size=20))
def test_the_walker_agrees_with_a_naive_model_at_512_entries(tree: Tree, extra: list[int]) -> None:
    g = tree.geometry
    probes = [g.canonical(v) for v in extra]
    for level, base in [*tree.leaves, *tree.nonpresent]:
        span = g.span[level]
        for va in (base, base + span - PAGE_SIZE, base + span // 2 + 0x123, base - 1, base + span):
            probes.append(g.canonical(va))
    for va in probes:
        _check(tree, va)


def test_a_4k_leaf_gives_its_frame_its_flags_and_the_full_path() -> None:
    tree = Tree(G512)
    va = 0xFFFF830000000000 + 5 * 0x200000 + 3 * PAGE_SIZE
    assert tree.place(va, 1, (0x1234 << 12) | PH | 0x80)  # PAT, not PSE, at L1
    got = translate(tree.memory, tree.root, G512, va + 0x456)
    assert isinstance(got, Translation)
    assert (got.mfn, got.flags, got.level) == (0x1234, PH | 0x80, 1)
    assert got.entry == (0x1234 << 12) | PH | 0x80
    assert [(s.level, s.offset) for s in got.path] == [(4, 262), (3, 0), (2, 5), (1, 3)]
    assert all(isinstance(s, WalkStep) for s in got.path)


def test_a_2m_superpage_maps_base_plus_offset_pages_and_keeps_pse() -> None:
    tree = Tree(G512)
    base = 0xFFFF830000000000 + 0x200000
    assert tree.place(base, 2, (0x40000 << 12) | PH | PSE)
    got = translate(tree.memory, tree.root, G512, base + 7 * PAGE_SIZE)
    assert isinstance(got, Translation)
    assert (got.mfn, got.flags, got.level) == (0x40007, PH | PSE, 2)


def test_a_1g_superpage_maps_base_plus_offset_pages() -> None:
    tree = Tree(G512)
    base = 0xFFFF830040000000
    assert tree.place(base, 3, (0x80000 << 12) | PH | PSE)
    got = translate(tree.memory, tree.root, G512, base + 0x3FFFF000)
    assert isinstance(got, Translation)
    assert (got.mfn, got.level) == (0x80000 + 0x3FFFF, 3)


@pytest.mark.parametrize(("level", "g"), [(2, G512), (3, G512), (2, G8), (3, G8)])
def test_bit_12_of_a_superpage_is_its_pat_bit_not_part_of_the_frame(
    level: int, g: Geometry
) -> None:
    tree = Tree(g)
    base = g.va_of(1, 1) if level == 3 else g.va_of(1, 1, 1)
    mfn = 3 * g.pages(level)
    assert tree.place(base, level, (mfn << 12) | (1 << 12) | PH | PSE)
    got = translate(tree.memory, tree.root, g, base + PAGE_SIZE)
    assert isinstance(got, Translation)
    assert got.mfn == mfn + 1
    assert got.flags == PH | PSE


@pytest.mark.parametrize(
    ("level", "g", "bit"),
    [(2, G512, 13), (2, G512, 20), (3, G512, 13), (3, G512, 29), (2, G8, 14), (3, G8, 17)],
)
def test_a_superpage_with_a_reserved_frame_bit_set_faults(
    level: int, g: Geometry, bit: int
) -> None:
    tree = Tree(g)
    base = g.va_of(1, 1) if level == 3 else g.va_of(1, 1, 1)
    assert tree.place(base, level, (1 << bit) | PH | PSE)
    got = translate(tree.memory, tree.root, g, base)
    assert isinstance(got, Fault)
    assert (got.level, got.reason) == (level, RESERVED_BIT)


@pytest.mark.parametrize(("level", "g", "bit"), [(2, G512, 21), (3, G512, 30), (2, G8, 15)])
def test_the_first_frame_bit_of_a_superpage_is_not_reserved(
    level: int, g: Geometry, bit: int
) -> None:
    tree = Tree(g)
    base = g.va_of(1, 1) if level == 3 else g.va_of(1, 1, 1)
    assert tree.place(base, level, (1 << bit) | PH | PSE)
    got = translate(tree.memory, tree.root, g, base)
    assert isinstance(got, Translation)
    assert got.mfn == 1 << (bit - 12)


def test_pse_in_an_l4_entry_is_reserved() -> None:
    tree = Tree(G512)
    tree.memory.write(tree.root, 3, PH | PSE)
    got = translate(tree.memory, tree.root, G512, G512.va_of(3))
    assert isinstance(got, Fault)
    assert (got.level, got.reason) == (4, RESERVED_BIT)


def test_without_1g_pages_pse_in_an_l3_entry_is_reserved() -> None:
    tree = Tree(G512)
    base = G512.va_of(262, 1)
    assert tree.place(base, 3, (0x40000 << 12) | PH | PSE)
    assert isinstance(translate(tree.memory, tree.root, G512, base), Translation)
    got = translate(tree.memory, tree.root, G512, base, page1gb=False)
    assert isinstance(got, Fault)
    assert (got.level, got.reason) == (3, RESERVED_BIT)


@pytest.mark.parametrize("level", [4, 3, 2, 1])
def test_a_missing_entry_faults_at_its_level_with_the_path_so_far(level: int) -> None:
    tree = Tree(G8)
    va = G8.va_of(2, 3, 4, 5)
    if level < 4:
        # create the tables down to `level` by placing a neighbour's leaf there
        assert tree.place(va ^ G8.span[level], level, (7 << 12) | 0x63 | (PSE if level > 1 else 0))
    got = translate(tree.memory, tree.root, G8, va)
    assert isinstance(got, Fault)
    assert (got.level, got.reason) == (level, NOT_PRESENT)
    assert len(got.path) == 5 - level
    assert got.path[-1].entry == 0


def test_a_non_present_entry_with_other_bits_set_faults_as_not_present() -> None:
    tree = Tree(G512)
    va = G512.va_of(262, 0, 0, 1)
    assert tree.place(va, 1, 0xFFFFFFFFFFFFF200)
    got = translate(tree.memory, tree.root, G512, va)
    assert isinstance(got, Fault)
    assert (got.level, got.reason) == (1, NOT_PRESENT)
    assert got.path[-1].entry == 0xFFFFFFFFFFFFF200


def test_a_walk_reads_a_freed_table_as_it_was_left() -> None:
    tree = Tree(G8)
    va = G8.va_of(1, 2, 3, 4)
    assert tree.place(va, 1, (0x99 << 12) | PH)
    l1 = tree.tables[(1, G8.canonical(va & ~(G8.span[2] - 1)))]
    tree.memory.free(l1)
    got = translate(tree.memory, tree.root, G8, va)
    assert isinstance(got, Translation)
    assert got.mfn == 0x99
    assert got.path[-1].frame == l1


def test_a_walk_through_a_data_frame_reads_what_was_stored_there() -> None:
    tree = Tree(G8)
    va = G8.va_of(1, 2, 3, 4)
    assert tree.place(va, 2, (0x42 << 12) | 0x63)  # an L2 entry pointing at data frame 0x42
    tree.memory.write(0x42, 4, (0x77 << 12) | PH)
    got = translate(tree.memory, tree.root, G8, va)
    assert isinstance(got, Translation)
    assert (got.mfn, got.path[-1].frame) == (0x77, 0x42)


def test_a_walk_can_start_at_a_lower_table() -> None:
    tree = Tree(G8)
    va = G8.va_of(1, 2, 3, 4)
    assert tree.place(va, 1, (0x55 << 12) | PH)
    l1 = tree.tables[(1, G8.canonical(va & ~(G8.span[2] - 1)))]
    got = translate(tree.memory, l1, G8, va, level=1)
    assert isinstance(got, Translation)
    assert got.mfn == 0x55
    assert got.path == (WalkStep(1, l1, 4, (0x55 << 12) | PH),)


@pytest.mark.parametrize("va", [0x0000800000000000, -1, 1 << 64])
def test_a_non_canonical_address_is_refused(va: int) -> None:
    with pytest.raises(ValueError, match="must be canonical for 512 entries"):
        translate(Tree(G512).memory, 0, G512, va)


def test_a_walk_starting_at_level_0_is_refused() -> None:
    with pytest.raises(ValueError, match=r"level 0: a walk starts at a table of level 1\.\.4"):
        translate(Tree(G8).memory, 0, G8, 0, level=0)


def test_entries_are_classified_as_the_dump_does() -> None:
    assert is_leaf_entry(1, 0x1) and not is_table_entry(1, 0x1)
    assert is_leaf_entry(2, 0x81) and is_leaf_entry(3, 0x81)
    assert is_table_entry(2, 0x1) and is_table_entry(3, 0x1)
    assert is_table_entry(4, 0x81) and not is_leaf_entry(4, 0x81)
    assert not is_leaf_entry(1, 0x80) and not is_table_entry(4, 0x2)


@settings(max_examples=40, deadline=None)
@given(trees(8))
def test_walk_entries_yields_every_written_entry_in_ascending_pre_order(tree: Tree) -> None:
    got = list(walk_entries(tree.memory, tree.root, G8))
    leaves = [(va, level) for va, level, entry in got if is_leaf_entry(level, entry)]
    holes = [(va, level) for va, level, entry in got if not entry & 1]
    tables = [(va, level) for va, level, entry in got if is_table_entry(level, entry)]
    assert sorted(leaves) == leaves == sorted((va, lvl) for lvl, va in tree.leaves)
    assert sorted(holes) == holes == sorted((va, lvl) for lvl, va in tree.nonpresent)
    assert sorted(tables, key=lambda t: (t[0], -t[1])) == tables
    assert sorted(tables) == sorted((va, lvl + 1) for lvl, va in tree.tables)
    assert reachable_tables(tree.memory, tree.root, G8) == {
        frame: lvl for (lvl, _), frame in tree.tables.items()
    }
