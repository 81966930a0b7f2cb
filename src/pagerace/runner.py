"""Run a scenario: set up the state, explore the CPUs' interleavings, judge.

This joins the layers: the scenario gives the set-up and each CPU's operations;
the sequential model applies the set-up once and computes what every serial order
of the operations would leave; each execution of the explorer then starts from a
copy of the set-up state, runs the Xen model on explored CPUs, and ends with the
quiescence oracles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from pagerace import program
from pagerace.checks import (
    CALLER,
    HYPERVISOR,
    Preconditions,
    TrackerMemos,
    Translation,
    serial_results,
    translation_of,
)
from pagerace.checks.functional import judge as judge_op
from pagerace.checks.functional import promise_of, snapshot
from pagerace.checks.memo import Memo
from pagerace.errors import Interrupted, PageraceInputError, XenBug
from pagerace.explore import (
    EXHAUSTIVE,
    SAMPLING,
    ExploreOptions,
    Finding,
    OptionError,
    Result,
    Status,
    explore,
)
from pagerace.explore.options import shown
from pagerace.machine.direct import DirectMachine, OutOfTime, TooMuchWork, WorkLimit
from pagerace.machine.explored import ExploredCPU
from pagerace.paging.dump import dump_state
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import MemoryFault, PhysicalMemory
from pagerace.paging.tlb import TLB
from pagerace.paging.walk import translate
from pagerace.program import call_op
from pagerace.scenario import (
    AccessOp,
    DestroyOp,
    Expectation,
    LookupOp,
    MapOp,
    ModifyOp,
    Op,
    Scenario,
    Verdict,
    judge,
)
from pagerace.xen.config import XenConfig
from pagerace.xen.versions import VERSIONS, unknown_variant

__all__ = [
    "DEFAULT_MAX_EXECUTIONS",
    "DEFAULT_TIME_LIMIT",
    "Prepared",
    "ReleaseBuild",
    "RunOptions",
    "ScenarioRun",
    "check_of",
    "prepare",
    "replay_scenario",
    "run_options",
    "run_scenario",
    "splits",
]


@dataclass
class Prepared:
    """What every execution of a scenario starts from."""

    scenario: Scenario
    variant: str
    geometry: Geometry
    config: XenConfig
    memory: PhysicalMemory  # after the set-up; cloned for each execution
    root: int
    tlbs: list[TLB]
    acceptable: set[Translation] | None  # None: the lost-update oracle is skipped
    #: (check, why) for every oracle that cannot run on this scenario
    checks_skipped: list[tuple[str, str]] = field(default_factory=list)
    serial_orders: int = 0  # how many serial orders ``acceptable`` stands for
    serial_runs: int = 0  # the sequential operation runs it took to compute it
    preconditions: Preconditions = field(default_factory=lambda: Preconditions([]))
    #: the functional oracle's memos (checks/memo.py), shared by the executions of its
    #: programs and by the set-up's runs of each CPU alone (the same states recur)
    memos: TrackerMemos = field(default_factory=TrackerMemos)

    @property
    def ncpus(self) -> int:
        return len(self.scenario.cpus)


#: Page-table stores the set-up may make (a 4 GiB range of 4 KiB pages; about 3 s).
MAX_SETUP_STORES = 1 << 20
#: Page-table stores the CPUs' operations may make in one execution, counted by
#: running each CPU's operations alone after the set-up (an explored execution of
#: this many stores takes a fraction of a second).
MAX_EXECUTION_STORES = 1 << 14


def prepare(
    scenario: Scenario, variant: str | None = None, *, deadline: float | None = None
) -> Prepared:
    """Apply the set-up on one CPU and compute the serial orders' translations.

    ``deadline`` (a ``time.perf_counter()`` value) bounds the time of this work: the
    set-up must finish before it (else ``PageraceInputError``); serial orders it cuts
    short leave the lost-update check skipped.  Scenarios whose set-up or one
    execution would make too many page-table stores are refused."""
    variant = variant or scenario.variant
    geometry = scenario.geometry
    if variant not in VERSIONS:
        raise PageraceInputError("--variant: " + unknown_variant(variant))
    config = XenConfig(variant=variant, page1gb=scenario.page1gb)
    memory = PhysicalMemory(geometry)
    root = memory.alloc(4)
    assert root is not None
    ncpus = len(scenario.cpus)
    tlbs = [TLB(geometry) for _ in range(ncpus)]
    m = DirectMachine(memory, root, config)
    m.limit_work(WorkLimit(MAX_SETUP_STORES, deadline))
    for i, op in enumerate(scenario.setup):
        if isinstance(op, AccessOp):
            result = translate(memory, root, geometry, op.virt, page1gb=config.page1gb)
            for tlb in tlbs:
                tlb.fill(op.virt, result)
            continue
        m.begin_op(op.irqs)
        try:
            rc = call_op(m, op)
        except (XenBug, MemoryFault) as exc:
            raise PageraceInputError(
                f"{scenario.source}: setup[{i}]: {op.describe()} fails sequentially: {exc}"
            ) from None
        except TooMuchWork:
            raise PageraceInputError(
                f"{scenario.source}: setup: more than {MAX_SETUP_STORES:,} page-table stores"
                f" (by setup[{i}]); map fewer 4 KiB pages or use 2 MiB/1 GiB-aligned mappings"
            ) from None
        except OutOfTime:
            raise PageraceInputError(
                f"{scenario.source}: setup[{i}]: the set-up alone takes longer than the time limit"
            ) from None
        if rc != 0 and not isinstance(op, LookupOp):
            raise PageraceInputError(
                f"{scenario.source}: setup[{i}]: {op.describe()} returned {rc}"
            )
    prepared = Prepared(scenario, variant, geometry, config, memory, root, tlbs, None)
    try:
        alone = _alone_asserts(prepared, WorkLimit(MAX_EXECUTION_STORES, deadline))
    except TooMuchWork:
        raise PageraceInputError(
            f"{scenario.source}: cpus: the CPUs' operations make more than"
            f" {MAX_EXECUTION_STORES:,} page-table stores in one execution (run one after"
            " another), more than pagerace explores; map fewer 4 KiB pages or use"
            " 2 MiB/1 GiB-aligned mappings"
        ) from None
    except OutOfTime:
        raise PageraceInputError(
            f"{scenario.source}: the CPUs' operations, run alone, take longer than the time limit"
        ) from None
    prepared.preconditions = Preconditions(
        [[_changed_range(op) for op in ops] for ops in scenario.cpus], alone
    )
    _serial_outcomes(prepared, deadline)
    return prepared


class ReleaseBuild(DirectMachine):
    """The direct machine of a release build: a failed ``ASSERT`` is recorded and the
    code goes on, as the explored machine does (``BUG_ON`` still stops)."""

    def __init__(self, memory: PhysicalMemory, root: int, config: Any) -> None:
        super().__init__(memory, root, config)
        self.asserted: list[str] = []

    def assertion(self, step: str, message: str) -> None:
        self.asserted.append(f"{step}: {message}")


def _changed_range(op: Op) -> tuple[int, int] | None:
    """The VA range whose mappings ``op`` changes (None: it changes none)."""
    if isinstance(op, MapOp):
        return (op.virt, op.virt + (op.nr << 12))
    if isinstance(op, (ModifyOp, DestroyOp)):
        return (op.s, op.e)
    return None  # populate only adds tables; access only reads


def _alone_asserts(p: Prepared, limit: WorkLimit) -> set[tuple[int, int]]:
    """(cpu, k) for each operation that fails an ASSERT when its CPU runs alone after
    the set-up: it breaks a precondition whatever the other CPUs do.  Every CPU's
    stores count against ``limit``: together they are what one execution costs.

    Not once an earlier operation of the run left a translation other than it
    promised (``wrong-mapping``): the ASSERT may then check a precondition that the
    hypervisor's own mistake broke (4.20.0 leaves a page unmapped that a lookup
    then finds missing), and the fault stays the hypervisor's."""
    found = set()
    g, page1gb = p.geometry, p.config.page1gb
    memo, verdicts = p.memos.snapshots, p.memos.verdicts
    for cpu, ops in enumerate(p.scenario.cpus):
        memory = p.memory.clone()
        m = ReleaseBuild(memory, p.root, p.config)
        m.limit_work(limit)
        before = snapshot(memory, p.root, g, page1gb=page1gb, memo=memo)
        for k, op in enumerate(ops):
            if isinstance(op, AccessOp):
                continue
            m.begin_op(op.irqs)
            try:
                rc = call_op(m, op)
            except (XenBug, MemoryFault):
                break
            if m.asserted:
                found.add((cpu, k))
                m.asserted.clear()
            after = snapshot(memory, p.root, g, page1gb=page1gb, memo=memo)
            promise = promise_of(op, nx=p.config.nx)
            # (only the translation matters here: no page-table checks; the verdict
            # memo is the executions')
            if promise is not None and judge_op(
                promise, before, after, memory, p.root, g, rc=rc, tables=False, memo=verdicts
            ):
                break  # what follows runs on a state the caller was not promised
            before = after
    return found


# The lost-update oracle runs the CPUs' operations sequentially before the search, in
# every order that matters (``serial_results``); past this many operation runs it is
# skipped, and the verdict says so.
MAX_SERIAL_RUNS = 10_000


def _serial_outcomes(p: Prepared, deadline: float | None = None) -> None:
    """Set ``p.acceptable``: the translations the serial orders leave (or say in
    ``p.checks_skipped`` why the lost-update oracle cannot run)."""
    limit = WorkLimit(None, deadline)
    queues = [[op for op in ops if not isinstance(op, AccessOp)] for ops in p.scenario.cpus]
    program = [len(q) for q in queues]

    def run_op(memory: PhysicalMemory, cpu: int, k: int) -> PhysicalMemory | None:
        memory = memory.clone()
        m = ReleaseBuild(memory, p.root, p.config)
        m.limit_work(limit)
        op = queues[cpu][k]
        m.begin_op(op.irqs)
        try:
            call_op(m, op)
        except (XenBug, MemoryFault):
            return None
        return memory

    try:
        found = serial_results(
            program, p.memory, run_op, lambda mem: _state_key(p, mem), MAX_SERIAL_RUNS
        )
    except OutOfTime:
        p.checks_skipped.append(
            ("lost-update", "the time limit ran out while running the serial orders")
        )
        return
    p.serial_orders = found.orders
    p.serial_runs = found.runs
    if not found.complete:
        p.checks_skipped.append(
            (
                "lost-update",
                f"the {found.orders:,} serial orders of the CPUs' operations lead to more than"
                f" {MAX_SERIAL_RUNS:,} sequential operation runs (split the scenario)",
            )
        )
    elif not found.finals:
        p.checks_skipped.append(
            (
                "lost-update",
                "no serial order of the CPUs' operations runs to completion sequentially"
                " (each hits a BUG_ON or a memory fault): there is no result to compare with",
            )
        )
    else:
        p.acceptable = {
            translation_of(dump_state(m, p.root, p.geometry), p.geometry) for m in found.finals
        }


def _state_key(p: Prepared, memory: PhysicalMemory) -> object:
    """The state as the sequential model sees it, whatever frames the tables use: the
    dump leaves table frames out.  The sequential model never compares table frame
    numbers, and allocation never fails here, so two states with equal dumps behave
    alike, provided no table is reached twice (then the state keeps its own key)."""
    d = dump_state(memory, p.root, p.geometry)
    if sum(run[3] for run in d.tables) != d.live_pt:  # a table reached twice, or the root
        return memory
    return (
        tuple(map(tuple, d.leaves)),
        tuple(map(tuple, d.tables)),
        tuple(map(tuple, d.nonpresent)),
    )


def build_program(p: Prepared, *, fine_scans: bool = False) -> Callable[[Any], Any]:
    """The explorer program: one thread per CPU, oracles at quiescence
    (``pagerace.program``, compiled; the CPUs' machine class and the quiescence memo
    are looked up here, so that a test may plant a bug in them)."""
    return program.build(p, fine_scans=fine_scans, cpu_class=ExploredCPU, quiescence=Memo())


#: The default budget of a scenario run (raise it with --time-limit / --max-executions,
#: or the same keys of [explore]; "none" lifts a limit).
DEFAULT_TIME_LIMIT = 300.0
DEFAULT_MAX_EXECUTIONS = 1_000_000
#: ``RunOptions.preemption_bound``'s default: iterative bounding on dpor and dfs, no
#: bound on random and pct (which sample).
DEFAULT_BOUND = "default"


@dataclass(frozen=True, slots=True)
class RunOptions(ExploreOptions):
    """How to run a scenario: ``ExploreOptions`` (same fields, same rules; see
    ``pagerace.explore.options``) with the defaults of ``pagerace run`` and the fields
    of a scenario run.

    Defaults that differ from ``explore``'s: ``preemption_bound`` is iterative
    bounding on dpor/dfs (the first counterexample has the fewest preemptions) and
    none on random/pct; the budget is ``DEFAULT_TIME_LIMIT`` seconds and
    ``DEFAULT_MAX_EXECUTIONS`` executions.

    ``fine_scans``: each load of a table scan is its own event.
    ``until_expected``: when the scenario's ``[expect]`` names the variant, explore
    until the expectation is decided (every required kind found, or a forbidden one)
    instead of stopping at the first finding."""

    preemption_bound: int | str | None = DEFAULT_BOUND
    max_executions: int | None = DEFAULT_MAX_EXECUTIONS
    time_limit: float | None = DEFAULT_TIME_LIMIT
    fine_scans: bool = False
    until_expected: bool = True
    #: worker processes for dpor/dfs (split into work units, the result does not
    #: depend on the number); None: one search in this process, as ``explore`` does
    jobs: int | None = None

    def __post_init__(self) -> None:
        if self.preemption_bound == DEFAULT_BOUND:
            bound = "iterative" if self.strategy in EXHAUSTIVE else None
            object.__setattr__(self, "preemption_bound", bound)
        ExploreOptions.__post_init__(self)
        for name in ("fine_scans", "until_expected"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(name, f"must be true or false; got {shown(getattr(self, name))}")
        jobs = self.jobs
        if jobs is not None and not (
            isinstance(jobs, int) and not isinstance(jobs, bool) and 1 <= jobs <= 4096
        ):
            raise OptionError("jobs", f"must be an int from 1 to 4096 or None; got {shown(jobs)}")

    def explore_options(self) -> ExploreOptions:
        """The explorer's part of these options."""
        return ExploreOptions(**{n: getattr(self, n) for n in ExploreOptions.field_names()})


def run_options(scenario: Scenario | None = None, **given: Any) -> RunOptions:
    """The options of a run: ``given`` (e.g. command-line flags; None = not given)
    over the scenario's ``[explore]`` over ``RunOptions``' defaults.  A bad value or
    combination raises ``OptionError`` naming the field."""
    values: dict[str, Any] = dict(scenario.explore) if scenario is not None else {}
    values.update({k: v for k, v in given.items() if v is not None})
    unknown = sorted(set(values) - set(RunOptions.field_names()))
    if unknown:
        raise OptionError(unknown[0], "not an option of a run")
    return RunOptions(**values)


@dataclass
class ScenarioRun:
    """A finished run: the explorer's result with what it ran on."""

    scenario: Scenario
    variant: str
    options: RunOptions
    result: Result
    prepared: Prepared
    seconds: float
    expected: Expectation | None = None
    observers: list[Any] = field(default_factory=list)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.result.findings

    @property
    def kinds(self) -> list[str]:
        seen: list[str] = []
        for f in self.result.findings:
            if f.kind not in seen:
                seen.append(f.kind)
        return seen

    @property
    def checks_skipped(self) -> list[tuple[str, str]]:
        """(oracle, why) for each oracle that did not judge this run's executions."""
        return list(self.prepared.checks_skipped)

    @property
    def incomplete_reasons(self) -> list[str]:
        """Why the run does not cover everything it set out to (empty: it does; a
        search that stops at its first finding is not counted as cut short)."""
        r, o = self.result, self.options
        stats = r.stats
        reasons = []
        stopped = r.coverage.stopped_by
        # a search that ran to its end is not cut short by a budget it came close to
        unfinished = r.status is Status.INCOMPLETE or bool(r.findings)
        if stopped == "interrupted":
            reasons.append("interrupted")
        elif o.strategy in SAMPLING:
            reasons.append(f"{o.strategy} sampling cannot show that every interleaving was run")
        elif unfinished and o.max_executions is not None and r.executions >= o.max_executions:
            reasons.append(f"execution budget spent ({o.max_executions:,} executions)")
        elif unfinished and o.time_limit is not None and self.seconds >= o.time_limit:
            reasons.append(f"time limit reached ({o.time_limit:g} s)")
        elif stopped == "nothing new":
            reasons.append(
                f"preemption bound {stats.preemption_bound} found nothing new, so wider"
                " bounds were not explored"
            )
        elif stats.bound_cut and (not r.findings or o.keep_going):  # (not stopped by one)
            reasons.append(
                f"preemption bound {stats.preemption_bound} cut interleavings with more"
                " preemptions (complete within the bound)"
            )
        reasons.extend(f"{check} check skipped: {why}" for check, why in self.checks_skipped)
        return reasons

    @property
    def status(self) -> str:
        """``found`` (something was found), ``clean`` (every interleaving within the
        bounds checked by every oracle, nothing found) or ``incomplete``."""
        if self.result.findings:
            return "found"
        return "incomplete" if self.incomplete_reasons else "clean"

    def fault(self, finding: Finding) -> str:
        """``"hypervisor"`` or ``"caller"`` (pagerace.checks.fault)."""
        detail = finding.detail or {}
        fault = detail.get("fault")
        if isinstance(fault, str):
            return fault
        if detail.get("check") == "ASSERT":
            return self.prepared.preconditions.of_assert(finding.thread, _op_index(finding))
        return HYPERVISOR

    @staticmethod
    def check(finding: Finding) -> str | None:
        """``"BUG_ON"`` or ``"ASSERT"`` for a ``bug`` finding (``check_of``)."""
        return check_of(finding)

    @property
    def caller_faults_only(self) -> bool:
        """Findings, all of them violations of a caller's precondition."""
        return bool(self.findings) and all(self.fault(f) == CALLER for f in self.findings)

    @property
    def complete(self) -> bool:
        """The search covered its space (within its bounds) and every oracle judged
        it: what a verdict on a forbidden kind needs."""
        return self.result.coverage.complete and not self.incomplete_reasons

    @property
    def verdict(self) -> Verdict | None:
        """The run held against ``[expect]`` (None: nothing expected of the variant)."""
        if self.expected is None:
            return None
        return judge(self.expected, self.kinds, self.complete)

    @property
    def meets_expectation(self) -> bool | None:
        verdict = self.verdict
        return None if verdict is None else verdict.met


def check_of(finding: Finding) -> str | None:
    """For a ``bug`` finding: ``"BUG_ON"`` (fatal in every build) or ``"ASSERT"``
    (debug builds only); None for other kinds."""
    if finding.kind != "bug":
        return None
    check = (finding.detail or {}).get("check")
    return check if isinstance(check, str) else "BUG_ON"


def _op_index(finding: Finding) -> int | None:
    """Which of its CPU's operations the finding's CPU was running (from the trace's
    "call" notes, up to the finding)."""
    trace = finding.trace if finding.at is None else finding.trace[: finding.at]
    for ev in reversed(trace):
        if ev.thread == finding.thread and ev.label == "call" and ev.detail:
            k = ev.detail.get("k")
            return k if isinstance(k, int) else None
    return None


def run_scenario(
    scenario: Scenario,
    options: RunOptions | None = None,
    *,
    variant: str | None = None,
    observers: Sequence[Any] = (),
    expect: Expectation | None = None,
    executor: Executor | None = None,
    state: Any = None,
) -> ScenarioRun:
    """Explore a scenario with ``options`` (default: ``run_options(scenario)``, the
    scenario's ``[explore]`` over the defaults).  With ``until_expected`` and an
    ``[expect]`` for the variant the run goes on past the first finding until the
    expectation is decided: every required kind found, or a forbidden one (with
    forbidden kinds and nothing forbidden found, the search runs to its end).  Ctrl-C
    raises ``Interrupted`` with ``run`` set to the run so far.  ``expect``, when
    given, replaces what the scenario's ``[expect]`` says of the variant.

    With ``options.jobs`` or an ``executor``, a search that ``splits`` is split into
    work units (``pagerace.explore.parallel``) run on ``executor`` or on
    ``options.jobs`` processes; ``state`` (``checkpoint.Progress``) checkpoints it."""
    if options is None:
        options = run_options(scenario)
    start = time.perf_counter()
    deadline = None if options.time_limit is None else start + options.time_limit
    p = prepare(scenario, variant, deadline=deadline)
    expected = expect if expect is not None else scenario.expected(p.variant)
    keep_going = options.keep_going
    stop_when = None
    decided: Callable[[Collection[str]], bool] | None = None  # (picklable: for work units)
    if options.until_expected and expected is not None and not keep_going:
        # go on past the first finding until the expectation is decided
        keep_going = True
        decided = expected.decided

        def stop_when(findings: Sequence[Finding]) -> bool:
            assert decided is not None
            return decided({f.kind for f in findings})

    def finished(result: Result) -> ScenarioRun:
        return ScenarioRun(
            scenario, p.variant, options, result, p, time.perf_counter() - start, expected
        )

    # the time limit covers the set-up and the serial orders too
    time_left = None if deadline is None else max(deadline - time.perf_counter(), 1e-9)
    if splits(options) and (options.jobs is not None or executor is not None):
        try:
            result = _explore_units(
                p, options, keep_going, decided, time_left, observers, executor, state
            )
        except Interrupted as exc:
            exc.run = finished(exc.result)
            raise
        return finished(result)
    try:
        result = explore(
            build_program(p, fine_scans=options.fine_scans),
            replace(options.explore_options(), keep_going=keep_going, time_limit=time_left),
            observers=observers,
            stop_when=stop_when,
        )
    except Interrupted as exc:
        exc.run = finished(exc.result)
        raise
    return finished(result)


def splits(options: RunOptions) -> bool:
    """Whether a run with ``options`` is split into work units when given workers:
    ``dpor`` and ``dfs`` always, ``random`` and ``pct`` (into samples) with an
    execution budget."""
    if options.strategy in EXHAUSTIVE:
        return True
    return options.strategy in SAMPLING and options.max_executions is not None


def scenario_hash(scenario: Scenario) -> str:
    """A hash of the scenario's content (everything but the name of its file)."""
    plain = dataclasses.replace(
        scenario, expect=dict(scenario.expect), explore=dict(scenario.explore), source=""
    )
    return hashlib.sha256(repr(plain).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ScenarioRecipe:
    """Builds a scenario's explorer program in a worker process (picklable, hashable:
    each process builds it once)."""

    scenario: Scenario
    variant: str
    fine_scans: bool

    @classmethod
    def of(cls, scenario: Scenario, variant: str, fine_scans: bool) -> ScenarioRecipe:
        # (the ``expect`` and ``explore`` mappings as plain dicts, which pickle)
        plain = dataclasses.replace(
            scenario, expect=dict(scenario.expect), explore=dict(scenario.explore)
        )
        return cls(plain, variant, fine_scans)

    def __call__(self) -> Callable[[Any], Any]:
        return build_program(prepare(self.scenario, self.variant), fine_scans=self.fine_scans)


def _explore_units(
    p: Prepared,
    options: RunOptions,
    keep_going: bool,
    stop_when: Callable[[Collection[str]], bool] | None,
    time_limit: float | None,
    observers: Sequence[Any],
    executor: Executor | None,
    state: Any,
) -> Result:
    """The search split into work units (``pagerace.explore.parallel``), with the
    same stop rule, bounds and budget as the single search."""
    from pagerace.explore.executors import open_executor
    from pagerace.explore.parallel import Search, explore_units, remember

    recipe = ScenarioRecipe.of(p.scenario, p.variant, options.fine_scans)
    remember(recipe, build_program(p, fine_scans=options.fine_scans))  # (prepared once)
    search = Search(
        recipe,
        strategy=options.strategy,
        keep_going=keep_going,
        stop_when=stop_when,
        max_executions=options.max_executions,
        time_limit=time_limit,
        seed=options.seed,
        pct_depth=options.pct_depth,
    )
    if options.iterative:
        bound: int | str | None = "iterative"
    else:
        bound = options.preemption_bound
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(open_executor(options.jobs))
        return explore_units(
            search,
            executor,
            preemption_bound=bound,
            max_preemption_bound=options.bound_cap if options.iterative else None,
            observers=observers,
            state=state,
        )


def replay_scenario(
    scenario: Scenario, schedule: str, *, variant: str | None = None, fine_scans: bool = False
) -> ScenarioRun:
    """Re-run exactly one schedule."""
    start = time.perf_counter()
    p = prepare(scenario, variant)
    result = explore(build_program(p, fine_scans=fine_scans), strategy="replay", schedule=schedule)
    options = RunOptions(
        strategy="replay", schedule=schedule, preemption_bound=None, fine_scans=fine_scans
    )
    return ScenarioRun(
        scenario,
        p.variant,
        options,
        result,
        p,
        time.perf_counter() - start,
        scenario.expected(p.variant),
    )
