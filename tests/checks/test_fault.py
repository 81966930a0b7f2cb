"""Whose fault: contested ranges, restricted translations, the per-kind rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pagerace.checks import CALLER, HYPERVISOR, Preconditions, restrict

P = 0x1000


def test_ranges_that_two_cpus_change_are_contested_and_only_those() -> None:
    pre = Preconditions(
        [
            [(0, 4 * P), None, (10 * P, 11 * P)],  # CPU0: map 0..4, populate, map 10
            [(2 * P, 6 * P)],  # CPU1 overlaps CPU0's first op on pages 2..3
            [(5 * P, 7 * P), (0, P)],  # CPU2 overlaps CPU1 on 5, CPU0 on 0
        ]
    )
    assert pre.contested == ((0, P), (2 * P, 4 * P), (5 * P, 6 * P))
    assert pre.covers(2 * P, 4 * P) and not pre.covers(2 * P, 5 * P)
    assert pre.touches(3 * P, 9 * P) and not pre.touches(P, 2 * P)
    # one CPU changing a page twice is not a conflict
    assert Preconditions([[(0, P), (0, P)], [(P, 2 * P)]]).contested == ()


def test_an_assert_is_the_callers_fault_alone_or_on_a_contested_range() -> None:
    pre = Preconditions([[(0, P), (8 * P, 9 * P)], [(0, P)], [(20 * P, 21 * P)]], alone={(2, 0)})
    assert pre.of_assert(0, 0) == CALLER  # contested page 0
    assert pre.of_assert(0, 1) == HYPERVISOR  # its own page, nobody else's
    assert pre.of_assert(2, 0) == CALLER  # breaks the precondition on its own
    assert pre.of_assert(None, None) == HYPERVISOR


def test_a_lost_update_confined_to_contested_pages_is_the_callers() -> None:
    pre = Preconditions([[(0, 2 * P)], [(P, 3 * P)]])  # page 1 is contested
    serial = {((0, 3, 100, 1),), ((0, 1, 100, 1), (P, 2, 201, 1))}
    # page 1 maps something no serial order gives, pages 0 and 2 agree with one
    odd = ((0, 1, 100, 1), (P, 1, 555, 1), (2 * P, 1, 102, 1))
    assert pre.of_lost_update(odd, serial) == CALLER
    # page 2 is wrong too: the hypervisor's
    worse = ((0, 1, 100, 1), (P, 1, 555, 1), (2 * P, 1, 999, 1))
    assert pre.of_lost_update(worse, serial) == HYPERVISOR
    assert Preconditions([[(0, P)], [(P, 2 * P)]]).of_lost_update(odd, serial) == HYPERVISOR


def test_stale_entries_inside_contested_pages_are_the_callers() -> None:
    pre = Preconditions([[(0, 2 * P)], [(P, 3 * P)]])
    assert pre.of_stale_entries([(P, 2 * P)]) == CALLER
    assert pre.of_stale_entries([(P, 2 * P), (0, P)]) == HYPERVISOR


runs = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 4), st.integers(0, 50), st.integers(0, 1)),
    max_size=4,
)
holes = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), max_size=3)


def _pages(t: tuple[tuple[int, int, int, int], ...]) -> dict[int, tuple[int, int]]:
    return {(va >> 12) + i: (mfn + i, fl) for va, n, mfn, fl in t for i in range(n)}


@given(runs, holes)
def test_restrict_keeps_exactly_the_pages_outside_the_holes(
    raw: list[tuple[int, int, int, int]], raw_holes: list[tuple[int, int]]
) -> None:
    # build a translation of disjoint runs from the raw material
    t, va = [], 0
    for gap, n, mfn, fl in raw:
        va += gap
        t.append((va * P, n, mfn, fl))
        va += n
    hs = Preconditions([[(s * P, (s + n) * P) for s, n in raw_holes], [(0, 64 * P)]]).contested
    cut = restrict(tuple(t), hs)
    inside = {p for lo, hi in hs for p in range(lo >> 12, hi >> 12)}
    assert _pages(cut) == {p: v for p, v in _pages(tuple(t)).items() if p not in inside}
