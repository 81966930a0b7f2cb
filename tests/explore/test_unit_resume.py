"""A checkpointed split search stopped dead in the middle of a unit (no clean-up: as
``kill -9`` leaves it) goes on, when resumed, from the search state the unit last
wrote, and ends exactly as the search never stopped."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest

from pagerace.errors import Interrupted, PageraceInputError
from pagerace.explore import explorer, parallel
from pagerace.explore.checkpoint import Progress
from pagerace.explore.executors import open_executor
from pagerace.explore.parallel import InlineExecutor, Search, explore_units
from pagerace.runner import ScenarioRecipe
from pagerace.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


class _Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, nothing is saved on the way out."""


class _KillInAUnit:
    """Observer of a split search: kill it ``after`` progress reports once some unit
    has written its search state."""

    def __init__(self, units_dir: Path, after: int) -> None:
        self.units_dir = units_dir
        self.after = after

    def on_progress(self, progress: Any) -> None:
        if any(self.units_dir.glob("*.json")):  # (a state written, not being written)
            if self.after <= 0:
                raise _Killed
            self.after -= 1


def _summary(r: Any) -> tuple[Any, ...]:
    return (
        r.status,
        r.executions,
        r.stats.events,
        r.stats.cut_executions,
        r.stats.bound_cut,
        [(f.kind, f.message, f.key, f.schedule, f.preemptions) for f in r.findings],
    )


@pytest.fixture
def search(monkeypatch: pytest.MonkeyPatch) -> Search:
    # a state after every 16 executions (each written: ``Progress(interval=0)``)
    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(parallel, "PROGRESS_SECONDS", 0.0)
    scenario = load_scenario(ROOT / "scenarios" / "xsa345-r1-small.toml")
    return Search(ScenarioRecipe.of(scenario, "xen-4.14", False), "dpor", keep_going=True)


class _Runs:
    """Counts the executions run (splitting, probing and replays included)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        run_once = explorer._run_once

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return run_once(*args, **kwargs)

        monkeypatch.setattr(explorer, "_run_once", counted)


def _killed_in_a_unit(search: Search, path: Path, after: int) -> Path:
    """A checkpointed search (to ``path``) killed ``after`` progress reports once a
    unit has written its search state; that state's file."""
    progress = Progress(path, {}, "hash", {"o": 1}, interval=0.0)
    kill = _KillInAUnit(progress.units_dir, after)
    with pytest.raises(_Killed):
        explore_units(
            search, InlineExecutor(), preemption_bound=3, state=progress, observers=[kill]
        )
    [left] = list(progress.units_dir.glob("*.json"))  # (the unit that was running)
    return left


def _spy_resumes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ``resume`` that each unit run from now on gets (None: from its start)."""
    resumes: list[Any] = []
    run_unit = parallel.run_unit

    def spied(*args: Any, resume: Any = None, **kwargs: Any) -> Any:
        resumes.append(resume)
        return run_unit(*args, resume=resume, **kwargs)

    monkeypatch.setattr(parallel, "run_unit", spied)
    return resumes


def _resumed(search: Search, path: Path) -> Any:
    return explore_units(search, InlineExecutor(), preemption_bound=3, state=Progress.load(path))


@pytest.mark.parametrize("seed", range(3))
def test_a_search_killed_in_a_unit_goes_on_from_the_units_state(
    seed: int, search: Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _Runs(monkeypatch)
    expected = explore_units(search, InlineExecutor(), preemption_bound=3)
    assert expected.stats.resumed_executions == 0
    whole = runs.count
    path = tmp_path / "c.json"
    left = _killed_in_a_unit(search, path, random.Random(seed).randrange(40))
    saved = json.loads(left.read_text())["state"]["executions"]
    assert saved >= 16
    levels = json.loads(path.read_text())["levels"]
    done = sum(u["executions"] for level in levels.values() for u in level["done"].values())
    runs.count = 0
    resumes = _spy_resumes(monkeypatch)
    resumed = _resumed(search, path)
    assert [r["state"]["executions"] for r in resumes if r is not None] == [saved]
    assert _summary(resumed) == _summary(expected)
    # Neither the units done nor the executions of the running unit up to its state
    # ran again (a finding they hold is rebuilt by a replay).
    assert runs.count <= whole - done - saved + len(expected.findings)
    # its rate counts only the executions it ran itself
    st = resumed.stats
    assert st.resumed_executions == done + saved
    assert st.executions_per_second * st.seconds == pytest.approx(st.executions - done - saved)
    assert not left.parent.exists()  # (removed once the search is over)


@pytest.mark.parametrize("field", ["stamp", "prefix"])
def test_a_units_state_of_another_search_is_ignored(
    field: str, search: Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = explore_units(search, InlineExecutor(), preemption_bound=3)
    path = tmp_path / "c.json"
    left = _killed_in_a_unit(search, path, 3)
    data = json.loads(left.read_text())
    data[field] = "another search" if field == "stamp" else [[[0, 1], 1, [], []]]
    left.write_text(json.dumps(data))
    resumes = _spy_resumes(monkeypatch)
    assert _summary(_resumed(search, path)) == _summary(expected)
    assert resumes and not any(resumes)  # (the unit ran from its start)


def test_a_damaged_units_state_is_one_clear_error(search: Search, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    left = _killed_in_a_unit(search, path, 0)
    data = json.loads(left.read_text())
    data["state"]["nodes"] = "no nodes"
    left.write_text(json.dumps(data))
    with pytest.raises(PageraceInputError, match=r"\.json: a damaged search state$") as info:
        _resumed(search, path)
    assert "\n" not in str(info.value)


class _CtrlCInAUnit:
    """Observer of a split search: Ctrl-C at the ``after``-th progress report."""

    def __init__(self, after: int) -> None:
        self.after = after

    def on_progress(self, progress: Any) -> None:
        self.after -= 1
        if self.after == 0:
            raise KeyboardInterrupt


def test_ctrl_c_in_a_unit_writes_its_latest_state(
    search: Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = explore_units(search, InlineExecutor(), preemption_bound=3)
    path = tmp_path / "c.json"
    progress = Progress(path, {}, "hash", {"o": 1}, interval=1e9)  # (none on the way)
    with pytest.raises(Interrupted):
        explore_units(
            search,
            InlineExecutor(),
            preemption_bound=3,
            state=progress,
            observers=[_CtrlCInAUnit(40)],
        )
    progress.save()  # (what the command does on Ctrl-C)
    [left] = list(progress.units_dir.glob("*.json"))
    assert json.loads(left.read_text())["state"]["executions"] >= 16
    assert _summary(_resumed(search, path)) == _summary(expected)


def test_a_new_run_with_the_same_file_starts_without_the_old_units_states(
    search: Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    _killed_in_a_unit(search, path, 3)
    resumes = _spy_resumes(monkeypatch)
    again = Progress(path, {}, "hash", {"o": 1}, interval=0.0)  # (run, not resume)
    explore_units(search, InlineExecutor(), preemption_bound=3, state=again)
    assert resumes and not any(resumes)


def test_units_on_worker_processes_keep_their_states_and_resume_there(
    search: Search, tmp_path: Path
) -> None:
    # (the pool forks after the fixture's settings: its workers write every state)
    expected = explore_units(search, InlineExecutor(), preemption_bound=3)
    path = tmp_path / "c.json"
    progress = Progress(path, {}, "hash", {"o": 1}, interval=0.0)
    with open_executor(2) as pool, pytest.raises(_Killed):
        explore_units(
            search,
            pool,
            preemption_bound=3,
            state=progress,
            observers=[_KillInAUnit(progress.units_dir, 2)],
        )
    left = list(progress.units_dir.glob("*.json"))
    assert left  # (written by the workers)
    with open_executor(2) as pool:
        resumed = explore_units(search, pool, preemption_bound=3, state=Progress.load(path))
    assert _summary(resumed) == _summary(expected)
    assert not progress.units_dir.exists()


def test_a_search_cut_by_its_budget_keeps_the_cut_units_state(
    search: Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (as after a time limit: ``pagerace resume`` then goes on from there)
    cut = Search(search.recipe, "dpor", keep_going=True, max_executions=2000)
    expected = explore_units(cut, InlineExecutor(), preemption_bound=3)
    assert expected.coverage.stopped_by == "max_executions"
    path = tmp_path / "c.json"
    progress = Progress(path, {}, "hash", {"o": 1}, interval=0.0)
    first = explore_units(cut, InlineExecutor(), preemption_bound=3, state=progress)
    assert _summary(first) == _summary(expected)
    assert list(progress.units_dir.glob("*.json"))  # (the unit the budget cut)
    resumes = _spy_resumes(monkeypatch)
    again = explore_units(cut, InlineExecutor(), preemption_bound=3, state=Progress.load(path))
    assert _summary(again) == _summary(expected)
    assert any(resumes)


def test_a_resumed_units_first_executions_are_those_of_a_run_with_that_budget(
    search: Search,
) -> None:
    # (a resumed unit's record starts at its state: the merge cuts it there or later
    # without running it again, and earlier by running it again)
    from pagerace.explore import explore
    from pagerace.explore.parallel import _Indices, _program, run_unit, split

    program = _program(search.recipe)
    units = split(program, "dpor", None)[0]
    prefix = max(units, key=lambda u: run_unit(search, None, u, None).executions)
    whole = run_unit(search, None, prefix, None)
    assert whole.executions > 20
    indices = _Indices(False)
    states: list[Any] = []

    class _Grab:
        def on_state(self, state: Any) -> None:
            states.append((state, list(indices.indices)))

    explore(
        program,
        strategy="dpor",
        keep_going=True,
        prefix=prefix,
        fewest_first=False,
        max_executions=20,
        observers=[indices, _Grab()],
    )
    state, found = next((s, i) for s, i in states if s.executions == 16)
    resumed = run_unit(
        search, None, prefix, None, resume={"state": state.to_data(), "indices": found, "cpu": 0.0}
    )
    assert resumed.executions == whole.executions
    assert resumed.first_executions(15) is None  # (ran before the resume)
    for count in (16, 17, whole.executions - 1):
        cut = resumed.first_executions(count)
        again = run_unit(search, None, prefix, count)
        assert cut is not None, count
        assert (cut.executions, cut.events, cut.cut_executions, cut.max_depth) == (
            again.executions,
            again.events,
            again.cut_executions,
            again.max_depth,
        ), count
        assert (cut.bound_cut, cut.deadlocks, cut.indices) == (
            again.bound_cut,
            again.deadlocks,
            again.indices,
        ), count
        assert [f.schedule for f in cut.findings] == [f.schedule for f in again.findings]


@pytest.mark.parametrize("bound", [None, 2])
def test_a_units_first_executions_up_to_a_stop_are_those_of_a_stopping_run(
    bound: int | None,
) -> None:
    # (a search that stops at its first finding ends inside the unit that finds it)
    from dataclasses import replace

    from pagerace.explore.parallel import _program, run_unit, split

    scenario = load_scenario(ROOT / "scenarios" / "xsa345-r1-small.toml")
    going = Search(ScenarioRecipe.of(scenario, "xen-4.14", False), "dpor", keep_going=True)
    stopping = replace(going, keep_going=False)
    cases = 0
    for prefix in split(_program(going.recipe), "dpor", bound)[0]:
        whole = run_unit(going, bound, prefix, None)
        stopped = run_unit(stopping, bound, prefix, None)
        if not (stopped.findings and stopped.executions < whole.executions):
            continue
        cases += 1
        cut = whole.first_executions(stopped.executions, exhausted=False)
        assert cut is not None
        got = (cut.executions, cut.events, cut.cut_executions, cut.max_depth, cut.bound_cut)
        assert got == (
            stopped.executions,
            stopped.events,
            stopped.cut_executions,
            stopped.max_depth,
            stopped.bound_cut,
        )
        assert (cut.deadlocks, cut.indices, cut.exhausted) == (
            stopped.deadlocks,
            stopped.indices,
            stopped.exhausted,
        )
        assert [(f.kind, f.schedule) for f in cut.findings] == [
            (f.kind, f.schedule) for f in stopped.findings
        ]
    assert cases


class _KillAfterUnits:
    """Observer: kill the search once ``count`` units have been merged."""

    def __init__(self, count: int) -> None:
        self.count = count

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        self.count -= 1
        if self.count <= 0:
            raise _Killed


@pytest.mark.parametrize("strategy", ["dpor", "dfs"])
@pytest.mark.parametrize("seed", range(2))
def test_a_search_whose_units_divide_resumes_from_its_checkpoint(
    seed: int, strategy: str, search: Search, tmp_path: Path
) -> None:
    # Units divide after 5 executions: the checkpoint holds the divided units with
    # what they handed out, and the units made so by their paths.  The resumed run
    # makes those units again from the checkpoint, whether its own units divide
    # elsewhere (every 7 executions: seed 0) or not at all (seed 1).
    bound = 3 if strategy == "dpor" else 2  # (dfs runs every interleaving: far more)
    dividing = dataclasses.replace(search, strategy=strategy, divide_every=5)
    count = _KillAfterUnits(10**9)  # (counts the units merged)
    expected = explore_units(dividing, InlineExecutor(), preemption_bound=bound, observers=[count])
    merged = 10**9 - count.count
    path = tmp_path / "c.json"
    progress = Progress(path, {}, "hash", {"o": 1}, interval=0.0)
    kill = _KillAfterUnits(random.Random(seed).randrange(merged // 4, merged * 3 // 4))
    with pytest.raises(_Killed):
        explore_units(
            dividing, InlineExecutor(), preemption_bound=bound, state=progress, observers=[kill]
        )
    levels = json.loads(path.read_text())["levels"]
    assert any(u.get("rest") for level in levels.values() for u in level["done"].values())
    assert any(level.get("made") for level in levels.values())
    resumed_with = dataclasses.replace(dividing, divide_every=7 if seed == 0 else None)
    resumed = explore_units(
        resumed_with, InlineExecutor(), preemption_bound=bound, state=Progress.load(path)
    )
    assert _summary(resumed) == _summary(expected)
    assert resumed.coverage == expected.coverage
