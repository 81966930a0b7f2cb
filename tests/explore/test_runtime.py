"""The runtime's shortcuts: thread 0 on the calling greenlet, executions run without
recording (a failing one is re-run recorded), grants handed out in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from explore_programs import dining_philosophers, locked_increments, racy_increments

from pagerace.errors import PageraceInputError
from pagerace.explore import Context, Finding, Schedule, explore
from pagerace.explore.execution import GRANT_CHUNK


class Schedules:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, list[tuple[int, str]]]] = []

    def on_execution(self, record: Any) -> None:
        self.rows.append(
            (record.schedule, record.outcome, [(e.thread, e.label) for e in record.trace])
        )


def _summary(finding: Finding) -> tuple[Any, ...]:
    return (
        finding.kind,
        finding.message,
        finding.key,
        finding.schedule,
        finding.preemptions,
        finding.thread,
        [(e.thread, e.index, e.label, e.kind, e.detail) for e in finding.trace],
    )


@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_a_finding_of_an_unrecorded_search_is_the_recorded_one(strategy: str) -> None:
    # count_traces makes every execution recorded; without it, cell accesses are not
    # logged and the failing execution is run again, recorded, for its trace.
    program = racy_increments(3)
    options: dict[str, Any] = {"strategy": strategy, "keep_going": True, "max_executions": 200}
    quiet = explore(program, **options)
    recorded = explore(program, count_traces=True, **options)
    assert quiet.findings
    assert [_summary(f) for f in quiet.findings] == [_summary(f) for f in recorded.findings]
    (finding,) = quiet.findings
    assert [e.label for e in finding.trace].count("store x") == 3


def test_the_label_of_an_exception_comes_from_the_recorded_rerun() -> None:
    def program(ctx: Context) -> Any:
        a = ctx.cell("a", 0)

        def first() -> None:
            a.store(1)
            a.load()
            raise ValueError("after two events")

        def second() -> None:
            a.load()

        return [first, second], None

    result = explore(program, strategy="pct", max_executions=5)
    (finding,) = result.findings
    assert finding.kind == "exception"
    assert finding.key == ("exception", "load a", "ValueError")
    assert finding.thread == 0
    assert [e.label for e in finding.trace if e.thread == 0] == ["store a", "load a"]


def test_a_program_that_does_not_fail_again_on_the_rerun_is_an_input_error() -> None:
    calls = [0]

    def program(ctx: Context) -> Any:
        calls[0] += 1
        fails = calls[0] == 1
        a = ctx.cell("a", 0)

        def body() -> None:
            a.store(a.load() + 1)
            if fails:
                raise RuntimeError("only the first time")

        return [body, body], None

    with pytest.raises(PageraceInputError, match="not deterministic"):
        explore(program, strategy="random", max_executions=3)


def _long(accesses: int) -> Callable[[Context], Any]:
    def program(ctx: Context) -> Any:
        own = [ctx.cell("a", 0), ctx.cell("b", 0)]
        shared = ctx.cell("s", 0)

        def body(t: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(accesses):
                    own[t].store(own[t].load() + i)
                shared.store(shared.load() + 1)

            return run

        def check() -> None:
            ctx.check(shared.peek() == 2, "lost update")

        return [body(0), body(1)], check

    return program


def _longest_run(steps: tuple[int, ...]) -> int:
    longest = run = 0
    for i, tid in enumerate(steps):
        run = run + 1 if i and steps[i - 1] == tid else 1
        longest = max(longest, run)
    return longest


@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_runs_longer_than_a_grant_chunk_replay_step_by_step(strategy: str) -> None:
    accesses = 2 * GRANT_CHUNK
    seen = Schedules()
    explore(_long(accesses), strategy=strategy, max_executions=6, observers=[seen])
    runs = [_longest_run(Schedule.parse(schedule).steps) for schedule, _, _ in seen.rows]
    if strategy != "random":  # (random's runs are geometric: short)
        assert max(runs) > 2 * GRANT_CHUNK
    for schedule, outcome, trace in seen.rows:
        steps = Schedule.parse(schedule).steps
        assert tuple(t for t, _ in trace) == steps
        assert len(steps) == 2 * (2 * accesses + 2)
        replayed = explore(_long(accesses), strategy="replay", schedule=schedule)
        assert replayed.stats.events == len(steps)
        assert ("found" if outcome == "failed" else "clean") == replayed.status


def test_thread_zero_failing_on_the_calling_greenlet_unwinds_the_others() -> None:
    def program(ctx: Context) -> Any:
        a = ctx.cell("a", 0)

        def first() -> None:
            a.load()
            if a.load() == 0:
                raise KeyError("thread 0")

        def second() -> None:
            for _ in range(3):
                a.store(a.load())

        return [first, second], None

    result = explore(program, strategy="dfs", keep_going=True)
    assert {f.thread for f in result.findings} == {0}
    assert result.executions > 1
    # the explorer is usable again at once (no greenlet left parked)
    assert explore(locked_increments(2, 2)).traces is None


def test_a_deadlock_with_thread_zero_blocked_is_found_and_reported_once() -> None:
    result = explore(dining_philosophers(2), strategy="dfs", keep_going=True)
    (finding,) = result.findings
    assert finding.kind == "deadlock"
    assert "thread 0 waits for lock" in finding.message
    assert [e.kind for e in finding.trace] == ["acquire", "acquire"]


def test_explore_can_run_inside_a_thread_body() -> None:
    inner_results: list[Any] = []

    def program(ctx: Context) -> Any:
        a = ctx.cell("a", 0)

        def outer_worker() -> None:
            a.store(a.load() + 1)
            inner_results.append(explore(racy_increments(2), strategy="dfs", keep_going=True))
            a.store(a.load() + 1)

        return [outer_worker, outer_worker], None

    outer = explore(program, strategy="dfs", keep_going=True, max_executions=4)
    assert outer.executions == 4
    assert len(inner_results) == 8
    for inner in inner_results:
        assert inner.executions == 6
        assert [f.kind for f in inner.findings] == ["assert"]
