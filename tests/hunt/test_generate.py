"""The generator: valid, runnable, deterministic scenarios with the promised shape."""

from __future__ import annotations

import pytest

from pagerace.hunt.generate import (
    GenOptions,
    generate,
    op_pages,
    serial_accesses,
    touches_disjoint_pages,
)
from pagerace.hunt.write import scenario_toml
from pagerace.paging.geometry import PAGE_SIZE
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import MapOp, ModifyOp, parse_scenario

DRAWS = 1000


def test_every_draw_is_a_valid_scenario_file_that_runs() -> None:
    """Thousands of draws: each one written as a file parses back to the same
    scenario, runs serially without error, and (every 25th) explores."""
    g = GenOptions()
    for i in range(DRAWS):
        sc = generate(11, i, g)
        again = parse_scenario(scenario_toml(sc), sc.source)
        assert (again.setup, again.cpus, again.entries, again.variant) == (
            sc.setup,
            sc.cpus,
            sc.entries,
            sc.variant,
        ), i
        assert g.min_cpus <= len(sc.cpus) <= g.max_cpus
        assert all(1 <= len(ops) <= g.max_ops for ops in sc.cpus)
        accesses = serial_accesses(sc)
        assert accesses is not None and accesses <= g.max_accesses
        if i % 25 == 0:
            run = run_scenario(
                again,
                RunOptions(
                    strategy="random", preemption_bound=None, max_executions=2, keep_going=True
                ),
            )
            assert run.result.executions == 2


@pytest.mark.parametrize("entries", [4, 16])
def test_other_geometries(entries: int) -> None:
    g = GenOptions(entries=entries)
    for i in range(60):
        sc = generate(5, i, g)
        assert sc.entries == entries
        parse_scenario(scenario_toml(sc), sc.source)


def test_same_seed_same_scenarios_other_seed_others() -> None:
    a = [generate(3, i) for i in range(30)]
    b = [generate(3, i) for i in range(30)]
    c = [generate(4, i) for i in range(30)]
    assert [(s.setup, s.cpus) for s in a] == [(s.setup, s.cpus) for s in b]
    assert [(s.setup, s.cpus) for s in a] != [(s.setup, s.cpus) for s in c]


def test_disjoint_draws_touch_disjoint_pages() -> None:
    g = GenOptions(disjoint=True)
    for i in range(300):
        sc = generate(2, i, g)
        assert touches_disjoint_pages(sc.cpus), i
        pages = [{p for op in ops for p in range(*op_pages(op), PAGE_SIZE)} for ops in sc.cpus]
        for a in range(len(pages)):
            for b in range(a + 1, len(pages)):
                assert not pages[a] & pages[b]


def test_draws_are_biased_towards_superpage_boundaries() -> None:
    """Ranges start on, end on and straddle 2 MiB and 1 GiB boundaries; set-ups hold
    superpages; attribute changes (uncached, then write-back again) are common."""
    g = GenOptions()
    sizes = [generate(0, 0, g).geometry.span[k] for k in (2, 3)]
    seen = {"2m-aligned": 0, "1g-aligned": 0, "straddle": 0, "uc": 0, "1g-setup": 0, "modify": 0}
    for i in range(300):
        sc = generate(8, i, g)
        for op in sc.setup:
            if isinstance(op, MapOp) and op.nr == sc.geometry.l3_pages:
                seen["1g-setup"] += 1
        for ops in sc.cpus:
            for op in ops:
                s, e = op_pages(op)
                if s % sizes[0] == 0 or e % sizes[0] == 0:
                    seen["2m-aligned"] += 1
                if s % sizes[1] == 0 and e - s >= sizes[1]:
                    seen["1g-aligned"] += 1
                if s // sizes[0] != (e - 1) // sizes[0]:
                    seen["straddle"] += 1
                if isinstance(op, MapOp) and op.flags & 0x18:
                    seen["uc"] += 1
                if isinstance(op, ModifyOp):
                    seen["modify"] += 1
    assert all(n >= 10 for n in seen.values()), seen


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        GenOptions(min_cpus=3, max_cpus=2)
    with pytest.raises(ValueError):
        GenOptions(entries=12)
