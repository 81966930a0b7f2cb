"""A ``random`` or ``pct`` run split into samples: sample j is the strategy run with
``sample_seed(seed, j)`` for ``SAMPLE_EXECUTIONS`` executions, merged in order, so
the result does not depend on the workers, a run of one sample is the single
search, and the verdict is never "clean"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from explore_programs import Generated, in_one_process_and_on, summary

from pagerace.errors import PageraceInputError
from pagerace.explore import explore, parallel
from pagerace.explore.checkpoint import Progress
from pagerace.explore.parallel import (
    SAMPLE_EXECUTIONS,
    InlineExecutor,
    Search,
    explore_units,
    sample_seed,
    samples,
)


@pytest.fixture(scope="module")
def pool() -> Any:
    executor = parallel.process_executor(2)
    yield executor
    executor.shutdown()


def test_the_samples_cover_the_budget_in_fixed_sizes() -> None:
    n = SAMPLE_EXECUTIONS
    assert samples(1) == [[0, 1]]
    assert samples(n) == [[0, n]]
    assert samples(2 * n + 3) == [[0, n], [1, n], [2, 3]]
    # (a budget of more than MAX_SAMPLES samples: bigger samples, never more of them)
    many = samples(10**9)
    assert len(many) == parallel.MAX_SAMPLES and sum(size for _, size in many) == 10**9
    assert len(samples(10**6)) == 4000
    assert sample_seed(7, 0) == 7
    seeds = {sample_seed(7, j) for j in range(1, 200)} | {sample_seed(8, j) for j in range(1, 200)}
    assert len(seeds) == 398 and all(0 <= s < 2**64 for s in seeds)


@pytest.mark.parametrize("strategy", ["random", "pct"])
@pytest.mark.parametrize("seed", [0, 3])
def test_one_sample_is_the_single_search(strategy: str, seed: int) -> None:
    budget = SAMPLE_EXECUTIONS - 50
    whole = explore(
        Generated(0)(), strategy=strategy, seed=seed, max_executions=budget, keep_going=True
    )
    search = Search(
        Generated(0), strategy=strategy, seed=seed, keep_going=True, max_executions=budget
    )
    split = explore_units(search, InlineExecutor())
    assert summary(split) == summary(whole)
    assert split.coverage == whole.coverage  # (stopped by the budget, not complete)


@pytest.mark.parametrize("strategy", ["random", "pct"])
@pytest.mark.parametrize("keep_going", [True, False])
def test_the_samples_do_not_depend_on_the_workers(
    strategy: str, keep_going: bool, pool: Any
) -> None:
    for seed in range(4):
        budget = 3 * SAMPLE_EXECUTIONS + 17
        search = Search(
            Generated(seed), strategy, keep_going, None, budget, count_traces=True, seed=seed
        )
        one, two = in_one_process_and_on(pool, search)
        assert summary(two) == summary(one) and two.coverage == one.coverage
        assert str(one.status) in ("found", "incomplete")  # (sampling is never complete)
        if keep_going or not one.findings:
            assert one.executions == budget and one.stats.units == 4
            assert one.coverage.stopped_by == "max_executions"
        else:
            assert one.coverage.stopped_by == "finding"


def test_each_sample_is_its_seeds_search(monkeypatch: pytest.MonkeyPatch) -> None:
    merged: list[Any] = []

    class _Units:
        def on_unit(self, bound: Any, index: int, r: Any) -> None:
            merged.append((index, r.executions, r.events, [f.schedule for f in r.findings]))

    search = Search(Generated(0), strategy="pct", seed=5, keep_going=True, max_executions=600)
    explore_units(search, InlineExecutor(), observers=[_Units()])
    for (j, size), (index, executions, events, schedules) in zip(samples(600), merged, strict=True):
        alone = explore(
            Generated(0)(),
            strategy="pct",
            seed=sample_seed(5, j),
            max_executions=size,
            keep_going=True,
        )
        assert (index, executions, events) == (j, size, alone.stats.events)
        assert schedules == [f.schedule for f in alone.findings]


def test_a_split_sample_run_needs_a_budget() -> None:
    with pytest.raises(PageraceInputError, match="needs an execution budget"):
        explore_units(Search(Generated(0), strategy="random"), InlineExecutor())


def test_a_checkpointed_sample_run_resumes_without_running_its_samples_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = Search(Generated(0), strategy="random", seed=1, keep_going=True, max_executions=700)
    path = tmp_path / "c.json"
    state = Progress(path, {}, "h", {}, interval=0.0)
    first = explore_units(search, InlineExecutor(), state=state)
    state.save()
    ran: list[Any] = []
    monkeypatch.setattr(parallel, "run_unit", lambda *a, **k: ran.append(a))
    again = explore_units(search, InlineExecutor(), state=Progress.load(path))
    assert ran == [] and summary(again) == summary(first)


def test_the_progress_of_samples_counts_the_executions_to_go_exactly() -> None:
    from pagerace.cli.progress import units_text

    seen: list[Any] = []

    class _Watch:
        def on_progress(self, progress: Any) -> None:
            seen.append(progress)

    budget = 2 * SAMPLE_EXECUTIONS + 10
    search = Search(Generated(0), strategy="random", keep_going=True, max_executions=budget)
    explore_units(search, InlineExecutor(), observers=[_Watch()])
    assert [(p.units_done, p.remaining_estimate) for p in seen] == [
        (1, budget - SAMPLE_EXECUTIONS),
        (2, 10),
        (3, 0),
    ]
    assert all(p.sampled for p in seen)
    assert "2/3 samples, 10 executions to go" in units_text(seen[1], 0)
