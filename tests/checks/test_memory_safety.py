"""Quiescence oracles on the page-table graph."""

from __future__ import annotations

from pagerace.checks import graph_problems, leaked_tables
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import mk_pte


def tree() -> tuple[PhysicalMemory, int, int, int]:
    m = PhysicalMemory(Geometry(8))
    root, l3, l2 = m.alloc(4), m.alloc(3), m.alloc(2)
    assert root is not None and l3 is not None and l2 is not None
    m.write(root, 4, mk_pte(l3, 0x63))
    m.write(l3, 1, mk_pte(l2, 0x63))
    return m, root, l3, l2


def test_a_healthy_tree_has_no_problems_and_no_leaks() -> None:
    m, root, _, _ = tree()
    g = m.geometry
    assert graph_problems(m, root, g) == []
    assert leaked_tables(m, root, g) == []


def test_an_allocated_table_no_entry_reaches_is_a_leak() -> None:
    m, root, _, _ = tree()
    lost = m.alloc(1)
    assert leaked_tables(m, root, m.geometry) == [(lost, 1)]


def test_an_entry_still_pointing_at_a_freed_table_is_reported_as_use_after_free() -> None:
    m, root, _, l2 = tree()
    m.free(l2, 2)
    problems = graph_problems(m, root, m.geometry)
    assert [p.kind for p in problems] == ["use-after-free"]
    assert "freed" in problems[0].message


def test_a_table_entry_pointing_at_data_or_at_a_table_of_the_wrong_level_is_torn() -> None:
    m, root, l3, _ = tree()
    m.write(l3, 2, mk_pte(0x42, 0x63))
    l1 = m.alloc(1)
    assert l1 is not None
    m.write(l3, 3, mk_pte(l1, 0x63))  # an L1 table where an L2 table belongs
    kinds = [p.kind for p in graph_problems(m, root, m.geometry)]
    assert kinds.count("torn-entry") == 2
