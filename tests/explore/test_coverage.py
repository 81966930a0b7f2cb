"""Searches that end and say what they covered: keep-going under iterative bounding
stops widening, ``Coverage`` per bound, progress snapshots, and Ctrl-C."""

from __future__ import annotations

from typing import Any

import pytest
from explore_programs import locked_increments, racy_increments

from pagerace.errors import Interrupted
from pagerace.explore import Context, Status, explore
from pagerace.explore.frontier import Frontier, Node
from pagerace.explore.progress import Progress, share_done


def _many_races(ctx: Context) -> Any:
    """Three threads, each two unlocked increments: bounds keep cutting for long,
    and every finding (one key) is found at bound 1."""
    x = ctx.cell("x", 0)

    def worker() -> None:
        for _ in range(2):
            x.store(x.load() + 1)

    def check() -> None:
        ctx.check(x.peek() == 6, "lost increment")

    return [worker, worker, worker], check


def test_keep_going_under_iterative_bounding_stops_widening_when_a_bound_adds_nothing() -> None:
    result = explore(_many_races, preemption_bound="iterative", keep_going=True)
    cov = result.coverage
    assert result.status is Status.FOUND
    assert cov.stopped_by == "nothing new"
    assert not cov.complete
    assert [b.bound for b in cov.bounds] == [0, 1, 2]
    assert [b.new_findings for b in cov.bounds] == [0, 1, 0]
    assert all(b.complete for b in cov.bounds)
    assert sum(b.executions for b in cov.bounds) == result.executions


def test_a_search_that_finishes_is_complete_and_says_so_per_bound() -> None:
    result = explore(locked_increments(2, 1), strategy="dfs", preemption_bound="iterative")
    assert result.status is Status.CLEAN
    assert result.coverage.stopped_by == "complete"
    assert result.coverage.complete
    assert result.coverage.bounds[-1].complete


def test_a_budget_cut_says_which_limit_and_leaves_the_last_bound_incomplete() -> None:
    result = explore(_many_races, preemption_bound="iterative", keep_going=True, max_executions=7)
    cov = result.coverage
    assert cov.stopped_by == "max_executions"
    assert not cov.complete
    assert not cov.bounds[-1].complete
    assert all(b.complete for b in cov.bounds[:-1])
    timed = explore(locked_increments(4, 3), strategy="dfs", time_limit=0.05)
    assert timed.coverage.stopped_by == "time_limit"


def test_the_first_finding_and_sampling_are_named_as_such() -> None:
    assert explore(racy_increments(2)).coverage.stopped_by == "finding"
    sampled = explore(locked_increments(2, 1), strategy="random", max_executions=5)
    assert sampled.status is Status.INCOMPLETE
    assert sampled.coverage.stopped_by == "max_executions"


def test_ctrl_c_raises_interrupted_carrying_the_findings_so_far() -> None:
    class CtrlC:
        def on_finding(self, finding: Any) -> None:
            self.found = True

        def on_execution_end(self, index: int, stats: Any) -> None:
            if getattr(self, "found", False):
                raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        explore(_many_races, keep_going=True, observers=[CtrlC()])
    result = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert result.coverage.stopped_by == "interrupted"
    assert result.status is Status.FOUND
    assert result.findings[0].message == "lost increment"
    # the explorer is usable again afterwards
    assert explore(racy_increments(2)).status is Status.FOUND


def test_progress_snapshots_carry_the_bound_the_frontier_and_an_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pagerace.explore.explorer as explorer

    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    seen: list[Progress] = []

    class Watch:
        def on_progress(self, progress: Progress) -> None:
            seen.append(progress)

    explore(
        locked_increments(3, 2), strategy="dfs", preemption_bound="iterative", observers=[Watch()]
    )
    assert seen
    assert {p.bound for p in seen} >= {1, 2}
    assert all(p.frontier is not None and p.frontier >= 0 for p in seen)
    assert all(p.done is not None and 0 <= p.done <= 1 for p in seen)
    assert [p.stats.executions for p in seen] == sorted(p.stats.executions for p in seen)


def test_the_share_done_weighs_each_node_by_its_place_in_the_tree() -> None:
    # root: two branches, the first finished; below the second, three branches, one done
    frontier = Frontier([Node([0, 1], 1, [0, 1], [0]), Node([0, 1, 2], 1, [0, 1, 2], [0])])
    left, done = share_done(frontier)
    assert left == 1  # thread 2 below the second root branch
    assert done == pytest.approx(1 / 2 + 1 / 2 * 1 / 3)
    assert share_done(Frontier()) == (0, 0.0)


def test_a_capped_keep_going_search_explores_every_bound_up_to_its_cap() -> None:
    result = explore(_many_races, preemption_bound=2, keep_going=True)
    assert [b.bound for b in result.coverage.bounds] == [0, 1, 2]
    assert result.coverage.stopped_by == "complete"  # within bound 2
    capped = explore(_many_races, preemption_bound=3, keep_going=True)
    assert [b.bound for b in capped.coverage.bounds] == [0, 1, 2, 3]
