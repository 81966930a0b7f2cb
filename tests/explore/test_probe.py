"""Each bound of a split search is first explored as one search of at most
``PROBE_EXECUTIONS`` executions: a bound that ends within it is the single search's
bound, executions, findings and schedules alike; a bound that does not is split as
if there had been no probe, and so is every later bound, unprobed; and a bound that
the probed bounds before it foretell far larger than a probe is split unprobed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from explore_programs import Generated, summary

from pagerace.errors import Interrupted
from pagerace.explore import explore, parallel
from pagerace.explore.checkpoint import Progress
from pagerace.explore.parallel import PROBE_EXECUTIONS, Search, _probe_next, explore_units

InlineExecutor = parallel.InlineExecutor
_run_unit = parallel.run_unit  # (the original: tests count its calls)


def _summary(result: Any) -> tuple[Any, ...]:
    return (*summary(result), result.coverage)


class _Runs:
    """``run_unit`` counted: per call, the bound, whether it is a probe (the empty
    prefix) and the executions it ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[tuple[Any, bool, int]] = []
        monkeypatch.setattr(parallel, "run_unit", self)

    def __call__(self, search: Search, bound: Any, prefix: Any, *args: Any, **kw: Any) -> Any:
        r = _run_unit(search, bound, prefix, *args, **kw)
        self.runs.append((bound, not prefix, r.executions))
        return r

    def probed(self) -> list[Any]:
        return [bound for bound, probe, _ in self.runs if probe]

    def split(self) -> set[Any]:
        return {bound for bound, probe, _ in self.runs if not probe}


# seeds whose every bound ends within the probe, and the seed whose bound 2 does not
SMALL = [1, 3, 5, 9, 11]
BIG = 0


@pytest.mark.parametrize("seed", SMALL)
@pytest.mark.parametrize(("strategy", "bound"), [("dpor", "iterative"), ("dpor", None), ("dfs", 1)])
def test_a_small_tree_is_the_single_search(
    seed: int, strategy: str, bound: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = explore(
        Generated(seed)(),
        strategy=strategy,
        preemption_bound=bound,
        fewest_first=False,  # (a bound K is that bound only, as explore_units takes it)
        keep_going=True,
    )
    runs = _Runs(monkeypatch)
    units = explore_units(
        Search(Generated(seed), strategy=strategy, keep_going=True),
        InlineExecutor(),
        preemption_bound=bound,
    )
    assert _summary(units) == _summary(whole)
    assert not runs.split() and len(runs.probed()) == len(set(runs.probed()))


@pytest.mark.parametrize("foresight", [True, False])
def test_a_big_bound_is_split_as_without_the_probe_and_so_are_the_later_ones(
    foresight: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = Search(Generated(BIG), strategy="dpor", keep_going=True)
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "PROBE_EXECUTIONS", 0)
        unprobed = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    if not foresight:  # (every bound is probed until one needs splitting)
        monkeypatch.setattr(parallel, "PROBE_MARGIN", 10**9)
    runs = _Runs(monkeypatch)
    probed = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    # bounds 0 and 1 end within the probe (6 and 46 executions), bound 2 does not
    # (210): foreseen from 6 and 46 (46 * 46 / 6 executions), it is not probed
    if foresight:
        assert runs.probed() == [0, 1]
    else:
        assert runs.probed() == [0, 1, 2]
        assert [n for b, probe, n in runs.runs if probe and b == 2] == [PROBE_EXECUTIONS]
    assert runs.split() == set(range(2, max(runs.split()) + 1))
    assert (
        probed.coverage.bounds[:2]
        == explore(
            Generated(BIG)(), strategy="dpor", preemption_bound="iterative", keep_going=True
        ).coverage.bounds[:2]
    )
    # from bound 2 on, the units' executions, as without a probe
    assert [b.executions for b in probed.coverage.bounds[2:]] == [
        b.executions for b in unprobed.coverage.bounds[2:]
    ]
    assert sum(n for b, probe, n in runs.runs if not (probe and b == 2)) == probed.executions


def test_the_next_bound_is_probed_when_its_foreseen_tree_is_small() -> None:
    limit = parallel.PROBE_MARGIN * PROBE_EXECUTIONS
    assert _probe_next([])  # (the first bound)
    # after bound 0: FIRST_GROWTH times its executions
    assert _probe_next([limit // parallel.FIRST_GROWTH - 1])
    assert not _probe_next([limit // parallel.FIRST_GROWTH])
    # later: the last growth again (6 -> 24 -> 96; 2 -> 15 -> 76 -> 385)
    assert _probe_next([6, 24])
    assert not _probe_next([2, 15, 76])
    assert not _probe_next([0, 200])  # (no growth known: the first growth)


@pytest.mark.parametrize("budget", [1, 5, 20, 60])
def test_a_budget_ending_in_the_probe_is_the_single_search_budget(
    budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = explore(
        Generated(BIG)(),
        strategy="dpor",
        preemption_bound="iterative",
        keep_going=True,
        max_executions=budget,
    )
    search = Search(Generated(BIG), strategy="dpor", keep_going=True, max_executions=budget)
    runs = _Runs(monkeypatch)
    units = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    assert _summary(units)[:3] == _summary(whole)[:3]
    assert units.coverage.stopped_by == "max_executions" and not runs.split()


def test_probed_bounds_are_checkpointed_as_one_unit_and_not_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = Search(Generated(BIG), strategy="dpor", keep_going=True)
    path = tmp_path / "c.json"
    state = Progress(path, {}, "h", {}, interval=0.0)
    first = explore_units(search, InlineExecutor(), preemption_bound="iterative", state=state)
    state.save()
    assert [state.units_of(b) for b in (0, 1)] == [1, 1] and (state.units_of(2) or 0) > 1
    resumed_state = Progress.load(path)
    runs = _Runs(monkeypatch)
    again = explore_units(
        search, InlineExecutor(), preemption_bound="iterative", state=resumed_state
    )
    assert _summary(again) == _summary(first)
    assert runs.runs == []  # (every unit was done: nothing ran, nothing was probed)


def test_ctrl_c_in_the_probe_keeps_what_it_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    search = Search(Generated(BIG), strategy="dpor", keep_going=True)
    whole = explore_units(search, InlineExecutor(), preemption_bound="iterative")

    class _Stop:
        def on_execution_end(self, index: int, stats: Any) -> None:
            if index == 9:
                raise KeyboardInterrupt

    def interrupted(program: Any, **options: Any) -> Any:
        if options["preemption_bound"] == 1 and options["prefix"] == []:  # bound 1's probe
            options["observers"] = [*options["observers"], _Stop()]
        return explore(program, **options)

    monkeypatch.setattr(parallel, "explore", interrupted)
    with pytest.raises(Interrupted) as caught:
        explore_units(search, InlineExecutor(), preemption_bound="iterative")
    so_far = caught.value.result
    assert so_far.coverage.stopped_by == "interrupted" and not so_far.coverage.complete
    assert so_far.executions == 6 + 10  # bound 0, and the probe's ten
    assert {f.key for f in so_far.findings} <= {f.key for f in whole.findings}


def test_two_processes_give_the_probed_search_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    search = Search(Generated(BIG), strategy="dpor", keep_going=True, count_traces=True)
    one = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    executor = parallel.process_executor(2)
    try:
        two = explore_units(search, executor, preemption_bound="iterative")
    finally:
        executor.shutdown()
    assert _summary(two) == _summary(one) and two.traces == one.traces
