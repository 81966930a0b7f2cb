"""``explore``: run a program under a strategy, many times, and collect findings."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

from pagerace.errors import ExecutionSignal, Interrupted, PageraceInputError
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
from pagerace.explore.frontier import Frontier
from pagerace.explore.observers import ExecutionRecord, ExploreInfo, Observers
from pagerace.explore.options import (
    DEFAULT_SAMPLED_EXECUTIONS,
    EXHAUSTIVE,
    SAMPLING,
    STRATEGIES,
    ExploreOptions,
)
from pagerace.explore.progress import PROGRESS_SECONDS, frontier_owner, progress_of
from pagerace.explore.results import BoundCoverage, Coverage, Finding, Result, Stats, Status
from pagerace.explore.schedule import MAX_THREADS, Schedule
from pagerace.explore.searchstate import SearchState
from pagerace.explore.strategies.base import Strategy
from pagerace.explore.strategies.dfs import DfsStrategy
from pagerace.explore.strategies.dpor import DporStrategy
from pagerace.explore.strategies.pct import PctStrategy
from pagerace.explore.strategies.random import RandomStrategy
from pagerace.explore.strategies.replay import ReplayStrategy

__all__ = ["DEFAULT_SAMPLED_EXECUTIONS", "STRATEGIES", "ExploreOptions", "explore"]


Program = Callable[[Context], Any]
_NO_OBSERVERS = Observers(())


def explore(
    program: Program,
    options: ExploreOptions | None = None,
    *,
    observers: Sequence[Any] = (),
    stop_when: Callable[[Sequence[Finding]], bool] | None = None,
    prefix: Sequence[Sequence[Any]] | None = None,
    resume: SearchState | None = None,
    above: dict[Any, None] | None = None,
    pause: Callable[[Frontier], bool] | None = None,
    **fields: Any,
) -> Result:
    """Explore the executions of ``program`` (see ``pagerace.explore`` and
    docs/explorer.md) with ``options`` (an ``ExploreOptions``), or with its fields as
    keywords (which override those of ``options``).  Bad arguments raise
    ``PageraceInputError`` (a ``ValueError``).

    ``stop_when(findings)``, with ``keep_going``, ends the search once it returns true.
    Ctrl-C (``KeyboardInterrupt``) during the search raises ``Interrupted``, a
    ``KeyboardInterrupt`` that carries the result so far.

    ``prefix`` (``dpor``/``dfs``, a single bound or none: ``fewest_first=False``)
    explores only the subtree below a path of scheduling points ``[enabled, chosen,
    done, sleep]`` (a work unit of ``pagerace.explore.parallel``, whose other units
    explore the siblings).

    ``resume`` (with ``prefix``) goes on with a search that an ``on_state`` observer
    was handed (``pagerace.explore.searchstate``), in this process or another: the
    result is the one the search would have given had it not stopped.

    ``above`` (with ``prefix``, ``dpor`` under a preemption bound): the search notes
    in this dict, in the order it would make them, what it would add to the backtrack
    sets of the prefix's nodes were they its own -- ``(walk, initials)``: at each node
    of ``walk`` (depths, in order) that has none of ``initials`` (sorted), add the first
    of them it can schedule.  ``parallel.SingleOrder`` follows the single search with
    them.

    ``pause(frontier)`` (with ``prefix``) is asked between two executions, once the
    last one's races are in ``frontier`` and before the next branch is taken; when it
    returns true the search stops there (``stopped_by`` "paused"): what is left of it
    is the frontier's branches (``parallel`` hands them out as units of their own)."""
    if not callable(program):
        raise PageraceInputError("program: must be callable as program(ctx)")
    opts = _options(options, fields)
    strategy = opts.strategy
    parsed = Schedule.parse(opts.schedule) if opts.schedule is not None else None
    max_executions = opts.max_executions
    if strategy in SAMPLING and max_executions is None and opts.time_limit is None:
        max_executions = DEFAULT_SAMPLED_EXECUTIONS
    if prefix is not None and (strategy not in EXHAUSTIVE or opts.iterative):
        raise PageraceInputError(
            "prefix: only with 'dpor' or 'dfs' and a single bound or none (fewest_first=False)"
        )
    if resume is not None and prefix is None:
        raise PageraceInputError("resume: only with a prefix (a search below a path)")
    if pause is not None and prefix is None:
        raise PageraceInputError("pause: only with a prefix (a search below a path)")
    if above is not None and (
        prefix is None or strategy != "dpor" or not isinstance(opts.preemption_bound, int)
    ):
        raise PageraceInputError("above: only with a prefix, 'dpor' and a preemption bound")
    keep_going = opts.keep_going
    count_traces = opts.count_traces
    preemption_bound = opts.preemption_bound

    def make_inner() -> Strategy:
        if strategy == "dpor":
            dpor = DporStrategy(bounded=preemption_bound is not None)
            if prefix is not None:
                dpor.start_below(prefix)
                dpor.above = above
            return dpor
        if strategy == "dfs":
            dfs = DfsStrategy()
            if prefix is not None:
                dfs.start_below(prefix)
            return dfs
        if strategy == "random":
            return RandomStrategy(opts.seed)
        if strategy == "pct":
            return PctStrategy(opts.seed, opts.pct_depth)
        assert parsed is not None
        return ReplayStrategy(parsed)

    ctx = Context()
    findings: list[Finding] = []
    keys: set[object] = set()
    forms: set[object] = set()
    executions = events = cut = deadlocks = max_depth = 0
    if resume is not None:
        findings = list(resume.findings)
        keys = {f.key for f in findings}
        executions, events, cut = resume.executions, resume.events, resume.cut_executions
        deadlocks, max_depth = resume.deadlocks, resume.max_depth
        if above is not None:
            above.update(dict.fromkeys(resume.above))
    # per bound explored: [bound, executions, new findings]
    bound_log: list[list[int]] = []

    def widen() -> bool:
        """Iterative bounding goes on to the next bound.  Without a cap, keep_going
        without a stop rule stops widening after a bound >= 1 that found nothing new
        (a capped search ends at its cap)."""
        if keep_going and stop_when is None and findings and bound_log:
            last = bound_log[-1]
            return last[0] == 0 or last[2] > 0
        return True

    bounded: PreemptionBound | IterativeBound | None = None
    inner: Strategy
    if opts.iterative:
        cap = opts.bound_cap
        inner = bounded = IterativeBound(make_inner, cap, widen if cap is None else None)
    elif isinstance(preemption_bound, int):
        inner = bounded = PreemptionBound(make_inner(), preemption_bound)
    else:
        inner = make_inner()
    owner = frontier_owner(inner)
    if resume is not None:
        assert owner is not None
        owner.resume_at(Frontier.from_data(resume.nodes), resume.finished, resume.sizes)
        if isinstance(bounded, PreemptionBound):  # (a prefix rules out iterative bounds)
            bounded.cut = resume.bound_cut
    hooks = Observers(tuple(observers)) if observers else _NO_OBSERVERS
    if hooks.on_start:
        info = ExploreInfo(opts, max_executions)
        for hook in hooks.on_start:
            hook(info)

    pool = GreenletPool.take()

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
    budget = Budget(inner, max_executions, opts.time_limit)  # the clock of Stats.seconds
    budget.executions = executions  # (a resumed search has run these)
    # (a search below a prefix only: the state of one bound, without trace forms)
    on_state = hooks.on_state if prefix is not None and not count_traces else []
    logging_bounds = isinstance(bounded, IterativeBound)
    stopped_by = "complete"
    on_progress = hooks.on_progress
    ticking = bool(on_progress or on_state)
    next_progress = PROGRESS_SECONDS
    try:
        while True:
            chooser = budget.begin()
            if chooser is None:
                break
            if logging_bounds:
                assert bounded is not None
                if not bound_log or bound_log[-1][0] != bounded.bound:
                    bound_log.append([bounded.bound, 0, 0])
                bound_log[-1][1] += 1
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
                schedule = ""  # (made for the first new finding: most are not new)
                for failure in failures:  # all share the execution's schedule
                    key = _finding_key(failure)
                    if key not in keys:
                        keys.add(key)
                        schedule = schedule or str(Schedule(tuple(ex.choices)))
                        finding = _finding(ex, failure, key, schedule)
                        findings.append(finding)
                        if logging_bounds:
                            bound_log[-1][2] += 1
                        for hook in hooks.on_finding:
                            hook(finding)
                if not keep_going:
                    stop, stopped_by = True, "finding"
                elif stop_when is not None and stop_when(findings):
                    stop, stopped_by = True, "stop rule"
            if hooks.on_execution_end:
                so_far = stats(budget.elapsed())
                for hook in hooks.on_execution_end:
                    hook(executions - 1, so_far)
            if ticking and not executions & 15 and budget.elapsed() >= next_progress:
                next_progress = budget.elapsed() + PROGRESS_SECONDS
                if on_progress:
                    snapshot = progress_of(inner, stats(budget.elapsed()))
                    for hook in on_progress:
                        hook(snapshot)
                if on_state and not stop:
                    state = _search_state(
                        owner.frontier,
                        (executions, events, cut, max_depth, deadlocks),
                        bounded is not None and bounded.cut,
                        findings,
                        above,
                    )
                    for hook in on_state:
                        hook(state)
            if stop:
                break
            if pause is not None and owner is not None and pause(owner.frontier):
                stopped_by = "paused"
                break
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    finally:
        pool.give_back()
    seconds = budget.elapsed()

    if stopped_by == "complete":
        if budget.exhausted:
            stopped_by = budget.reason
        elif isinstance(bounded, IterativeBound) and bounded.stopped_widening:
            stopped_by = "nothing new"
        elif not budget.complete:
            stopped_by = "sampled"
    complete = stopped_by == "complete"
    last_done = stopped_by in ("complete", "nothing new")  # the last bound was finished
    if findings:
        status = Status.FOUND
    elif complete:
        status = Status.CLEAN
    else:
        status = Status.INCOMPLETE
    final = stats(seconds)
    coverage = Coverage(
        stopped_by,
        complete,
        tuple(
            BoundCoverage(b, n, new, k < len(bound_log) - 1 or last_done)
            for k, (b, n, new) in enumerate(bound_log)
        ),
    )
    result = Result(status, executions, final.traces, tuple(findings), final, strategy, coverage)
    for hook in hooks.on_end:
        hook(result)
    if stopped_by == "interrupted":
        raise Interrupted(result)
    return result


_DEFAULTS = ExploreOptions()


def _options(options: ExploreOptions | None, fields: dict[str, Any]) -> ExploreOptions:
    """``options`` with the keyword ``fields`` over it (checked once, when made)."""
    if not fields:
        if options is None:
            return _DEFAULTS
        if type(options) is ExploreOptions:
            return options
    if options is not None and not isinstance(options, ExploreOptions):
        raise PageraceInputError(
            f"options: must be an ExploreOptions; got {type(options).__name__}"
        )
    unknown = sorted(set(fields) - set(ExploreOptions.field_names()))
    if unknown:
        raise PageraceInputError(
            f"{unknown[0]}: not an option of explore(); known: "
            + ", ".join(ExploreOptions.field_names())
        )
    if options is None:
        return ExploreOptions(**fields)
    return replace(options, **fields) if fields else options


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


def _search_state(
    frontier: Frontier,
    counts: tuple[int, int, int, int, int],
    bound_cut: bool,
    findings: list[Finding],
    above: dict[Any, None] | None,
) -> SearchState:
    """Where a search stands between two executions (``counts``: executions, events,
    cut executions, max depth, deadlocks)."""
    sizes = [list(entry) for entry in frontier.sizes]
    return SearchState(
        frontier.to_data(),
        frontier.finished,
        sizes,
        *counts,
        bound_cut,
        list(findings),
        list(above) if above is not None else [],
    )


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
    if not isinstance(bodies, (list, tuple)) or not all(map(callable, bodies)):
        raise PageraceInputError("program: thread_bodies must be a list of callables")
    if not 1 <= len(bodies) <= MAX_THREADS:
        raise PageraceInputError(f"program: must have 1..{MAX_THREADS} threads, got {len(bodies)}")
    if check is not None and not callable(check):
        raise PageraceInputError("program: check must be callable or None")
    return bodies, check
