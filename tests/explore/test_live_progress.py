"""Progress of a split search while its units run: the executions of running units
count as their workers post them, and the estimate of what is left uses their share
done."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import pytest

from pagerace.explore import explorer, parallel
from pagerace.explore.parallel import (
    InlineExecutor,
    Search,
    explore_units,
    process_executor,
    remaining_estimate,
)


@dataclass(frozen=True)
class Writers:
    """A picklable recipe: two threads, each storing ``writes`` times into one cell
    (``dfs``: C(2w, w) executions), ``pause`` seconds of sleep per thread run."""

    writes: int
    pause: float = 0.0

    def __call__(self) -> Any:
        writes, pause = self.writes, self.pause

        def program(ctx: Any) -> Any:
            x = ctx.cell("x", 0)

            def worker() -> None:
                if pause:
                    time.sleep(pause)
                for k in range(writes):
                    x.store(k)

            return [worker, worker], None

        return program


class _Seen:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_progress(self, progress: Any) -> None:
        self.seen.append(progress)


@pytest.fixture
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Units post progress every 16 executions, the search looks every 10 ms, every
    bound is split (no probe)."""
    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(parallel, "PROGRESS_SECONDS", 0.01)
    monkeypatch.setattr(parallel, "PROBE_EXECUTIONS", 0)


def test_the_estimate_takes_running_units_by_their_share_and_the_rest_by_the_mean() -> None:
    # finished: 2 units of 100 executions in all (mean 50); running: 30 run, half done:
    # half of the larger of the mean and its own run is left
    assert remaining_estimate(100, 2, [(30, 0.5)], 0) == 25
    assert remaining_estimate(100, 2, [(80, 0.5)], 0) == 40  # (it has run long)
    # a waiting unit counts the mean size of the finished ones
    assert remaining_estimate(100, 2, [(30, 0.5)], 3) == 25 + 3 * 50
    assert remaining_estimate(100, 2, [(10, 1.0)], 1) == 50
    # none finished yet: the running units as so sized (45 and 75, mean 60)
    assert remaining_estimate(0, 0, [(30, 0.5), (50, 0.5)], 2) == 15 + 25 + 2 * 60
    assert remaining_estimate(0, 0, [], 5) == 0  # nothing known yet


def test_a_unit_run_in_this_process_is_counted_while_it_runs(often: None) -> None:
    watch = _Seen()
    result = explore_units(
        Search(Writers(6), strategy="dfs", keep_going=True), InlineExecutor(), observers=[watch]
    )
    assert result.executions == 924  # C(12, 6)
    live = [p for p in watch.seen if p.running]
    assert live, "no progress while a unit ran"
    # within a unit the executions grow while the units done stay
    assert any(
        a.units_done == b.units_done and a.executions < b.executions
        for a, b in itertools.pairwise(live)
    )
    for p in watch.seen:
        assert p.running <= 1 and p.executions <= result.executions
        assert p.units_done + p.units_left == p.units and p.remaining_estimate >= 0
    assert [p.executions for p in watch.seen] == sorted(p.executions for p in watch.seen)
    assert watch.seen[-1].executions == result.executions and not watch.seen[-1].running


def test_units_on_worker_processes_post_their_progress(often: None) -> None:
    watch = _Seen()
    pool = process_executor(2)  # (forked now: the workers post every 16 executions)
    try:
        result = explore_units(
            Search(Writers(7, pause=0.0002), strategy="dfs", keep_going=True),
            pool,
            observers=[watch],
        )
    finally:
        pool.shutdown()
    assert result.executions == 3432  # C(14, 7)
    assert any(p.running for p in watch.seen), "no worker posted progress"
    for p in watch.seen:
        assert 0 <= p.running <= 2 and p.executions <= result.executions
    # (a unit's last count stays until its result is in: the count never goes back)
    assert [p.executions for p in watch.seen] == sorted(p.executions for p in watch.seen)
    assert watch.seen[-1].executions == result.executions


def test_the_progress_of_a_budgeted_run_stays_within_the_budget(often: None) -> None:
    # units run ahead with the whole budget; what passes it is dropped, not shown
    watch = _Seen()
    pool = process_executor(2)
    try:
        result = explore_units(
            Search(Writers(7, pause=0.0002), strategy="dfs", keep_going=True, max_executions=600),
            pool,
            observers=[watch],
        )
    finally:
        pool.shutdown()
    assert result.executions == 600
    assert watch.seen
    for p in watch.seen:
        assert p.executions <= 600 and 0 <= p.remaining_estimate <= 600 - p.executions
