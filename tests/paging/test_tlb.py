"""The per-CPU TLB and paging-structure cache, flush semantics and staleness."""

from __future__ import annotations

from paging_trees import PSE, Tree

from pagerace.paging.flush import (
    FLUSH_CACHE,
    FLUSH_ORDER,
    FLUSH_TLB,
    FLUSH_TLB_GLOBAL,
    FLUSH_VA_VALID,
)
from pagerace.paging.geometry import PAGE_SIZE, Geometry
from pagerace.paging.tlb import TLB, StaleEntry, TLBEntry, stale_entries
from pagerace.paging.walk import Fault, Translation, translate

G8 = Geometry(8)
G512 = Geometry(512)
PH = 0x8000000000000163  # global
PH_LOCAL = 0x8000000000000063  # PAGE_HYPERVISOR without _PAGE_GLOBAL
DM = 0xFFFF830000000000


def _tree_with_4k_and_2m() -> tuple[Tree, int, int]:
    """A 4K page at DM + 3 pages and a 2M superpage at DM + 2M."""
    tree = Tree(G512)
    small, big = DM + 3 * PAGE_SIZE, DM + 0x200000
    assert tree.place(small, 1, (0x1003 << 12) | PH)
    assert tree.place(big, 2, (0x40000 << 12) | PH | PSE)
    return tree, small, big


def _filled(tree: Tree, *vas: int, strict_global: bool = False) -> TLB:
    tlb = TLB(tree.geometry, strict_global=strict_global)
    for va in vas:
        tlb.lookup_or_walk(tree.memory, tree.root, va)
    return tlb


def test_a_walk_fills_one_entry_per_leaf_and_the_psc_from_its_path() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big + 5 * PAGE_SIZE)
    assert set(tlb.entries) == {(1, small), (2, big)}
    assert tlb.entries[(2, big)] == TLBEntry(big, 2, 0x40000, PH | PSE)
    # L4 and L3 entries are shared; the 4K walk also cached its L2 entry
    assert set(tlb.psc) == {(4, DM), (3, DM), (2, DM)}
    assert tlb.psc[(2, DM)] == tree.tables[(1, DM)]


def test_a_hit_is_served_from_the_tlb_even_after_the_tables_change() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, big)
    tree.memory.write(tree.tables[(2, DM)], 1, 0)  # unmap the superpage, no flush
    hit = tlb.lookup_or_walk(tree.memory, tree.root, big + 7 * PAGE_SIZE)
    assert isinstance(hit, Translation)
    assert (hit.mfn, hit.level, hit.path) == (0x40007, 2, ())
    assert tlb.lookup(big + 7 * PAGE_SIZE) == TLBEntry(big, 2, 0x40000, PH | PSE)
    assert tlb.lookup(small) is None


def test_a_fault_is_not_cached_but_its_path_may_be() -> None:
    tree, small, _ = _tree_with_4k_and_2m()
    tlb = TLB(G512)
    result = tlb.lookup_or_walk(tree.memory, tree.root, small + PAGE_SIZE)
    assert isinstance(result, Fault)
    assert len(tlb) == 0
    assert (2, DM) in tlb.psc


def test_an_order_0_flush_drops_every_entry_covering_the_page_and_the_whole_psc() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    tlb.flush(big + 9 * PAGE_SIZE, FLUSH_TLB | FLUSH_ORDER(0))
    assert set(tlb.entries) == {(1, small)}
    assert tlb.psc == {}
    tlb.flush(small, FLUSH_TLB_GLOBAL | FLUSH_ORDER(0))
    assert len(tlb) == 0


def test_an_order_0_flush_of_another_page_keeps_the_entry_but_still_empties_the_psc() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    tlb.flush(small + PAGE_SIZE, FLUSH_TLB | FLUSH_ORDER(0))
    assert set(tlb.entries) == {(1, small), (2, big)}
    assert tlb.psc == {}


def test_any_other_order_flushes_everything_including_global_entries() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    for flags in (FLUSH_TLB | FLUSH_ORDER(9), FLUSH_TLB | FLUSH_ORDER(1), FLUSH_TLB_GLOBAL):
        tlb = _filled(tree, small, big)
        tlb.flush(0, flags)
        assert (len(tlb), tlb.psc) == (0, {}), hex(flags)


def test_a_flush_without_tlb_bits_only_records_a_cache_flush() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    tlb.flush(small, FLUSH_CACHE | FLUSH_VA_VALID | FLUSH_ORDER(0))
    tlb.flush(small, FLUSH_CACHE | FLUSH_TLB | FLUSH_ORDER(0))
    assert set(tlb.entries) == {(2, big)}
    assert (tlb.flushes, tlb.tlb_flushes, tlb.cache_flushes) == (2, 1, 2)


def test_strict_mode_keeps_global_entries_unless_flush_tlb_global_is_given() -> None:
    tree = Tree(G512)
    glob, local = DM, DM + PAGE_SIZE
    assert tree.place(glob, 1, (0x10 << 12) | PH)
    assert tree.place(local, 1, (0x11 << 12) | PH_LOCAL)
    tlb = _filled(tree, glob, local, strict_global=True)
    tlb.flush(0, FLUSH_TLB | FLUSH_ORDER(9))
    assert set(tlb.entries) == {(1, glob)}
    tlb.flush(0, FLUSH_TLB | FLUSH_TLB_GLOBAL | FLUSH_ORDER(9))
    assert len(tlb) == 0
    relaxed = _filled(tree, glob, local)
    relaxed.flush(0, FLUSH_TLB | FLUSH_ORDER(9))
    assert len(relaxed) == 0


def test_nothing_is_stale_while_the_tables_are_unchanged() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    assert stale_entries(tlb, tree.memory, tree.root, G512) == []


def test_an_unmapped_page_left_in_the_tlb_is_stale() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    tree.memory.write(tree.tables[(1, DM)], 3, 0)
    found = stale_entries(tlb, tree.memory, tree.root, G512)
    assert [(s.kind, s.va, s.level) for s in found] == [("tlb", small, 1)]
    assert "faults (not-present) at L1" in found[0].reason
    assert isinstance(found[0], StaleEntry)


def test_a_remapped_page_is_stale_and_a_flush_of_it_cures_it() -> None:
    tree, small, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, small, big)
    tree.memory.write(tree.tables[(1, DM)], 3, (0x2000 << 12) | PH)
    found = stale_entries(tlb, tree.memory, tree.root, G512)
    assert [(s.kind, s.va) for s in found] == [("tlb", small)]
    assert "mfn 0x1003" in found[0].reason and "mfn 0x2000" in found[0].reason
    tlb.flush(small, FLUSH_TLB | FLUSH_ORDER(0))
    assert stale_entries(tlb, tree.memory, tree.root, G512) == []


def test_a_changed_attribute_makes_an_entry_stale() -> None:
    tree, _, big = _tree_with_4k_and_2m()
    tlb = _filled(tree, big)
    tree.memory.write(tree.tables[(2, DM)], 1, (0x40000 << 12) | 0x8000000000000121 | PSE)
    assert [s.va for s in stale_entries(tlb, tree.memory, tree.root, G512)] == [big]


def test_a_superpage_shattered_into_identical_4k_pages_is_not_stale() -> None:
    tree = Tree(G8)
    base = G8.va_of(1, 1, 1)
    assert tree.place(base, 2, (0x40 << 12) | PH | PSE)
    tlb = _filled(tree, base)
    l2 = tree.tables[(2, G8.canonical(base & ~(G8.span[3] - 1)))]
    l1 = tree.memory.alloc(1)
    assert l1 is not None
    for i in range(8):
        tree.memory.write(l1, i, ((0x40 + i) << 12) | PH)
    tree.memory.write(l2, 1, (l1 << 12) | 0x63)
    assert stale_entries(tlb, tree.memory, tree.root, G8) == []
    tree.memory.write(l1, 6, ((0x90) << 12) | PH)  # one page of the span now differs
    found = stale_entries(tlb, tree.memory, tree.root, G8)
    assert [(s.kind, s.va, s.level) for s in found] == [("tlb", base, 2)]
    assert hex(base + 6 * PAGE_SIZE) in found[0].reason


def test_a_4k_entry_inside_a_new_identical_superpage_is_not_stale() -> None:
    tree = Tree(G8)
    base = G8.va_of(1, 1, 1)
    for i in range(8):
        assert tree.place(base + i * PAGE_SIZE, 1, ((0x40 + i) << 12) | PH)
    tlb = _filled(tree, base + 2 * PAGE_SIZE)
    l2 = tree.tables[(2, G8.canonical(base & ~(G8.span[3] - 1)))]
    tree.memory.write(l2, 1, (0x40 << 12) | PH | PSE)  # coalesced
    stale = stale_entries(tlb, tree.memory, tree.root, G8)
    assert [(s.kind, s.level) for s in stale] == [("psc", 2)]  # only the old L2 entry


def test_psc_entries_to_freed_or_reused_tables_are_stale_and_a_walk_follows_them() -> None:
    tree = Tree(G8)
    va = G8.va_of(1, 2, 3, 4)
    assert tree.place(va, 1, (0x99 << 12) | PH)
    tlb = _filled(tree, va)
    l2 = tree.tables[(2, G8.canonical(va & ~(G8.span[3] - 1)))]
    l1 = tree.tables[(1, G8.canonical(va & ~(G8.span[2] - 1)))]
    tree.memory.write(l2, 3, 0)  # unlink the L1 table and free it, without a flush
    tree.memory.free(l1)
    found = stale_entries(tlb, tree.memory, tree.root, G8)
    assert ("psc", 2, l1) in [(s.kind, s.level, s.cached) for s in found]
    assert any("not a live table" in s.reason for s in found)
    assert tree.memory.alloc(1) == l1  # reused as another L1 table, for some other range
    tree.memory.write(l1, 5, (0x55 << 12) | PH)
    found = stale_entries(tlb, tree.memory, tree.root, G8)
    assert any(s.kind == "psc" and "no longer linked" in s.reason for s in found)
    # a TLB miss next to va starts below the stale PSC entry and reads the reused table
    got = tlb.lookup_or_walk(tree.memory, tree.root, va + PAGE_SIZE)
    assert isinstance(got, Translation)
    assert (got.mfn, len(got.path), got.path[0].frame) == (0x55, 1, l1)
    assert isinstance(translate(tree.memory, tree.root, G8, va + PAGE_SIZE), Fault)
    tlb.flush(va + PAGE_SIZE, FLUSH_TLB | FLUSH_ORDER(0))
    assert isinstance(tlb.lookup_or_walk(tree.memory, tree.root, va + PAGE_SIZE), Fault)
