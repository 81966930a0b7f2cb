"""Exploration split into work units: the result does not depend on the executor or
the number of workers, ``dfs`` split so is exactly ``dfs``, and split ``dpor`` still
reaches every Mazurkiewicz trace."""

from __future__ import annotations

import dataclasses
import itertools
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest
from explore_programs import Generated, TraceForms, in_one_process_and_on
from explore_programs import summary as _summary

from pagerace.errors import Interrupted
from pagerace.explore import explore
from pagerace.explore.parallel import (
    PROBE_EXECUTIONS,
    InlineExecutor,
    Search,
    explore_units,
    process_executor,
    run_unit,
    run_units,
    split,
)
from pagerace.explore.strategies.dfs import PathSearch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _units(monkeypatch: pytest.MonkeyPatch) -> None:
    """The units are under test here: every bound is split, none first explored as one
    search (tests/explore/test_probe.py tests that)."""
    from pagerace.explore import parallel

    monkeypatch.setattr(parallel, "PROBE_EXECUTIONS", 0)


@pytest.fixture(scope="module")
def pool() -> Any:
    executor = process_executor(2)
    yield executor
    executor.shutdown()


CONFIGS: list[tuple[str, Any, bool, int | None]] = [
    ("dpor", None, True, None),
    ("dpor", "iterative", True, 4000),  # (a few seeds have thousands of tiny units)
    ("dpor", "iterative", False, 4000),
    ("dfs", None, True, 300),
    ("dpor", None, True, 7),
]


@pytest.mark.parametrize("probe", [0, PROBE_EXECUTIONS])
@pytest.mark.parametrize("seed", range(8))
def test_the_result_does_not_depend_on_the_workers(
    seed: int, probe: int, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pagerace.explore import parallel

    monkeypatch.setattr(parallel, "PROBE_EXECUTIONS", probe)
    for strategy, bound, keep_going, budget in CONFIGS:
        search = Search(
            Generated(seed), strategy, keep_going, max_executions=budget, count_traces=True
        )
        one, two = in_one_process_and_on(pool, search, preemption_bound=bound)
        assert _summary(one) == _summary(two), (seed, strategy, bound, keep_going, budget)


@pytest.mark.parametrize("seed", range(8))
def test_split_dfs_is_dfs(seed: int) -> None:
    program = Generated(seed)()
    whole = explore(program, strategy="dfs", keep_going=True, max_executions=400)
    split = explore_units(
        Search(Generated(seed), strategy="dfs", keep_going=True, max_executions=400),
        InlineExecutor(),
    )
    assert _summary(whole)[:2] == _summary(split)[:2]
    assert _summary(whole)[3:] == _summary(split)[3:]


@pytest.mark.parametrize("seed", range(10))
def test_split_dpor_reaches_every_trace(seed: int) -> None:
    program = Generated(seed)()
    forms = TraceForms()
    dfs = explore(program, strategy="dfs", keep_going=True, observers=[forms], max_executions=3000)
    if str(dfs.status) == "incomplete":
        pytest.skip("too many interleavings for dfs")
    split = explore_units(
        Search(Generated(seed), strategy="dpor", keep_going=True, count_traces=True),
        InlineExecutor(),
    )
    assert {f.kind for f in split.findings} == {f.kind for f in dfs.findings}
    if not dfs.findings:  # (a failing execution ends early: fewer traces to reach)
        assert split.traces == len(forms.forms)


class _Progress:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_progress(self, progress: Any) -> None:
        self.seen.append(progress)


def test_progress_after_each_unit() -> None:
    watch = _Progress()
    result = explore_units(
        Search(Generated(3), strategy="dpor", keep_going=True),
        InlineExecutor(),
        preemption_bound="iterative",
        observers=[watch],
    )
    assert watch.seen and result.stats.units == len(watch.seen)
    for p in watch.seen:
        assert p.units_done + p.units_left == p.units
        assert p.remaining_estimate >= 0 and p.executions <= result.executions
    last = watch.seen[-1]
    assert last.units_left == 0 and last.remaining_estimate == 0
    assert last.executions == result.executions


def two_kinds(kinds: frozenset[str]) -> bool:
    """A stop rule (picklable): findings of two kinds."""
    return len(kinds) >= 2


def _single_and_split(
    seed: int, strategy: str, bound: Any, keep_going: bool, budget: int | None, rule: Any
) -> tuple[Any, Search]:
    """The single search of generated program ``seed`` with these options, and the
    ``Search`` that splits it (``rule``: a stop rule on the kinds found, or None)."""
    stop = None
    if rule is not None:

        def stop(findings: Any) -> bool:
            return bool(rule(frozenset(f.kind for f in findings)))

    whole = explore(
        Generated(seed)(),
        strategy=strategy,
        preemption_bound=bound,
        keep_going=keep_going,
        max_executions=budget,
        stop_when=stop,
    )
    search = Search(
        Generated(seed),
        strategy=strategy,
        keep_going=keep_going,
        max_executions=budget,
        stop_when=rule,
    )
    return whole, search


def _assert_same_coverage(split: Any, whole: Any, config: Any) -> None:
    bounds = split.coverage.bounds
    if bounds and bounds[-1].executions == 0:
        # the budget ran out exactly at the end of a bound: the single search does
        # not log the next bound and calls the finished one unfinished; the split
        # search logs the next bound with no execution
        assert bounds[-2].complete and not bounds[-1].complete, config
        last = whole.coverage.bounds[-1]
        assert bounds[-2] == last._replace(complete=True), config
        bounds = (*bounds[:-2], last)
    assert split.coverage._replace(bounds=bounds) == whole.coverage, config


@pytest.mark.parametrize("seed", range(8))
def test_split_dfs_covers_the_bounds_as_dfs_does(seed: int) -> None:
    """dfs split into units is dfs: per bound the same executions and new findings,
    the same reason to stop (a finding, a stop rule, the budget, nothing new)."""
    for keep_going, budget, rule in [
        (True, 400, None),
        (False, 400, None),
        (True, 60, None),
        (True, 400, two_kinds),
    ]:
        whole, search = _single_and_split(seed, "dfs", "iterative", keep_going, budget, rule)
        split = explore_units(search, InlineExecutor(), preemption_bound="iterative")
        config = (seed, keep_going, budget, rule)
        _assert_same_coverage(split, whole, config)
        assert _summary(split)[:2] == _summary(whole)[:2], config
        assert _summary(split)[3:] == _summary(whole)[3:], config


@pytest.mark.parametrize("seed", range(12))
def test_split_bounded_dpor_is_the_single_search(seed: int, pool: Any) -> None:
    """Under a preemption bound, split dpor merges the units the single search enters,
    in its order: per bound the same executions, events, findings and schedules, and
    the same reason to stop, in one process and on two."""
    for keep_going, budget, rule in [
        (True, None, None),
        (False, None, None),
        (True, 150, None),
        (True, None, two_kinds),
    ]:
        whole, search = _single_and_split(seed, "dpor", "iterative", keep_going, budget, rule)
        config = (seed, keep_going, budget, rule)
        for executor in (InlineExecutor(), pool):
            split = explore_units(search, executor, preemption_bound="iterative")
            _assert_same_coverage(split, whole, config)
            assert _summary(split) == _summary(whole), config
            assert split.stats.bound_cut == whole.stats.bound_cut, config


def _unit_summary(r: Any) -> tuple[Any, ...]:
    return (
        r.executions,
        r.events,
        r.cut_executions,
        r.bound_cut,
        r.deadlocks,
        [(f.kind, f.key, f.schedule, f.preemptions) for f in r.findings],
        r.indices,
    )


@pytest.mark.parametrize("seed", range(6))
def test_a_units_first_executions_are_those_of_a_run_with_that_budget(seed: int) -> None:
    # (the merge cuts a unit where a budget or a stop ends the search: from the unit's
    # record of its executions, as running the unit again with that budget would)
    program = Generated(seed)()
    configs = [("dpor", 2), ("dpor", None), ("dfs", 1), ("random", None)]
    for strategy, bound in configs:
        search = Search(Generated(seed), strategy=strategy, keep_going=True)
        if strategy == "random":
            units: list[Any] = [[0, 60], [1, 60]]
        else:
            units = split(program, strategy, bound)[0][:6]
        for prefix in units:
            whole = run_unit(search, bound, prefix, None)
            for count in sorted({1, 2, whole.executions // 3, whole.executions - 1}):
                if not 0 < count < whole.executions:
                    continue
                cut = whole.first_executions(count)
                again = run_unit(search, bound, prefix, count)
                assert cut is not None
                assert _unit_summary(cut) == _unit_summary(again), (strategy, bound, count)
                assert cut.max_depth == again.max_depth and again.exhausted == cut.exhausted


def test_a_unit_without_its_record_or_with_trace_forms_is_run_again() -> None:
    search = Search(Generated(0), strategy="dpor", keep_going=True, count_traces=True)
    units = split(Generated(0)(), "dpor", None)[0]
    prefix = max(units, key=lambda u: run_unit(search, None, u, None).executions)
    r = run_unit(search, None, prefix, None)
    assert r.executions > 1 and r.first_executions(1) is None  # (forms: per trace)
    plain = run_unit(Search(Generated(0), strategy="dpor", keep_going=True), None, prefix, None)
    from dataclasses import replace

    assert replace(plain, record=None).first_executions(1) is None


@pytest.mark.parametrize("seed", range(8))
def test_the_units_the_order_calls_certain_are_all_entered(seed: int) -> None:
    # (the progress of a split bounded dpor run counts only these, not the guesses)
    from pagerace.explore.unitorder import SingleOrder

    program = Generated(seed)()
    search = Search(Generated(seed), strategy="dpor", keep_going=True)
    for bound in (1, 2):
        units = split(program, "dpor", bound)[0]
        results = [run_unit(search, bound, prefix, None) for prefix in units]
        order = SingleOrder(units)
        entered, certain = [], set()
        while order.current is not None:
            sure = order.certain()
            wanted = list(order.wanted())
            assert set(wanted[: len(sure)]) == sure, (seed, bound)
            certain |= sure
            entered.append(order.current)
            order.merged(results[order.current].above)
            order.next()
        assert certain <= set(entered), (seed, bound, certain - set(entered))


class _Logged(Executor):
    """Two threads that run the units, and a log of when each unit went out, finished
    (as its future's callback logs it, a moment after the fact) and was merged."""

    def __init__(self) -> None:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self._inner = ThreadPoolExecutor(2)
        self._max_workers = 2
        self._lock = threading.Lock()
        self.log: list[tuple[str, Any]] = []

    def note(self, what: str, unit: Any) -> None:
        with self._lock:
            self.log.append((what, unit))

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        unit = kwargs.get("tag")
        self.note("out", unit)
        future = self._inner.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _f: self.note("done", unit))
        return future

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        from pagerace.explore.parallel import unit_tag

        self.note("merged", unit_tag(bound, index))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def test_no_unit_goes_out_between_the_end_of_the_unit_merged_next_and_its_merge() -> None:
    # (that unit's notes may change what the order wants: a unit handed out in
    # between goes on what the order knew before them, and can hold back the units
    # the merge needs next)
    checked = 0
    for seed in (0, 3, 5):
        search = Search(Generated(seed), strategy="dpor", keep_going=True)
        executor = _Logged()
        try:
            explore_units(search, executor, preemption_bound=3, observers=[executor])
        finally:
            executor.shutdown()
        log = executor.log
        merges = [k for k, (what, _) in enumerate(log) if what == "merged"]
        for previous, k in itertools.pairwise(merges):
            unit = log[k][1]
            if unit >> 32 != log[previous][1] >> 32:
                continue  # (a bound's first unit: its units go out as it is split)
            done = [d for d in range(previous + 1, k) if log[d] == ("done", unit)]
            start = max([previous, *done])  # (the unit is next, and has finished)
            went_out = [log[d] for d in range(start + 1, k) if log[d][0] == "out"]
            assert not went_out, (seed, unit, went_out)
            checked += bool(done)
    assert checked  # (units finished while the merge waited for them: dozens, here)


def test_idle_workers_split_the_next_bound_and_run_it_ahead_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (iterative bounding: once a merged unit has cut, the next bound is needed: its
    # split goes out before any guess, that bound starts from those units, and its
    # order goes on with the units that finish ahead while the bound before merges)
    import threading

    from pagerace.explore import parallel

    calling = threading.get_ident()
    splits: list[tuple[int, bool]] = []  # (bound, split in the calling thread)
    real = parallel.split

    def recorded(program: Any, strategy: str, bound: Any, *args: Any) -> Any:
        splits.append((bound, threading.get_ident() == calling))
        return real(program, strategy, bound, *args)

    monkeypatch.setattr(parallel, "split", recorded)
    advance = parallel._Level.advance
    taken: list[int] = []  # (how many units' notes a bound handed out ahead took)

    def advanced(level: Any) -> None:
        advance(level)
        taken.append(len(level.taken))

    monkeypatch.setattr(parallel._Level, "advance", advanced)
    ahead = 0
    for seed in range(6):
        search = Search(Generated(seed), strategy="dpor", keep_going=True, max_executions=4000)
        splits.clear()
        executor = _Logged()
        try:
            got = explore_units(
                search, executor, preemption_bound="iterative", max_preemption_bound=3
            )
        finally:
            executor.shutdown()
        in_workers = {bound for bound, here in splits if not here}
        here = [bound for bound, here in splits if here]
        assert len(here) == len(set(here)), (seed, splits)  # (no bound split twice here)
        assert not in_workers & set(here), (seed, splits)  # (nor here and by a worker)
        last = got.stats.preemption_bound
        assert last is not None
        ahead += len(in_workers & set(range(last + 1)))  # (the bounds explored)
        want = explore_units(
            search, InlineExecutor(), preemption_bound="iterative", max_preemption_bound=3
        )
        assert _summary(got) == _summary(want), seed
    assert ahead  # (bounds that started from a worker's split: several, here)
    assert max(taken) >= 2  # (and orders that went on ahead)


@pytest.mark.parametrize("seed", range(8))
def test_a_unit_replayed_by_script_is_the_unit_replayed_step_by_step(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below a work unit's prefix the runtime replays the path itself (a script):
    every unit's executions, findings and bound cut are those of a replay that asks
    the strategy, and the preemption bound, at every step."""
    program = Generated(seed)()
    on_path = PathSearch._on_path

    def stepwise(self: PathSearch, step: int, enabled: list[int], ex: Any) -> Any:
        tid = on_path(self, step, enabled, ex)
        ex.script = ()  # (the strategy is asked at every step)
        return tid

    for strategy, bound in [("dpor", 0), ("dpor", 1), ("dpor", 2), ("dfs", 1)]:
        search = Search(Generated(seed), strategy=strategy, keep_going=True)
        units, _cut = split(program, strategy, bound)
        scripted = [run_unit(search, bound, unit, 2000) for unit in units]
        with monkeypatch.context() as patch:
            patch.setattr(PathSearch, "_on_path", stepwise)
            asked = [run_unit(search, bound, unit, 2000) for unit in units]
        assert [_unit_summary(r) for r in scripted] == [_unit_summary(r) for r in asked], (
            seed,
            strategy,
            bound,
        )


class _InterruptAfter:
    """Ctrl-C once ``units`` units are merged."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.merged: list[Any] = []

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        self.merged.append(result)

    def on_progress(self, progress: Any) -> None:
        if len(self.merged) >= self.units:
            raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["inline", "pool"])
def test_ctrl_c_gives_the_result_so_far(where: str, pool: Any) -> None:
    search = Search(Generated(5), strategy="dpor", keep_going=True)
    whole = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    watch = _InterruptAfter(3)
    executor = InlineExecutor() if where == "inline" else pool
    with pytest.raises(Interrupted) as caught:
        explore_units(search, executor, preemption_bound="iterative", observers=[watch])
    so_far = caught.value.result
    assert so_far.coverage.stopped_by == "interrupted" and not so_far.coverage.complete
    assert 3 <= so_far.stats.units < whole.stats.units
    merged = sum(r.executions for r in watch.merged)
    if where == "inline":  # the units after the third never ran
        assert so_far.executions == merged
    else:  # and those that had finished count too
        assert merged <= so_far.executions <= whole.executions
    keys = {f.key for f in so_far.findings}
    assert keys <= {f.key for f in whole.findings}
    assert {f.key for r in watch.merged for f in r.findings} <= keys
    assert str(so_far.status) == ("found" if so_far.findings else "incomplete")


@pytest.mark.parametrize("name", ["xsa345-r1-small", "xsa345-r2a-small", "xsa345-r1b-small"])
@pytest.mark.parametrize("variant", ["xen-4.14", "xsa-345"])
def test_a_scenario_run_split_is_the_same_on_any_number_of_processes(
    name: str, variant: str
) -> None:
    """``pagerace run``'s defaults (iterative bounding, until the expectation is
    decided), split: one process or two, the same run as the single search, coverage
    of each bound too."""
    from pagerace.cli.options import load
    from pagerace.runner import RunOptions, run_scenario

    sc = load(name)
    runs = [run_scenario(sc, RunOptions(jobs=jobs), variant=variant) for jobs in (1, 2, None)]
    one, two, single = (r.result for r in runs)
    assert _summary(one) == _summary(two) == _summary(single)  # (None: the single search)
    assert one.coverage == two.coverage == single.coverage and one.coverage.bounds
    assert runs[0].verdict == runs[1].verdict and runs[0].status == runs[1].status


class _Counting(Executor):
    """A process pool that counts the tasks it is given."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._max_workers = 2
        self.tasks = 0
        self.units = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tasks += 1
        self.units += len(args[2]) if fn is run_units else 1
        return self.pool.submit(fn, *args, **kwargs)


def test_tiny_units_go_out_several_to_a_task_with_the_same_result(pool: Any) -> None:
    # (dfs: the units of a bounded dpor bound go out one by one, as the merge wants them)
    search = Search(Generated(0), strategy="dfs", keep_going=True, max_executions=4000)
    one = explore_units(search, InlineExecutor(), preemption_bound="iterative")
    counting = _Counting(pool)
    many = explore_units(search, counting, preemption_bound="iterative")
    assert _summary(many) == _summary(one) and many.coverage == one.coverage
    assert counting.tasks < counting.units * 0.8  # (units of a millisecond or so)


@pytest.mark.parametrize("seed", range(4))
def test_in_one_process_each_unit_runs_once_within_the_budget_left(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (units run in order here: the unit where the budget runs out is given what is
    # left of it, not run in full and again up to that point)
    from pagerace.explore import parallel

    ran: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        r = run_unit(*args, **kwargs)
        ran.append(r.executions)
        return r

    monkeypatch.setattr(parallel, "run_unit", counted)
    for budget in (7, 50, 300):
        ran.clear()
        search = Search(Generated(seed), strategy="dpor", keep_going=True, max_executions=budget)
        result = explore_units(search, InlineExecutor(), preemption_bound="iterative")
        assert sum(ran) == result.executions <= budget, (seed, budget)


class _Caps(Executor):
    """``pool``, noting the budget that each unit (or run of units) goes out with."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._max_workers = 2
        self.caps: list[int | None] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if fn is run_unit or fn is run_units:
            self.caps.append(args[3])
        return self.pool.submit(fn, *args, **kwargs)


@pytest.mark.parametrize("seed", range(4))
def test_units_go_out_with_what_is_left_of_the_budget(seed: int, pool: Any) -> None:
    # (a unit given the whole budget ran past the point where the merge cuts, then
    # its executions that count were run again to get their statistics)
    for bound, budget in (("iterative", 60), ("iterative", 400), (None, 60), (None, 400)):
        search = Search(Generated(seed), strategy="dpor", keep_going=True, max_executions=budget)
        caps = _Caps(pool)
        one = explore_units(search, InlineExecutor(), preemption_bound=bound)
        two = explore_units(search, caps, preemption_bound=bound)
        assert _summary(one) == _summary(two), (seed, bound, budget)
        assert caps.caps and all(c is not None and 1 <= c <= budget for c in caps.caps)
        if bound == "iterative" and two.executions == budget:
            # (the units of bound 0 go out before anything is merged, the later ones
            # -- with the merge in the single search's order, one at a time -- after)
            assert min(caps.caps) < budget, (seed, bound, budget, caps.caps)


def test_a_time_limit_keeps_what_the_units_that_finished_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first unit is cut by the time limit (as if: its result says so) while every
    # later one has finished: their executions and findings count, as after Ctrl-C.
    from dataclasses import replace

    from pagerace.explore import parallel

    calls: list[int] = []

    def first_cut(*args: Any, **kwargs: Any) -> Any:
        r = run_unit(*args, **kwargs)
        calls.append(r.executions)
        return replace(r, exhausted=True) if len(calls) == 1 else r

    monkeypatch.setattr(parallel, "run_unit", first_cut)
    for strategy, bound in (("dfs", None), ("dpor", 2)):
        calls.clear()
        search = Search(Generated(5), strategy=strategy, keep_going=True, time_limit=1000.0)
        executor = InlineExecutor(lazy=False)
        executor._max_workers = 64  # type: ignore[attr-defined]  # (units run ahead)
        r = explore_units(search, executor, preemption_bound=bound)
        assert len(calls) > 1 and r.coverage.stopped_by == "time_limit"
        assert r.executions == sum(calls), strategy


@pytest.mark.parametrize(
    ("name", "variant", "bound"),
    [("xsa345-r1-small", "xen-4.14", 2), ("bench/scenarios/four-cpus-small.toml", "xsa-345", 1)],
)
def test_a_scenario_explored_at_length_split_is_the_single_search(
    name: str, variant: str, bound: int
) -> None:
    # keep-going through every bound up to ``bound`` (hundreds of executions; findings
    # of six kinds on xsa345-r1-small), every bound split: the executions and
    # schedules of one process
    from pagerace.cli.options import load
    from pagerace.runner import RunOptions, run_scenario

    sc = load(str(ROOT / name) if name.endswith(".toml") else name)
    options = {"keep_going": True, "preemption_bound": bound}
    two, single = (
        run_scenario(sc, RunOptions(jobs=jobs, **options), variant=variant).result
        for jobs in (2, None)
    )
    assert _summary(two) == _summary(single) and two.coverage == single.coverage
    assert two.executions > 100


class _Divisions:
    """Observer: the units merged and those that paused to divide."""

    def __init__(self) -> None:
        self.units = 0
        self.divided = 0

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        self.units += 1
        self.divided += result.rest is not None


@pytest.mark.parametrize("seed", range(12))
def test_units_that_divide_anywhere_merge_to_the_single_search(seed: int, pool: Any) -> None:
    """A bounded dpor or dfs unit that stops after a few executions and hands out
    what is left (below the first point with a branch left the rest goes on as a unit
    of its own, and each branch there is a unit; for dpor those points join the
    order) merges to the single search: the same executions, events, findings,
    schedules and coverage, however often units divide, with a budget and a stop at a
    finding too."""
    divided = executions = 0
    for strategy, bound, every, keep_going, budget in [
        ("dpor", "iterative", 1, True, None),
        ("dpor", "iterative", 2, False, None),
        ("dpor", "iterative", 3, True, 150),
        ("dpor", "iterative", 5, True, None),
        ("dfs", "iterative", 2, True, 400),
        ("dfs", None, 3, True, 300),
    ]:
        whole, search = _single_and_split(seed, strategy, bound, keep_going, budget, None)
        search = dataclasses.replace(search, divide_every=every)
        config = (seed, strategy, every, keep_going, budget)
        for executor in (InlineExecutor(), pool):
            seen = _Divisions()
            split = explore_units(search, executor, preemption_bound=bound, observers=[seen])
            assert split.coverage == whole.coverage, config
            assert _summary(split) == _summary(whole), config
            assert split.stats.bound_cut == whole.stats.bound_cut, config
            divided += seen.divided
            if strategy == "dpor":
                executions = max(executions, whole.executions)
    if executions > 90:  # (smaller programs here end before a unit has much left)
        assert divided, seed


def _wait_to_be_asked(tag: int, seconds: float) -> bool:
    """A task: name itself under ``tag``, then wait until asked to divide."""
    import time

    from pagerace.explore.executors import divide_asked, name_task

    name_task(tag)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if divide_asked(tag):
            return True
        if divide_asked(tag + 1):  # (another task's request is not this one's)
            return False
        time.sleep(0.001)
    return False


def test_a_running_task_is_asked_to_divide_through_its_workers_slot(pool: Any) -> None:
    import time

    from pagerace.explore.executors import ask_to_divide

    assert not ask_to_divide(pool, 77)  # (no task of that tag runs)
    assert not ask_to_divide(InlineExecutor(), 77)  # (nor can tasks here be asked)
    future = pool.submit(_wait_to_be_asked, 77, 20.0)
    end = time.monotonic() + 20
    while not ask_to_divide(pool, 77):  # (until the task has named itself)
        assert not ask_to_divide(pool, 78)
        assert time.monotonic() < end, "the task never named itself"
        time.sleep(0.001)
    assert future.result(timeout=20)


def test_the_unit_the_merge_waits_for_divides_for_an_idle_worker(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On two workers with no guesses to run (as on a cluster that has run them all),
    the long units of the four-CPU bench scenario divide when the other worker idles,
    and the result is the single search's."""
    from pagerace.explore.unitorder import SingleOrder
    from pagerace.runner import RunOptions, run_scenario
    from pagerace.scenario import load_scenario

    monkeypatch.setattr(SingleOrder, "wanted", SingleOrder._sure)  # (no guesses)

    scenario = load_scenario(ROOT / "bench/scenarios/four-cpus-small.toml")
    options = RunOptions(preemption_bound=2, keep_going=True)
    whole = run_scenario(scenario, dataclasses.replace(options, jobs=1), variant="xsa-345").result
    seen = _Divisions()
    split = run_scenario(
        scenario, options, variant="xsa-345", observers=[seen], executor=pool
    ).result
    assert _summary(split) == _summary(whole)
    assert split.coverage == whole.coverage
    assert seen.divided  # (a few times each run, here)
