"""``dependent``: two footprints conflict iff they share a key one of them writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pagerace.explore.events import dependent

footprints = st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=60).map(tuple)


def pairwise(a: tuple, b: tuple) -> bool:
    return any((wa or wb) and ka == kb for ka, wa in a for kb, wb in b)


@given(footprints, footprints)
def test_dependent_is_the_pairwise_definition_for_small_and_large_footprints(a, b) -> None:
    assert dependent(a, b) == pairwise(a, b) == dependent(b, a)


def test_two_table_scans_are_independent_and_a_store_into_one_is_not() -> None:
    scan = tuple((k, False) for k in range(513))
    other_scan = tuple((k, False) for k in range(256, 769))
    assert not dependent(scan, other_scan)
    assert dependent(scan, ((300, True),))
    assert dependent(((300, True), (9999, False)), scan)
    assert not dependent(((9999, True),), scan)
    # the same footprint object again (cached), and an equal but distinct one
    assert dependent(scan, ((512, True),))
    assert dependent(tuple(scan), ((0, True),))
