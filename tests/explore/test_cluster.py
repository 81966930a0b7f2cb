"""Work on a real Dask cluster (a local scheduler and two worker processes, reached at
its tcp:// address as a remote one is) gives the results of one process: a split
scenario run, and a hunt.  Skipped when Dask is not installed (the test extra
installs it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from pagerace.cli.options import load
from pagerace.explore import parallel
from pagerace.explore.cluster import dask_executor
from pagerace.explore.parallel import PROBE_EXECUTIONS
from pagerace.hunt.campaign import HuntOptions, hunt
from pagerace.hunt.generate import GenOptions
from pagerace.hunt.search import Budget
from pagerace.runner import RunOptions, run_scenario


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _summary(run: Any) -> tuple[Any, ...]:
    r = run.result
    return (
        str(r.status),
        r.executions,
        r.stats.events,
        r.coverage,
        [(f.kind, f.key, f.schedule, [e.to_dict() for e in f.trace]) for f in r.findings],
    )


@pytest.mark.parametrize("probe", [0, PROBE_EXECUTIONS])
def test_a_dask_cluster_gives_the_run_of_one_process(
    scheduler: str, probe: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (probe 0: every bound is split and its units go to the cluster; otherwise the
    # small bounds are explored as one search in this process)
    monkeypatch.setattr(parallel, "PROBE_EXECUTIONS", probe)
    sc = load("xsa345-r1-small")
    runs = [
        (RunOptions(preemption_bound=1, keep_going=True), "xen-4.14"),
        (RunOptions(), "xen-4.14"),  # until the expectation is decided
        (RunOptions(preemption_bound=1), "xsa-345"),
    ]
    with dask_executor(scheduler) as executor:
        assert getattr(executor, "slots", None) == 2
        for options, variant in runs:
            one = run_scenario(sc, replace(options, jobs=1), variant=variant)
            dask = run_scenario(sc, options, variant=variant, executor=executor)
            assert _summary(dask) == _summary(one)
            assert dask.result.executions > 1 and dask.result.stats.units


def test_a_hunt_on_a_dask_cluster_is_the_hunt_of_one_process(
    scheduler: str, tmp_path: Path
) -> None:
    base = HuntOptions(
        gen=GenOptions(max_cpus=2),
        seed=7,
        time_limit=None,
        max_scenarios=3,
        budget=Budget(dpor_executions=300, pct_executions=50),
    )
    one = hunt(base, tmp_path / "one")
    dask = hunt(replace(base, jobs=None, dask=scheduler), tmp_path / "dask")
    assert one.records and dask.options["jobs"] == 2
    assert (one.scenarios, one.executions) == (dask.scenarios, dask.executions)
    assert [(r.signature, r.count, r.first.schedule) for r in one.records] == [
        (r.signature, r.count, r.first.schedule) for r in dask.records
    ]


class _Running:
    """Progress observer: the reports that counted running units."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_progress(self, progress: Any) -> None:
        if getattr(progress, "running", 0):
            self.seen.append(progress)


def test_units_on_a_dask_cluster_post_their_progress_while_they_run(scheduler: str) -> None:
    # bound 1 of the 512-entry race 1 is split, and one of its units runs for seconds
    # (its worker posts its progress about twice a second, as a Dask worker event)
    watch = _Running()
    with dask_executor(scheduler) as executor:
        run = run_scenario(
            load("xsa345-r1"),
            RunOptions(preemption_bound=1, keep_going=True),
            variant="xen-4.14",
            executor=executor,
            observers=[watch],
        )
    assert run.result.stats.units and watch.seen, "no running unit was ever counted"
    assert all(p.executions <= run.result.executions for p in watch.seen)


class _Divided:
    def __init__(self) -> None:
        self.divided = 0

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        self.divided += result.rest is not None


def test_units_divided_on_a_dask_cluster_merge_to_the_run_of_one_process(scheduler: str) -> None:
    # every unit hands out what is left after 3 executions, where that makes two units
    from pagerace.runner import ScenarioRecipe

    recipe = ScenarioRecipe.of(load("xsa345-r1-small"), "xen-4.14", False)
    search = parallel.Search(recipe, keep_going=True, divide_every=3)
    whole = parallel.explore_units(search, parallel.InlineExecutor(), preemption_bound=2)
    forced = _Divided()
    with dask_executor(scheduler) as executor:
        split = parallel.explore_units(search, executor, preemption_bound=2, observers=[forced])
    assert forced.divided
    assert (split.executions, split.coverage, split.stats.events) == (
        whole.executions,
        whole.coverage,
        whole.stats.events,
    )
    assert [(f.key, f.schedule) for f in split.findings] == [
        (f.key, f.schedule) for f in whole.findings
    ]


def _post_until_asked(tag: int, seconds: float) -> bool:
    """A task: post progress under ``tag`` until asked to divide."""
    from pagerace.explore.executors import divide_asked, post_progress

    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        post_progress(tag, count, 0.0)
        if divide_asked(tag):
            return True
        time.sleep(0.05)
    return False


def test_a_task_on_a_dask_cluster_hears_that_it_is_asked_to_divide(scheduler: str) -> None:
    from pagerace.explore.executors import ask_to_divide

    with dask_executor(scheduler) as executor:
        assert not ask_to_divide(executor, 91)  # (it has not posted yet)
        future = executor.submit(_post_until_asked, 91, 60.0)
        end = time.monotonic() + 60
        while not ask_to_divide(executor, 91):  # (once its first post is in)
            assert time.monotonic() < end, "the task never posted"
            time.sleep(0.01)
        assert future.result(timeout=60)


def test_a_search_that_stops_early_on_a_cluster_leaves_no_tracebacks(scheduler: str) -> None:
    # units still running or queued when the search stops are cancelled: Dask's
    # event loop then reports futures it cannot hand a result to any more (on its
    # own stderr handler, which does not propagate)
    reported: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reported.append(record)

    catch = Catch(logging.ERROR)
    loop_log = logging.getLogger("tornado.application")
    loop_log.addHandler(catch)
    try:
        with dask_executor(scheduler) as executor:
            run = run_scenario(
                load("xsa345-r1"),
                RunOptions(preemption_bound=2, time_limit=3.0, keep_going=True),
                variant="xen-4.14",
                executor=executor,
            )
    finally:
        loop_log.removeHandler(catch)
    assert run.result.coverage.stopped_by == "time_limit"
    assert not reported, [r.getMessage() for r in reported]


class _InterruptInABigUnit:
    """Progress observer: Ctrl-C once a running unit has run 500 executions."""

    def __init__(self) -> None:
        self.mark: tuple[Any, int, int] | None = None  # (bound, units done, executions)

    def on_progress(self, progress: Any) -> None:
        if not hasattr(progress, "running"):
            return
        key = (progress.bound, progress.units_done)
        if self.mark is None or self.mark[:2] != key:
            self.mark = (*key, progress.executions)
        elif progress.running and progress.executions - self.mark[2] >= 500:
            raise KeyboardInterrupt


def test_a_search_that_stops_early_leaves_no_unit_running_on_the_cluster(scheduler: str) -> None:
    # (Dask cannot stop a running task: the unit ends itself at its next progress post)
    from distributed import Client

    with pytest.raises(KeyboardInterrupt), dask_executor(scheduler) as executor:
        run_scenario(
            load("xsa345-r1"),
            RunOptions(preemption_bound=2, keep_going=True),
            variant="xen-4.14",
            executor=executor,
            observers=[_InterruptInABigUnit()],
        )
    # a cancelled task leaves the scheduler's books at once, but not its worker's
    # thread: a task pinned to each worker runs once the worker is free again
    stopped = time.perf_counter()
    with Client(scheduler) as client:
        workers = list(client.scheduler_info()["workers"])
        pinned = [client.submit(int, 1, pure=False, workers=[w]) for w in workers]
        client.gather(pinned)
    assert time.perf_counter() - stopped < 4, "units still ran on the cluster"


class _Killed(BaseException):
    """Stands for SIGKILL: nothing catches it."""


def test_units_on_a_dask_cluster_keep_their_search_states_for_a_resume(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A unit's search state travels to the client, which writes it beside the
    # checkpoint; killed while a big unit runs, the search resumes from it.
    from pagerace.explore.checkpoint import Progress
    from pagerace.explore.parallel import InlineExecutor, Search, explore_units
    from pagerace.runner import ScenarioRecipe

    monkeypatch.setattr(parallel, "PROGRESS_SECONDS", 0.05)  # (this process looks often)
    root = Path(__file__).resolve().parents[2]
    scenario = load(str(root / "bench" / "scenarios" / "three-cpus-small.toml"))
    search = Search(ScenarioRecipe.of(scenario, "xen-4.14", False), "dpor", keep_going=True)
    expected = explore_units(search, InlineExecutor(), preemption_bound=2)
    path = tmp_path / "c.json"
    progress = Progress(path, {}, "hash", {"o": 1}, interval=0.0)

    class KillOnAState:
        def on_progress(self, _progress: Any) -> None:
            if any(progress.units_dir.glob("*.json")):
                raise _Killed

    with dask_executor(scheduler) as executor, pytest.raises(_Killed):
        explore_units(
            search, executor, preemption_bound=2, state=progress, observers=[KillOnAState()]
        )
    kept = list(progress.units_dir.glob("*.json"))
    assert kept and all('"pagerace-unit-state":1' in f.read_text() for f in kept)
    resumed = explore_units(search, InlineExecutor(), preemption_bound=2, state=Progress.load(path))
    assert (resumed.executions, [f.schedule for f in resumed.findings]) == (
        expected.executions,
        [f.schedule for f in expected.findings],
    )
