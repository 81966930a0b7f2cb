"""The canonical state dump: run encoding, expansion and dump_state."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paging_trees import Tree, trees

from pagerace.paging.dump import (
    StateDump,
    dump_state,
    encode_flushes,
    encode_leaves,
    encode_nonpresent,
    encode_tables,
    expand_flushes,
    expand_leaves,
    expand_nonpresent,
    expand_tables,
)
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import ADDR_MASK, FLAGS_MASK_64, MAP_SMALL_PAGES
from pagerace.paging.walk import is_leaf_entry, is_table_entry, reachable_tables, walk_entries

G512 = Geometry(512)
G8 = Geometry(8)
DM = 0xFFFF830000000000
PH = 0x8000000000000163  # PAGE_HYPERVISOR, 64-bit layout
PH_2M = PH | 0x80
PH_LOCAL = 0x8000000000000063  # PAGE_HYPERVISOR without _PAGE_GLOBAL
NONLEAF = 0x63
INVALID_L1 = 0xFFFFFFFFFFFFF200  # populate_pt_range's entry

# Every result with at most this many expanded elements, plus every BIG_STRIDE-th bigger one.
SMALL_STATE = 20_000
BIG_STRIDE = 60


def _size(result: dict[str, Any]) -> int:
    return sum(run[-1] for key in ("leaves", "tables", "nonpresent") for run in result[key])


def _sample(vectors: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    picked = []
    big = 0
    for line in vectors:
        for i, result in enumerate(line["results"]):
            if _size(result) <= SMALL_STATE:
                picked.append((line["id"], i, result))
            else:
                if big % BIG_STRIDE == 0:
                    picked.append((line["id"], i, result))
                big += 1
    return picked


def _canonical_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- round trips on the real states of the conformance vectors ----------------------
def test_vector_states_survive_expansion_reencoding_and_a_dump_of_the_rebuilt_memory(
    xen_vectors: list[dict[str, Any]], state_builder: Any
) -> None:
    """expand -> encode gives the identical JSON, and a memory rebuilt from the
    expansion (one fresh table per non-leaf element) dumps back to the vector."""
    sample = _sample(xen_vectors)
    assert len(sample) > 3000
    for line_id, i, result in sample:
        where = f"{line_id} result {i}"
        leaves = expand_leaves(result["leaves"])
        tables = expand_tables(result["tables"])
        nonpresent = expand_nonpresent(result["nonpresent"])
        assert _canonical_json(encode_leaves(leaves)) == _canonical_json(result["leaves"]), where
        assert _canonical_json(encode_tables(tables)) == _canonical_json(result["tables"]), where
        assert _canonical_json(encode_nonpresent(nonpresent)) == _canonical_json(
            result["nonpresent"]
        ), where
        memory, root = state_builder(G512, tables, leaves, nonpresent)
        del leaves, tables, nonpresent
        dump = dump_state(memory, root, G512)
        assert dump.leaves == result["leaves"], where
        assert dump.tables == result["tables"], where
        assert dump.nonpresent == result["nonpresent"], where
        assert dump.live_pt == result["live_pt"], where


def test_expanding_then_encoding_the_vector_flushes_gives_back_the_identical_json(
    xen_vectors: list[dict[str, Any]],
) -> None:
    for line in xen_vectors:
        for i, result in enumerate(line["results"]):
            if sum(run[2] for run in result["flushes"]) > SMALL_STATE:
                continue
            calls = expand_flushes(result["flushes"])
            assert _canonical_json(encode_flushes(calls)) == _canonical_json(result["flushes"]), (
                f"{line['id']} result {i}"
            )


# -- dump_state against a naive dump -----------------------------------------------
def _naive_dump(memory: PhysicalMemory, root: int, g: Geometry) -> StateDump:
    leaves, tables, holes = [], [], []
    for va, level, entry in walk_entries(memory, root, g):
        if is_leaf_entry(level, entry):
            leaves.append([va, level, (entry & ADDR_MASK) >> 12, entry & FLAGS_MASK_64])
        elif is_table_entry(level, entry):
            tables.append([va, level, entry & FLAGS_MASK_64])
        else:
            holes.append([va, level, entry])
    return StateDump(
        encode_leaves(leaves, g),
        encode_tables(tables, g),
        encode_nonpresent(holes, g),
        len(reachable_tables(memory, root, g)),
    )


@settings(max_examples=80, deadline=None)
@given(trees(8, max_items=40))
def test_dump_state_matches_a_naive_walk_and_encoding_at_8_entries(tree: Tree) -> None:
    dump = dump_state(tree.memory, tree.root, G8)
    assert dump == _naive_dump(tree.memory, tree.root, G8)
    assert dump.live_pt == len(tree.tables)
    assert sum(run[-1] for run in dump.leaves) == len(tree.leaves)


@settings(max_examples=60, deadline=None)
@given(trees(512, max_items=24))
def test_dump_state_matches_a_naive_walk_and_encoding_at_512_entries(tree: Tree) -> None:
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump == _naive_dump(tree.memory, tree.root, G512)
    assert dump.live_pt == len(tree.tables)


def _fill_l1(tree: Tree, va: int, words: list[int]) -> int:
    """Make the L1 table for va (through a placeholder) and set all its words."""
    g = tree.geometry
    assert tree.place(va, 1, 0x2)
    l1 = tree.tables[(1, g.canonical(va & ~(g.span[2] - 1)))]
    tree.memory.table(l1)[:] = words
    return l1


def test_full_l1_tables_of_consecutive_leaves_continue_one_run_across_tables() -> None:
    tree = Tree(G512)
    for t in range(3):
        _fill_l1(
            tree, DM + t * 0x200000, [((0x100000 + t * 512 + k) << 12) | PH for k in range(512)]
        )
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.leaves == [[DM, 1, 0x100000, PH, 1536]]
    assert dump.tables == [[DM, 4, NONLEAF, 1], [DM, 3, NONLEAF, 1], [DM, 2, NONLEAF, 3]]
    assert dump.live_pt == 5


def test_a_run_breaks_where_the_frame_the_flags_or_the_address_does_not_continue() -> None:
    tree = Tree(G512)
    words = [((0x100000 + k) << 12) | PH for k in range(512)]
    words[511] = (0x200000 << 12) | PH  # frame jump on the last entry
    words[100] = ((0x100000 + 100) << 12) | PH | MAP_SMALL_PAGES  # other flags
    words[200] = 0  # a hole
    _fill_l1(tree, DM, words)
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.leaves == [
        [DM, 1, 0x100000, PH, 100],
        [DM + 100 * 0x1000, 1, 0x100064, PH | MAP_SMALL_PAGES, 1],
        [DM + 101 * 0x1000, 1, 0x100065, PH, 99],
        [DM + 201 * 0x1000, 1, 0x1000C9, PH, 310],
        [DM + 511 * 0x1000, 1, 0x200000, PH, 1],
    ]


def test_a_single_odd_entry_in_the_middle_of_an_l1_table_splits_the_run() -> None:
    tree = Tree(G512)
    words = [((0x100000 + k) << 12) | PH for k in range(512)]
    words[256] = ((0x100000 + 256) << 12) | PH_LOCAL  # first and last entries still fit
    _fill_l1(tree, DM, words)
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.leaves == [
        [DM, 1, 0x100000, PH, 256],
        [DM + 256 * 0x1000, 1, 0x100100, PH_LOCAL, 1],
        [DM + 257 * 0x1000, 1, 0x100101, PH, 255],
    ]
    words = [INVALID_L1] * 512
    words[256] = 0x2
    _fill_l1(tree, DM + 0x200000, words)
    assert dump_state(tree.memory, tree.root, G512).nonpresent == [
        [DM + 0x200000, 1, INVALID_L1, 256],
        [DM + 0x200000 + 256 * 0x1000, 1, 0x2, 1],
        [DM + 0x200000 + 257 * 0x1000, 1, INVALID_L1, 255],
    ]


def test_an_l1_table_of_identical_non_present_entries_is_one_run_and_joins_the_next() -> None:
    tree = Tree(G512)
    _fill_l1(tree, DM, [INVALID_L1] * 512)
    words = [INVALID_L1] * 512
    words[3] = 0
    _fill_l1(tree, DM + 0x200000, words)
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.nonpresent == [
        [DM, 1, INVALID_L1, 515],
        [DM + 0x200000 + 4 * 0x1000, 1, INVALID_L1, 508],
    ]
    assert dump.leaves == []


def test_leaves_of_different_levels_never_share_a_run() -> None:
    tree = Tree(G512)
    # 2M leaf at DM mapping frames 0..511, then 4K leaves continuing frame 512 at DM + 2M
    assert tree.place(DM, 2, PH_2M)
    _fill_l1(tree, DM + 0x200000, [((512 + k) << 12) | PH_2M for k in range(512)])
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.leaves == [[DM, 2, 0, PH_2M, 1], [DM + 0x200000, 1, 512, PH_2M, 512]]


def test_runs_do_not_cross_the_non_canonical_hole() -> None:
    tree = Tree(G512)
    low_end = G512.va_of(255, 511, 511, 511)
    assert tree.place(low_end, 1, (0x10 << 12) | PH)
    assert tree.place(0xFFFF800000000000, 1, (0x11 << 12) | PH)
    dump = dump_state(tree.memory, tree.root, G512)
    assert dump.leaves == [
        [0x00007FFFFFFFF000, 1, 0x10, PH, 1],
        [0xFFFF800000000000, 1, 0x11, PH, 1],
    ]


def test_frames_that_overflow_the_address_field_are_not_taken_as_one_run() -> None:
    tree = Tree(G8)
    top = (1 << 40) - 4
    _fill_l1(tree, 0, [((top + k) << 12) | PH for k in range(8)])
    dump = dump_state(tree.memory, tree.root, G8)
    # from k = 4 on, the frame spills into bit 52: pfn wraps to 0 and the flags change
    assert dump.leaves == [[0, 1, top, PH, 4], [0x4000, 1, 0, PH | 1 << 52, 4]]
    assert dump == _naive_dump(tree.memory, tree.root, G8)


def test_live_pt_counts_distinct_table_frames_but_not_the_root() -> None:
    tree = Tree(G8)
    assert tree.place(G8.va_of(1, 0, 0, 0), 1, (5 << 12) | PH)
    l3 = tree.tables[(3, G8.va_of(1))]
    tree.memory.write(tree.root, 2, tree.memory.read(tree.root, 1))  # slot 2 shares the L3
    tree.memory.write(tree.root, 3, (tree.root << 12) | NONLEAF)  # self-map, as an L3 table
    dump = dump_state(tree.memory, tree.root, G8)
    assert dump.live_pt == 3
    # the self-map makes the tree visible again under slot 3, one level down
    assert [run[:2] for run in dump.leaves][:2] == [[G8.va_of(1), 1], [G8.va_of(2), 1]]
    assert all(run[0] >= G8.va_of(3) for run in dump.leaves[2:])
    assert tree.memory.is_table(l3)


def test_a_table_entry_pointing_at_a_data_frame_dumps_what_is_stored_there() -> None:
    tree = Tree(G8)
    assert tree.place(G8.va_of(1, 1, 1), 2, (0x42 << 12) | NONLEAF)
    tree.memory.write(0x42, 2, (9 << 12) | PH)
    dump = dump_state(tree.memory, tree.root, G8)
    assert dump.leaves == [[G8.va_of(1, 1, 1, 2), 1, 9, PH, 1]]
    assert dump.live_pt == 3


def test_an_empty_tree_dumps_as_nothing() -> None:
    tree = Tree(G512)
    assert dump_state(tree.memory, tree.root, G512) == StateDump([], [], [], 0)
    assert dump_state(tree.memory, tree.root, G512).as_dict() == {
        "leaves": [],
        "tables": [],
        "nonpresent": [],
        "live_pt": 0,
    }


# -- the run codec on its own --------------------------------------------------------
def test_expansion_follows_the_readme_formulas_at_any_geometry() -> None:
    assert expand_leaves([[DM, 2, 0x200, PH_2M, 2]]) == [
        [DM, 2, 0x200, PH_2M],
        [DM + 0x200000, 2, 0x400, PH_2M],
    ]
    assert expand_leaves([[0x8000, 2, 8, PH_2M, 2]], G8) == [
        [0x8000, 2, 8, PH_2M],
        [0x10000, 2, 16, PH_2M],
    ]
    assert expand_tables([[DM, 3, NONLEAF, 2]]) == [[DM, 3, NONLEAF], [DM + 0x40000000, 3, NONLEAF]]
    assert expand_nonpresent([[0, 1, INVALID_L1, 2]]) == [
        [0, 1, INVALID_L1],
        [0x1000, 1, INVALID_L1],
    ]


def test_flush_runs_stride_by_their_order_and_order_0_repeats_the_address() -> None:
    flags9 = 0x100 | 10  # FLUSH_TLB | FLUSH_ORDER(9)
    assert expand_flushes([[DM, flags9, 2]]) == [[DM, flags9], [DM + 0x200000, flags9]]
    assert expand_flushes([[0, 0x200, 3]]) == [[0, 0x200]] * 3
    assert expand_flushes([[DM, 0x101, 2]]) == [[DM, 0x101], [DM + 0x1000, 0x101]]
    assert encode_flushes([(0, 0x200), (0, 0x200), (DM, flags9), (DM, flags9)]) == [
        [0, 0x200, 2],
        [DM, flags9, 1],
        [DM, flags9, 1],
    ]


_levels = st.sampled_from([1, 2, 3])


@st.composite
def _leaf_elements(draw: st.DrawFn, g: Geometry) -> list[list[int]]:
    va = g.directmap
    out = []
    for _ in range(draw(st.integers(0, 30))):
        level = draw(_levels)
        va = (va + g.span[level] - 1) & ~(g.span[level] - 1)
        va += draw(st.sampled_from([0, 0, 0, 1])) * g.span[level]
        mfn = draw(st.sampled_from([0, 1, 512, 513, 4096]))
        if out and draw(st.booleans()):
            mfn = out[-1][2] + g.pages(out[-1][1])
        flags = draw(st.sampled_from([PH, PH_2M, PH | MAP_SMALL_PAGES]))
        out.append([va, level, mfn, flags])
        va += g.span[level]
    return out


@pytest.mark.parametrize("g", [G8, G512])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_encoding_then_expanding_random_ascending_leaves_is_the_identity(
    g: Geometry, data: st.DataObject
) -> None:
    elements = data.draw(_leaf_elements(g))
    runs = encode_leaves(elements, g)
    assert expand_leaves(runs, g) == elements
    # maximal: no two neighbouring runs could be merged
    for a, b in itertools.pairwise(runs):
        span = g.span[a[1]]
        assert not (
            a[1] == b[1]
            and a[3] == b[3]
            and b[0] == a[0] + a[4] * span
            and b[2] == a[2] + a[4] * (span >> 12)
        )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, DM, DM + 0x1000]), st.sampled_from([0x200, 0x101, 0x10A, 0x500])
        )
    )
)
def test_encoding_then_expanding_flush_calls_is_the_identity(calls: list[tuple[int, int]]) -> None:
    assert expand_flushes(encode_flushes(calls)) == [list(c) for c in calls]


def test_a_word_wider_than_64_bits_falls_back_to_the_per_entry_loop() -> None:
    tree = Tree(G8)
    words = [((0x100 + k) << 12) | PH for k in range(8)]
    words[5] |= 1 << 64  # only a model bug could store this; the dump must not crash
    _fill_l1(tree, 0, words)
    dump = dump_state(tree.memory, tree.root, G8)
    assert dump.leaves == [[0, 1, 0x100, PH, 8]]
    assert dump == _naive_dump(tree.memory, tree.root, G8)


@pytest.mark.parametrize("level", [2, 3])
@pytest.mark.parametrize("g", [G8, G512], ids=["8", "512"])
def test_full_tables_of_consecutive_superpages_are_one_run_as_the_naive_walk_says(
    level: int, g: Geometry
) -> None:
    """The bulk test of a whole L2 (L3) table of superpage leaves, and the tables it
    must not take as one run: a frame jump, other flags, a hole, a table entry."""
    pages = g.pages(level)
    base_va = g.directmap
    for spoil in (None, "jump", "flags", "hole", "table"):
        tree = Tree(g)
        for k in range(g.entries):
            assert tree.place(
                base_va + k * g.span[level], level, ((7 * g.entries + k) * pages << 12) | PH_2M
            )
        if spoil is not None:
            table = tree.tables[(level, base_va)]
            k = g.entries // 2
            entry = tree.memory.read(table, k)
            tree.memory.write(
                table,
                k,
                {
                    "jump": entry + (pages << 13),
                    "flags": entry ^ 0x2,
                    "hole": 0,
                    "table": (tree.memory.alloc(level - 1) or 0) << 12 | NONLEAF,
                }[spoil],
            )
        dump = dump_state(tree.memory, tree.root, g)
        assert dump == _naive_dump(tree.memory, tree.root, g), spoil
        if spoil is None:
            assert dump.leaves == [[base_va, level, 7 * g.entries * pages, PH_2M, g.entries]]
        else:
            assert len(dump.leaves) > 1
