"""Preemption bounds, iterative bounding and budgets."""

from __future__ import annotations

from typing import Any

import pytest
from explore_programs import (
    TraceForms,
    generated_program,
    locked_increments,
    racy_increments,
)

from pagerace.explore import Context, ExecutionRecord, Status, explore


class _Records:
    def __init__(self) -> None:
        self.records: list[ExecutionRecord] = []

    def on_execution(self, record: ExecutionRecord) -> None:
        self.records.append(record)


def _schedules(program: Any, **options: Any) -> list[ExecutionRecord]:
    records = _Records()
    explore(program, strategy="dfs", keep_going=True, observers=[records], **options)
    return records.records


def _three_preemptions(ctx: Context) -> Any:
    """Fails only when the reader sees x == 1 and then x == 2: three preemptions."""
    x = ctx.cell("x", 0)

    def writer() -> None:
        x.store(1)
        x.store(2)
        x.store(3)

    def reader() -> None:
        first = x.load()
        second = x.load()
        ctx.check(not (first == 1 and second == 2), "reader saw 1 then 2")

    return [writer, reader], None


@pytest.mark.parametrize("bound", [0, 1, 2])
@pytest.mark.parametrize(
    "program", [racy_increments(2), locked_increments(2, 2), _three_preemptions]
)
def test_a_bound_k_explores_exactly_the_executions_with_at_most_k_preemptions(
    bound: int, program: Any
) -> None:
    everything = _schedules(program)
    expected = sorted(r.schedule for r in everything if r.preemptions <= bound)
    bounded = _schedules(program, preemption_bound=bound)
    assert sorted(r.schedule for r in bounded) == expected
    assert all(r.preemptions <= bound for r in bounded)


def test_the_stats_say_whether_the_bound_cut_anything() -> None:
    assert explore(racy_increments(2), strategy="dfs", preemption_bound=0).stats.bound_cut
    unbounded = explore(racy_increments(2), strategy="dfs", preemption_bound=5, keep_going=True)
    assert not unbounded.stats.bound_cut


def test_a_bound_that_cut_branches_still_allows_clean_within_the_bound() -> None:
    result = explore(racy_increments(2), strategy="dfs", preemption_bound=0)
    assert result.status is Status.CLEAN
    assert result.stats.bound_cut
    assert result.stats.preemption_bound == 0


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_iterative_bounding_reports_the_fewest_preemptions_any_finding_needs(
    strategy: str,
) -> None:
    fewest = min(r.preemptions for r in _schedules(_three_preemptions) if r.outcome == "failed")
    assert fewest == 3
    result = explore(_three_preemptions, strategy=strategy, preemption_bound="iterative")
    assert result.status is Status.FOUND
    assert result.findings[0].preemptions == fewest
    assert result.stats.preemption_bound == fewest


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_iterative_bounding_ends_clean_when_a_bound_cuts_nothing(strategy: str) -> None:
    result = explore(locked_increments(2, 1), strategy=strategy, preemption_bound="iterative")
    assert result.status is Status.CLEAN
    assert not result.stats.bound_cut


def test_bounded_dpor_reaches_every_non_preemptive_trace_of_a_generated_program() -> None:
    spec: list[Any] = [
        [("w", "c"), ("lock", "M", [("w", "b")]), ("w", "c")],
        [("lock", "M", [("r", "b"), ("r", "c")]), ("r", "b")],
        [("w", "b")],
    ]
    forms = {}
    for strategy in ("dfs", "dpor"):
        observer = TraceForms()
        explore(
            generated_program(spec),
            strategy=strategy,
            preemption_bound=0,
            keep_going=True,
            observers=[observer],
        )
        forms[strategy] = observer.forms
    assert forms["dpor"] == forms["dfs"]


@pytest.mark.xfail(
    strict=True,
    reason="dpor under a preemption bound K >= 1 is a conservative bounded POR (no sleep "
    "sets, backtracking at earlier context switches); it can miss a trace whose only "
    "linearisations within the bound differ from the one DPOR builds. Use dfs for exact "
    "bounded coverage.",
)
def test_bounded_dpor_reaches_every_trace_that_bounded_dfs_reaches() -> None:
    spec: list[Any] = [
        [("w", "c"), ("lock", "M", [("w", "b")]), ("w", "c")],
        [("lock", "M", [("r", "b"), ("r", "c")]), ("r", "b")],
        [("w", "b")],
    ]
    forms = {}
    for strategy in ("dfs", "dpor"):
        observer = TraceForms()
        explore(
            generated_program(spec),
            strategy=strategy,
            preemption_bound=1,
            keep_going=True,
            observers=[observer],
        )
        forms[strategy] = observer.forms
    assert forms["dpor"] == forms["dfs"]


def test_max_executions_stops_the_search_as_incomplete() -> None:
    result = explore(locked_increments(3, 2), max_executions=3)
    assert result.status is Status.INCOMPLETE
    assert result.executions == 3


def test_a_time_limit_stops_the_search_as_incomplete() -> None:
    result = explore(locked_increments(4, 3), strategy="dfs", time_limit=0.05)
    assert result.status is Status.INCOMPLETE
    assert result.executions > 0
    assert result.stats.seconds < 1.0


def test_a_budget_large_enough_leaves_the_status_clean() -> None:
    result = explore(locked_increments(3, 1), max_executions=6)
    assert result.status is Status.CLEAN
