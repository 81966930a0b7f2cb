"""``explore``: run a program under a strategy, many times, and collect findings."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from pagerace.errors import ExecutionSignal, PageraceInputError
from pagerace.explore.bounding import Budget, IterativeBound, PreemptionBound
from pagerace.explore.canonical import canonical_form
from pagerace.explore.context import Context
from pagerace.explore.execution import (
    Chooser,
    Execution,
    Failure,
    GreenletPool,
    failure_from_exception,
)
from pagerace.explore.observers import ExecutionRecord, ExploreInfo, Observers
from pagerace.explore.results import Finding, Result, Stats, Status
from pagerace.explore.schedule import MAX_THREADS, Schedule
from pagerace.explore.strategies.base import Strategy
from pagerace.explore.strategies.dfs import DfsStrategy
from pagerace.explore.strategies.dpor import DporStrategy
from pagerace.explore.strategies.pct import PctStrategy
from pagerace.explore.strategies.random import RandomStrategy
from pagerace.explore.strategies.replay import ReplayStrategy

__all__ = ["DEFAULT_SAMPLED_EXECUTIONS", "STRATEGIES", "explore"]

STRATEGIES = ("dpor", "dfs", "random", "pct", "replay")
#: Executions of ``random`` and ``pct`` when neither max_executions nor time_limit is set.
DEFAULT_SAMPLED_EXECUTIONS = 1000
_BOUNDABLE = ("dpor", "dfs")

Program = Callable[[Context], Any]
_NO_OBSERVERS = Observers(())


def explore(
    program: Program,
    *,
    strategy: str = "dpor",
    preemption_bound: int | str | None = None,
    max_executions: int | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    keep_going: bool = False,
    count_traces: bool = False,
    schedule: str | Schedule | None = None,
    pct_depth: int = 3,
    observers: Sequence[Any] = (),
    stop_when: Callable[[Sequence[Finding]], bool] | None = None,
    max_preemption_bound: int | None = None,
    prefix: Sequence[Sequence[Any]] | None = None,
) -> Result:
    """Explore the executions of ``program`` (see ``pagerace.explore`` and
    docs/explorer.md).  Bad arguments raise ``PageraceInputError`` (a ``ValueError``).

    ``prefix`` (``dpor``/``dfs``, a fixed or no bound) explores only the subtree below
    a path of scheduling points ``[enabled, chosen, done, sleep]`` (a work unit of
    ``pagerace.explore.parallel``, whose other units explore the siblings).

    ``stop_when(findings)``, with ``keep_going``, ends the search once it returns true;
    ``max_preemption_bound`` caps iterative bounding (bounds 0..K: the first finding
    still has the fewest preemptions, and a clean result is complete within K)."""
    parsed = _validate(
        program, strategy, preemption_bound, max_executions, time_limit, seed, schedule, pct_depth
    )
    if strategy in ("random", "pct") and max_executions is None and time_limit is None:
        max_executions = DEFAULT_SAMPLED_EXECUTIONS

    if prefix is not None and (strategy not in _BOUNDABLE or preemption_bound == "iterative"):
        raise PageraceInputError("prefix: only with 'dpor' or 'dfs' and a fixed or no bound")

    def make_inner() -> Strategy:
        if strategy == "dpor":
            dpor = DporStrategy(bounded=preemption_bound is not None)
            if prefix is not None:
                dpor.start_below(prefix)
            return dpor
        if strategy == "dfs":
            dfs = DfsStrategy()
            if prefix is not None:
                dfs.start_below(prefix)
            return dfs
        if strategy == "random":
            return RandomStrategy(seed)
        if strategy == "pct":
            return PctStrategy(seed, pct_depth)
        assert parsed is not None
        return ReplayStrategy(parsed)

    bounded: PreemptionBound | IterativeBound | None = None
    inner: Strategy
    if preemption_bound == "iterative":
        inner = bounded = IterativeBound(make_inner, max_preemption_bound)
    elif isinstance(preemption_bound, int):
        inner = bounded = PreemptionBound(make_inner(), preemption_bound)
    else:
        inner = make_inner()
    hooks = Observers(tuple(observers)) if observers else _NO_OBSERVERS
    if hooks.on_start:
        info = ExploreInfo(
            strategy, preemption_bound, max_executions, time_limit, seed, keep_going, count_traces
        )
        for hook in hooks.on_start:
            hook(info)

    ctx = Context()
    pool = GreenletPool.take()
    findings: list[Finding] = []
    keys: set[object] = set()
    forms: set[object] = set()
    executions = events = cut = deadlocks = max_depth = 0

    def stats(seconds: float) -> Stats:
        return Stats(
            executions=executions,
            events=events,
            cut_executions=cut,
            seconds=seconds,
            executions_per_second=executions / seconds if seconds > 0 else 0.0,
            max_depth=max_depth,
            bound_cut=bounded.cut if bounded is not None else False,
            preemption_bound=bounded.bound if bounded is not None else None,
            traces=len(forms) if count_traces else None,
            findings=len(findings),
            deadlocks=deadlocks,
        )

    # Cell accesses are recorded only when something reads the trace of every
    # execution; a failing execution run without recording is re-run with it.
    recording = inner.records or count_traces or bool(hooks.on_execution)
    # Event details are built only when every execution's trace is read in full.
    detailed = bool(hooks.on_execution)
    budget = Budget(inner, max_executions, time_limit)  # the clock of Stats.seconds
    try:
        while True:
            chooser = budget.begin()
            if chooser is None:
                break
            ex = _run_once(program, ctx, pool, chooser, recording, detailed)
            inner.end(ex)  # (what budget.end does)
            executions += 1
            depth = len(ex.choices)
            events += depth
            if depth > max_depth:
                max_depth = depth
            if ex.outcome == "cut":
                cut += 1
            else:
                if ex.outcome == "deadlock":
                    deadlocks += 1
                if count_traces:
                    forms.add(canonical_form(ex.steps))
                if hooks.on_execution:
                    record = ExecutionRecord(
                        executions - 1,
                        str(Schedule(tuple(ex.choices))),
                        ex.outcome or "",
                        tuple(ex.trace),
                        ex.preemptions,
                    )
                    for hook in hooks.on_execution:
                        hook(record)
            stop = False
            if ex.failure is not None or ex.reports:
                failures = ex.failures()
                if (not recording or ex.abridged) and any(
                    f.key is None or f.key not in keys for f in failures
                ):
                    ex = _recorded(program, ctx, pool, ex)  # for its trace and labels
                    failures = ex.failures()
                schedule = str(Schedule(tuple(ex.choices)))
                for failure in failures:  # all share the execution's schedule
                    key = _finding_key(failure)
                    if key not in keys:
                        keys.add(key)
                        finding = _finding(ex, failure, key, schedule)
                        findings.append(finding)
                        for hook in hooks.on_finding:
                            hook(finding)
                stop = not keep_going or (stop_when is not None and stop_when(findings))
            if hooks.on_execution_end:
                so_far = stats(budget.elapsed())
                for hook in hooks.on_execution_end:
                    hook(executions - 1, so_far)
            if stop:
                break
        seconds = budget.elapsed()
    finally:
        pool.give_back()

    if findings:
        status = Status.FOUND
    elif budget.exhausted or not budget.complete:
        status = Status.INCOMPLETE
    else:
        status = Status.CLEAN
    final = stats(seconds)
    result = Result(status, executions, final.traces, tuple(findings), final, strategy)
    for hook in hooks.on_end:
        hook(result)
    return result


def _run_once(
    program: Program,
    ctx: Context,
    pool: GreenletPool,
    chooser: Chooser,
    recording: bool,
    detailed: bool = True,
) -> Execution:
    """One execution of ``program`` under ``chooser``, its check included."""
    ex = Execution(chooser, recording, pool.main, detailed)
    ctx._begin(ex)
    bodies, check = _call_program(program, ctx)
    ex.run(bodies, pool)
    if ex.outcome == "done" and check is not None:
        try:
            check()
        except (ExecutionSignal, Exception) as exc:
            ex.failure = failure_from_exception(exc, None, "check")
            ex.outcome = "failed"
    return ex


def _recorded(program: Program, ctx: Context, pool: GreenletPool, ex: Execution) -> Execution:
    """The failing execution ``ex`` (run without recording, or abridged) run again,
    recorded and detailed, with the same schedule: its trace and its failure's label."""
    chooser = ReplayStrategy(Schedule(tuple(ex.choices))).begin()
    assert chooser is not None
    again = _run_once(program, ctx, pool, chooser, True)
    if again.choices != ex.choices or [(f.kind, f.thread) for f in again.failures()] != [
        (f.kind, f.thread) for f in ex.failures()
    ]:
        raise PageraceInputError(
            "program: not deterministic: replaying a failing execution "
            f"({Schedule(tuple(ex.choices))}) did not fail the same way; "
            "program(ctx) must build the same state on every call"
        )
    return again


def _finding_key(failure: Failure) -> Hashable:
    return failure.key if failure.key is not None else (failure.kind, failure.label)


def _finding(ex: Execution, failure: Failure, key: Hashable, schedule: str) -> Finding:
    return Finding(
        kind=failure.kind,
        message=failure.message,
        schedule=schedule,
        preemptions=ex.preemptions,
        trace=tuple(ex.trace),
        key=key,
        thread=failure.thread,
        detail=failure.detail,
        at=failure.index,
    )


def _call_program(
    program: Program, ctx: Context
) -> tuple[Sequence[Callable[[], object]], Callable[[], object] | None]:
    returned = program(ctx)
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise PageraceInputError(
            "program: must return (thread_bodies, check), check may be None; "
            f"got {type(returned).__name__}"
        )
    bodies, check = returned
    if not isinstance(bodies, (list, tuple)):
        raise PageraceInputError("program: thread_bodies must be a list of callables")
    for body in bodies:
        if not callable(body):
            raise PageraceInputError("program: thread_bodies must be a list of callables")
    if not 1 <= len(bodies) <= MAX_THREADS:
        raise PageraceInputError(f"program: must have 1..{MAX_THREADS} threads, got {len(bodies)}")
    if check is not None and not callable(check):
        raise PageraceInputError("program: check must be callable or None")
    return bodies, check


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(
    program: object,
    strategy: object,
    preemption_bound: object,
    max_executions: object,
    time_limit: object,
    seed: object,
    schedule: object,
    pct_depth: object,
) -> Schedule | None:
    if not callable(program):
        raise PageraceInputError("program: must be callable as program(ctx)")
    if strategy not in STRATEGIES:
        raise PageraceInputError(
            f"strategy: must be one of {', '.join(STRATEGIES)}; got {strategy!r}"
        )
    parsed: Schedule | None = None
    if strategy == "replay":
        if schedule is None:
            raise PageraceInputError("schedule: strategy 'replay' needs schedule='v1:...'")
        parsed = schedule if isinstance(schedule, Schedule) else Schedule.parse(str(schedule))
    elif schedule is not None:
        raise PageraceInputError(
            f"schedule: only used with strategy='replay' (strategy is {strategy!r})"
        )
    if preemption_bound is not None:
        if preemption_bound != "iterative" and not _is_int(preemption_bound):
            raise PageraceInputError(
                f"preemption_bound: must be an int >= 0, 'iterative' or None; "
                f"got {preemption_bound!r}"
            )
        if _is_int(preemption_bound) and preemption_bound < 0:  # type: ignore[operator]
            raise PageraceInputError(f"preemption_bound: must be >= 0; got {preemption_bound}")
        if strategy not in _BOUNDABLE:
            raise PageraceInputError(
                f"preemption_bound: only with strategy 'dpor' or 'dfs' (strategy is {strategy!r})"
            )
    if max_executions is not None and not (_is_int(max_executions) and max_executions >= 1):  # type: ignore[operator]
        raise PageraceInputError(
            f"max_executions: must be an int >= 1 or None; got {max_executions!r}"
        )
    if time_limit is not None and not (
        isinstance(time_limit, numbers.Real) and not isinstance(time_limit, bool) and time_limit > 0  # type: ignore[operator]
    ):
        raise PageraceInputError(f"time_limit: must be seconds > 0 or None; got {time_limit!r}")
    if not _is_int(seed):
        raise PageraceInputError(f"seed: must be an int; got {seed!r}")
    if not (_is_int(pct_depth) and pct_depth >= 1):  # type: ignore[operator]
        raise PageraceInputError(f"pct_depth: must be an int >= 1; got {pct_depth!r}")
    return parsed
