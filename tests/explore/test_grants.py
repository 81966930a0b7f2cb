"""Run grants (``Execution.grant``): a chooser that lets a thread take several events
unasked must give the executions that asking at every step would give."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from explore_programs import TraceForms, generated_program, locked_increments

from pagerace.explore import Context, explore


def two_threads(accesses: int) -> Callable[[Context], Any]:
    def program(ctx: Context) -> Any:
        cells = [ctx.cell("a", 0), ctx.cell("b", 0)]

        def body(t: int) -> Callable[[], None]:
            def run() -> None:
                for _ in range(accesses):
                    cells[t].store(cells[t].load() + 1)

            return run

        return [body(0), body(1)], None

    return program


def iid_probability(schedule: tuple[int, ...], lengths: tuple[int, int]) -> float:
    """Probability of ``schedule`` when every step picks an enabled thread uniformly."""
    left = list(lengths)
    p = 1.0
    for tid in schedule:
        p *= 1.0 / sum(1 for n in left if n > 0)
        left[tid] -= 1
    return p


def test_random_schedules_are_uniform_at_every_step() -> None:
    # 2 threads x 3 events: 20 schedules with known probabilities under i.i.d. uniform
    # choices; the geometric run lengths of ``random`` must give the same distribution.
    forms = TraceForms()
    runs = 6000
    explore(two_threads(1), strategy="random", max_executions=runs, observers=[forms])
    # each thread: load, store = 2 events
    counts = Counter(forms.schedules)
    total = sum(counts.values())
    assert total == runs
    seen = 0.0
    for steps in set(itertools.permutations([0, 0, 1, 1])):
        schedule = _format(steps)
        p = iid_probability(steps, (2, 2))
        seen += p
        freq = counts[schedule] / total
        assert abs(freq - p) < 4 * (p * (1 - p) / total) ** 0.5 + 0.005, (schedule, freq, p)
    assert abs(seen - 1.0) < 1e-9


def _format(steps: tuple[int, ...]) -> str:
    runs = []
    for tid, group in itertools.groupby(steps):
        count = len(list(group))
        runs.append(f"{tid}x{count}" if count > 1 else str(tid))
    return "v1:" + ".".join(runs)


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_sampled_schedules_replay_to_the_same_trace(strategy: str) -> None:
    program = generated_program(
        [
            [("w", "a"), ("l", "L", [("r", "b"), ("w", "b")])],
            [("r", "a"), ("w", "b"), ("r", "c")],
            [("l", "L", [("w", "c")]), ("r", "a")],
        ]
    )
    forms = TraceForms()
    explore(program, strategy=strategy, max_executions=30, seed=4, observers=[forms])
    for schedule in forms.schedules:
        again = TraceForms()
        explore(program, strategy="replay", schedule=schedule, observers=[again])
        assert again.schedules == [schedule]
        assert again.forms <= forms.forms


def test_a_failure_after_granted_events_has_the_label_of_the_last_event() -> None:
    def program(ctx: Context) -> Any:
        a = ctx.cell("a", 0)
        b = ctx.cell("b", 0)

        def worker() -> None:
            for _ in range(5):
                a.store(a.load() + 1)
            b.load()
            raise ValueError("boom")

        return [worker, lambda: None], None

    result = explore(program, strategy="replay", schedule="v1:0x11")
    (finding,) = result.findings
    assert finding.key == ("exception", "load b", "ValueError")
    assert finding.schedule == "v1:0x11"
    assert [ev.label for ev in finding.trace][-2:] == ["store a", "load b"]


class Preemptions:
    def __init__(self) -> None:
        self.most = 0
        self.schedules: list[str] = []

    def on_execution(self, record: Any) -> None:
        self.most = max(self.most, record.preemptions)
        self.schedules.append(record.schedule)


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_a_bounded_search_with_grants_stays_within_the_bound(strategy: str) -> None:
    program = locked_increments(2, 2)
    unbounded = explore(program, strategy=strategy, count_traces=True)
    for bound in (0, 1, 2, 50):
        seen = Preemptions()
        result = explore(
            program,
            strategy=strategy,
            preemption_bound=bound,
            fewest_first=False,
            count_traces=True,
            observers=[seen],
        )
        assert seen.most <= bound
        assert len(set(seen.schedules)) == len(seen.schedules)
        if bound == 50:
            assert not result.stats.bound_cut
            assert result.traces == unbounded.traces


def _run_with(chooser: Any, program: Callable[[Context], Any]) -> Any:
    """One execution of ``program`` under ``chooser`` (the runtime, no strategy)."""
    from pagerace.explore.execution import Execution, GreenletPool

    ctx = Context()
    pool = GreenletPool.take()
    try:
        ex = Execution(chooser)
        ctx._begin(ex)
        bodies, _ = program(ctx)
        ex.run(bodies, pool)
    finally:
        pool.give_back()
    return ex


def _locking(contended: bool) -> Callable[[Context], Any]:
    """Thread 0: load, a critical section (store), load; thread 1: a load, and with
    ``contended`` its own critical section on the same lock."""

    def program(ctx: Context) -> Any:
        a, b = ctx.cell("a", 0), ctx.cell("b", 0)
        lock = ctx.lock("L")

        def first() -> None:
            a.load()
            with lock:
                a.store(1)
            a.load()

        def second() -> None:
            if contended:
                with lock:
                    b.store(1)
            b.load()

        return [first, second], None

    return program


class _Asked:
    """A chooser: the lowest enabled thread, with the grant given; notes each step."""

    def __init__(self, grant: int) -> None:
        self.grant = grant
        self.steps: list[int] = []

    def __call__(self, enabled: list[int], pending: Any, current: int, pre: int, ex: Any) -> int:
        self.steps.append(len(ex.choices))
        ex.grant = self.grant
        return enabled[0]


def test_a_lasting_grant_goes_on_through_a_lock_step_that_changes_nothing() -> None:
    from pagerace.explore.execution import GRANT_ALL

    asked = _Asked(GRANT_ALL)
    ex = _run_with(asked, _locking(contended=False))
    # thread 0's five steps (load, acquire, store, release, load) on one decision,
    # then thread 1's load once thread 0 finished
    assert ex.choices == [0, 0, 0, 0, 0, 1]
    assert asked.steps == [0, 5]
    assert ex.outcome == "done"


def test_a_grant_stops_at_a_lock_step_that_changes_the_enabled_set() -> None:
    from pagerace.explore.execution import GRANT_ALL

    asked = _Asked(GRANT_ALL)
    ex = _run_with(asked, _locking(contended=True))
    # thread 1 waits for L: thread 0's acquire disables it, its release enables it
    # (and a decision at a lock step grants nothing: asked at the step after it too)
    assert ex.choices[:5] == [0, 0, 0, 0, 0]
    assert asked.steps[:5] == [0, 1, 2, 3, 4]
    finite = _Asked(100)  # a finite grant never goes through a lock step
    _run_with(finite, _locking(contended=False))
    assert finite.steps == [0, 1, 2, 3, 4, 5]


def test_a_script_is_taken_without_asking_while_its_threads_are_enabled() -> None:
    program = _locking(contended=True)

    def scripted(script: list[int]) -> tuple[Any, _Asked]:
        asked = _Asked(0)

        def chooser(enabled: list[int], pending: Any, current: int, pre: int, ex: Any) -> int:
            if not ex.choices:
                ex.script = script
                return script[0]
            return asked(enabled, pending, current, pre, ex)

        return _run_with(chooser, program), asked

    # thread 1's critical section first, then thread 0's: no decision but the first
    ex, asked = scripted([1, 1, 1, 0, 0, 0, 0, 0, 1])
    assert ex.choices == [1, 1, 1, 0, 0, 0, 0, 0, 1]
    assert asked.steps == []
    assert ex.preemptions == 1
    # a script that has thread 0 acquire L while thread 1 holds it: asked there
    ex, asked = scripted([1, 0, 0, 1, 1, 0, 0, 0, 0])
    assert asked.steps == [2]
    assert ex.choices[:2] == [1, 0]
