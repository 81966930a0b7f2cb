"""Exploration split into work units, run on any ``concurrent.futures.Executor``.

A **work unit** is plain data: a path prefix of scheduling points, each
``[enabled, chosen, done, sleep]``, and the preemption bound.  Its worker explores
the subtree below the prefix with the ordinary strategy (``explore(prefix=...)``).
The units of one bound are made by ``split``: a depth-first walk over the top of the
search tree that branches, at every scheduling point, on every candidate -- the
enabled threads (after the preemption bound) minus, for unbounded ``dpor``, the
sleep set computed as DPOR computes it -- until each path has passed ``branchings``
points with a choice, with ``branchings`` raised until there are at least
``TARGET_UNITS`` units.  Below the prefix a unit is an ordinary search; a race whose
reversal belongs above it is left out, since the sibling units explore every
candidate there.  ``dfs`` split so is exactly ``dfs``; ``dpor`` explores every
candidate of the prefix's points where a single search might have explored fewer.

Each bound is first explored as one search of at most ``PROBE_EXECUTIONS``
executions in the calling process (``_probe``): a bound that ends within it is that
search, and is not split (a small tree runs faster so, and without the executions a
split adds); once a bound needs splitting, the probe's executions are dropped and
every later bound is split without one.  A bound that the probed bounds before it
foretell far larger than the probe (``_probe_next``) is split without one too.

A ``random`` or ``pct`` run (with an execution budget) is split into *samples* of
``SAMPLE_EXECUTIONS`` executions each (``samples``), the units of one level: sample j
runs the strategy with its own seed (``sample_seed``: the run's seed for the first,
so a run of one sample is the single search).  PCT learns the length of executions
anew in each sample.

Nothing here depends on the number of workers or on timing: the units are a function
of the program and the options, each unit's result a function of the unit, and the
results are merged in unit order (the order a single search takes them) -- findings
keep the first schedule in that order, a budget or a stop cuts at the same execution.
So ``jobs=1``, ``jobs=N`` and a cluster give the same executions, findings, schedules
and verdict.  Idle workers take the next unit from the queue; there are at least
``TARGET_UNITS`` of them so that the work spreads; units expected to take a few
milliseconds go out several to a task (``TASK_SECONDS``).  Under iterative bounding,
once a unit of a bound has cut something the next bound is needed (unless the search
stops first): a worker that the bound has nothing sure for splits the next one
(``split_units``), and then runs its units ahead; if the search ends first, what they
ran is dropped.

Idle workers also take work from busy ones: a bounded dpor or dfs unit that the merge
waits for while a worker idles is asked to divide (``executors.ask_to_divide``), and
stops between two executions to hand out what is left of it, its frontier
(``UnitResult.rest``).  Below the first point with a branch left, what is left goes
on as a unit of its own (a continuation, started from the frontier there); each
branch of the points above is a unit of its own (bounded dpor: the points join the
order, ``SingleOrder.divided``; dfs: the units merge in the divided unit's place,
``_dfs_made``).  The subtree below a path is explored alike by whoever explores it,
so the merged result does not depend on where or how often units divide; only the
number of units merged does.  A checkpoint names the units made so by their paths.

The program is not sent to workers: a *recipe*, a picklable callable (a module-level
function with plain arguments, e.g. ``functools.partial``), builds it in each worker
process once (``_program``).

With a checkpoint (``state``, ``checkpoint.Progress``), a running dpor or dfs unit
keeps its search state in a file (``UnitSave``, written through
``executors.keep_file``), and a unit that has one goes on from it (``run_unit``'s
``resume``); the result is the same.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pagerace.errors import Interrupted, PageraceInputError
from pagerace.explore.bounding import PreemptionBound
from pagerace.explore.canonical import canonical_form
from pagerace.explore.context import Context
from pagerace.explore.events import Pending, dependent
from pagerace.explore.execution import CUT, GRANT_ALL, Chooser, Execution, GreenletPool
from pagerace.explore.executors import (
    InlineExecutor,
    ask_to_divide,
    clear_progress,
    default_jobs,
    divide_asked,
    keep_file,
    live_progress,
    name_task,
    post_progress,
    process_executor,
    progress_sink,
    wait_first,
)
from pagerace.explore.explorer import explore
from pagerace.explore.frontier import Frontier, Node
from pagerace.explore.options import SAMPLING
from pagerace.explore.results import BoundCoverage, Coverage, Finding, Result, Stats, Status
from pagerace.explore.searchstate import SearchState
from pagerace.explore.strategies.dfs import PathSearch
from pagerace.explore.unitorder import SingleOrder, Walk, branches_left, path_of

__all__ = [
    "PROBE_EXECUTIONS",
    "TARGET_UNITS",
    "InlineExecutor",
    "Search",
    "UnitProgress",
    "UnitResult",
    "default_jobs",
    "explore_units",
    "process_executor",
    "remaining_estimate",
    "remember",
    "run_unit",
    "sample_seed",
    "samples",
    "split",
    "unit_tag",
]

#: At least this many units per bound (when the tree has them), whatever the workers.
TARGET_UNITS = 32
#: Never split deeper than this many scheduling points with a choice.
MAX_BRANCHINGS = 24

Recipe = Callable[[], Callable[[Any], Any]]
Prefix = list[list[Any]]
#: a work unit: a ``Prefix`` (dpor, dfs) or a sample ``[j, executions]`` (random, pct)
Unit = list[Any]


@dataclass(frozen=True)
class Search:
    """What every unit of a search shares (plain data and the recipe)."""

    recipe: Recipe
    strategy: str = "dpor"  # "dpor" or "dfs", or "random" or "pct" (``SAMPLING``)
    keep_going: bool = False
    #: with keep_going: stop once ``stop_when(kinds found)`` is true (a picklable
    #: function of the set of kinds, true for any superset of a set it holds for)
    stop_when: Callable[[frozenset[str]], bool] | None = None
    max_executions: int | None = None
    time_limit: float | None = None  # (then the result depends on timing, as always)
    #: count the distinct Mazurkiewicz traces (every execution's trace is read: slower)
    count_traces: bool = False
    #: random and pct: the run's seed (unit j's is ``sample_seed(seed, j)``) and depth
    seed: int = 0
    pct_depth: int = 3
    #: bounded dpor and dfs: a unit that has run this many executions hands out what is
    #: left of it (``run_unit``'s ``divide``) as soon as that makes two units or more,
    #: without being asked (None: only when asked, by a pool with an idle worker)
    divide_every: int | None = None


@dataclass
class UnitResult:
    """What a worker sends back for one unit."""

    executions: int
    events: int
    cut_executions: int
    max_depth: int
    deadlocks: int
    bound_cut: bool
    findings: list[Finding]
    indices: list[int]  # per finding, the index of its execution in the unit
    exhausted: bool = False  # its budget (executions or time) ended it early
    forms: frozenset[Any] | None = None  # canonical forms, with ``count_traces``
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the worker's CPU time for the unit, set-up included
    #: a bounded dpor unit's notes for the points of its path (``SingleOrder``)
    above: tuple[Walk, ...] = ()
    #: the executions that this process ran of the unit, one by one (None: not kept)
    record: ExecutionsRecord | None = None
    #: the unit paused to hand out what is left (``run_unit``'s ``divide``): its
    #: frontier below its path, ``[enabled, chosen, backtrack, done, sleep]`` per point
    rest: list[list[Any]] | None = None

    def first_executions(self, count: int, exhausted: bool = True) -> UnitResult | None:
        """The result of the unit's first ``count`` executions (what a run of the unit
        with that budget gives: ``exhausted``, unless a stop at a finding ends it
        there), from ``record``; None when the record cannot tell (none kept,
        executions that ran before a resume, or trace forms asked for)."""
        record = self.record
        if record is None or self.forms is not None or count < record.first[0]:
            return None
        executions, events, cut, max_depth, deadlocks, bound_cut = record.first
        k = count - executions
        steps = record.steps[:k]
        ends = record.ends[:k]
        kept = sum(1 for i in self.indices if i < count)
        cut_at = record.bound_cut_at
        share = count / self.executions if self.executions else 1.0
        return UnitResult(
            executions=count,
            events=events + sum(steps),
            cut_executions=cut + ends.count(CUT_END),
            max_depth=max(max_depth, max(steps, default=0)),
            deadlocks=deadlocks + ends.count(DEADLOCK_END),
            bound_cut=bound_cut or (cut_at is not None and cut_at < count),
            findings=self.findings[:kept],
            indices=self.indices[:kept],
            exhausted=exhausted,
            seconds=self.seconds * share,
            cpu_seconds=self.cpu_seconds * share,
        )


#: how an execution ended, in ``ExecutionsRecord.ends``
DONE_END, CUT_END, DEADLOCK_END = 0, 1, 2


@dataclass
class ExecutionsRecord:
    """The executions of a unit, one by one, from ``first`` (the unit's executions,
    events, cut executions, max depth, deadlocks and bound cut before the first of
    them: a resumed unit's come from its search state): each one's events
    (``steps``) and end (``ends``: ``DONE_END``, ``CUT_END``, ``DEADLOCK_END``), and
    the index of the first after which the bound had cut something.  Five bytes an
    execution: the merge cuts a unit's result at any execution without running the
    unit again."""

    first: tuple[int, int, int, int, int, bool] = (0, 0, 0, 0, 0, False)
    steps: array[int] = field(default_factory=lambda: array("I"))
    ends: bytearray = field(default_factory=bytearray)
    bound_cut_at: int | None = None


# -- the program, once per worker process -------------------------------------------

_PROGRAMS: dict[Any, Callable[[Any], Any]] = {}


def _program(recipe: Recipe) -> Callable[[Any], Any]:
    try:
        program = _PROGRAMS.get(recipe)
    except TypeError:  # an unhashable recipe: built every time
        return recipe()
    if program is None:
        if len(_PROGRAMS) > 8:
            _PROGRAMS.clear()
        program = _PROGRAMS[recipe] = recipe()
    return program


def remember(recipe: Recipe, program: Callable[[Any], Any]) -> None:
    """Tell this process the program ``recipe`` builds (a caller that has built it
    already; forked workers inherit it)."""
    try:
        if len(_PROGRAMS) > 8:
            _PROGRAMS.clear()
        _PROGRAMS[recipe] = program
    except TypeError:  # unhashable: built in each unit
        pass


def finding_from_data(
    program: Callable[[Any], Any],
    data: Any,
    where: str,
    replays: dict[str, Result] | None = None,
) -> Finding:
    """The finding of ``data`` (``searchstate.finding_data``: kind, message, key,
    schedule), rebuilt -- trace and all -- by replaying its schedule on ``program``;
    ``PageraceInputError`` naming ``where`` when the data is damaged or the replay no
    longer gives that finding.  ``replays``: the replays made so far, by schedule
    (the findings of one execution share it)."""
    try:
        kind, message, key, schedule = (data[k] for k in ("kind", "message", "key", "schedule"))
        if not all(isinstance(v, str) for v in (kind, message, key, schedule)):
            raise TypeError
    except (KeyError, TypeError):
        raise PageraceInputError(f"{where}: a damaged finding") from None
    replayed = replays.get(schedule) if replays is not None else None
    if replayed is None:
        replayed = explore(program, strategy="replay", schedule=schedule)
        if replays is not None:
            replays[schedule] = replayed
    for finding in replayed.findings:
        if (finding.kind, finding.message, repr(finding.key)) == (kind, message, key):
            return finding
    raise PageraceInputError(
        f"{where}: replaying {schedule} no longer gives its finding; cannot resume"
    )


# -- splitting -----------------------------------------------------------------------


class _Splitter(PathSearch):
    """Depth-first over the top of the tree: every execution stops (CUT) once its
    path has passed ``branchings`` points with a choice, and its prefix is a unit.

    An execution replays its path up to the branch it takes through the runtime
    (``Execution.script``), and a thread that alone can run goes on unasked (a
    grant, its nodes added afterwards): only the points that may branch, and the
    steps just before them, are decided here."""

    records = False
    candidates = "backtrack"

    def __init__(self, branchings: int, sleep_sets: bool) -> None:
        super().__init__()
        self.branchings = branchings
        self.sleep_sets = sleep_sets
        self.units: list[Prefix] = []
        self.deepest = 0  # most branching points seen on one path
        self._depth = 0  # the node where this execution takes a new branch
        # (step, footprint of its event) of the last step decided here: a sleep set
        # needs the footprint of the step before it, and a step that this search did
        # not decide (replayed or granted) is never followed by one
        self._last: tuple[int, Any] = (-1, ())
        # _passed[k]: the nodes with a choice among nodes[: k + 1] (kept from one
        # execution to the next, like the nodes: counting them afresh at every step
        # made an execution of n steps cost n * n)
        self._passed: list[int] = []

    def begin(self) -> Chooser | None:
        self._fill = None
        if self._started:
            depth = self.frontier.next_branch(self.candidates)
            if depth is None:
                return None
            del self._passed[depth:]
            self._depth = depth
        self._started = True
        return self._choose

    def _choose(
        self, enabled: list[int], pending: list[Pending | None], current: int, pre: int, ex: Any
    ) -> int:
        nodes = self.frontier.nodes
        step = len(ex.choices)
        if step < len(nodes):
            if not step and self._depth:
                ex.script = [node.chosen for node in nodes[: self._depth]]
            tid = nodes[step].chosen
            if tid not in enabled:
                return CUT
            self._last = (step, pending[tid])
            return tid
        self._fill_to(step)
        if step and self._passed_at(step - 1) >= self.branchings:
            # The path replayed up to a branch at its last point with a choice: it
            # is a unit as it stands (a node added here would be branched on too,
            # and every later path would go one step deeper).
            self.units.append(_prefix(nodes))
            return CUT
        sleep: list[int] = []
        if self.sleep_sets and step:
            prev = nodes[step - 1]
            if prev.sleep or prev.done:
                noted, ev = self._last
                assert noted == step - 1, "the step before a sleep set was not decided here"
                fp = ev.footprint if ev is not None else ()
                for t in prev.sleep + prev.done:
                    other = pending[t]
                    if other is not None and not dependent(other.footprint, fp):
                        sleep.append(t)
                sleep.sort()
        awake = [t for t in enabled if t not in sleep]
        if not awake:
            return CUT  # every candidate sleeps: redundant, no unit
        tid = current if current in awake else awake[0]
        seen = list(enabled)
        nodes.append(Node(seen, tid, awake, [], sleep))
        self._last = (step, pending[tid])
        passed = self._passed_at(step)
        self.deepest = max(self.deepest, passed)
        if passed >= self.branchings:
            self.units.append(_prefix(nodes))
            return CUT
        if len(awake) == 1 and not sleep:
            # No choice here, no sleep set after (a new node has no done threads):
            # the thread goes on until the enabled set may change.
            self._fill = (seen, tid)
            ex.grant = GRANT_ALL
        return tid

    def _passed_at(self, step: int) -> int:
        """The nodes with a choice among the first ``step + 1``."""
        passed = self._passed
        nodes = self.frontier.nodes
        for k in range(len(passed), step + 1):
            passed.append((passed[k - 1] if k else 0) + (len(nodes[k].backtrack) > 1))
        return passed[step]

    def end(self, execution: Execution) -> None:
        self._fill_to(len(execution.choices))
        if execution.outcome != "cut":  # it ended before the last branching: a unit too
            self.units.append(_prefix(self.frontier.nodes))


def _prefix(nodes: list[Node]) -> Prefix:
    # (the steps of a grant share one node: they share its entry too, never changed)
    made: dict[int, list[Any]] = {}
    prefix = []
    for n in nodes:
        entry = made.get(id(n))
        if entry is None:
            entry = made[id(n)] = [list(n.enabled), n.chosen, list(n.done), list(n.sleep)]
        prefix.append(entry)
    return prefix


def split(
    program: Callable[[Any], Any], strategy: str, bound: int | None, target: int = TARGET_UNITS
) -> tuple[list[Prefix], bool]:
    """The units of one bound (in the order a single search takes them), and whether
    the bound excluded a choice while splitting."""
    branchings = 1
    while True:
        inner = _Splitter(branchings, sleep_sets=strategy == "dpor" and bound is None)
        wrapper = PreemptionBound(inner, bound) if bound is not None else None
        top: Any = wrapper if wrapper is not None else inner
        ctx = Context()
        pool = GreenletPool.take()
        try:
            while True:
                chooser = top.begin()
                if chooser is None:
                    break
                ex = Execution(chooser, False, pool.main, False)
                ctx._begin(ex)
                bodies, _check = program(ctx)
                ex.run(bodies, pool)
                top.end(ex)
        finally:
            pool.give_back()
        cut = wrapper.cut if wrapper is not None else False
        if len(inner.units) >= target or inner.deepest < branchings or branchings >= MAX_BRANCHINGS:
            return inner.units, cut
        branchings += 1


def split_units(search: Search, bound: int | None) -> tuple[list[Prefix], bool]:
    """``split`` as a task: the units of ``bound`` of ``search``'s program (built
    from the recipe in the worker that runs it)."""
    return split(_program(search.recipe), search.strategy, bound)


def _split_result(
    future: Future[tuple[list[Prefix], bool]] | None,
    program: Callable[[Any], Any],
    search: Search,
    bound: int | None,
) -> tuple[list[Prefix], bool]:
    """The units of ``bound``: from the split handed out ahead (``future``), or split
    here when there is none or it has not started (the same units either way)."""
    if future is None or future.cancel():
        return split(program, search.strategy, bound)
    return future.result()


# -- samples ---------------------------------------------------------------------------

#: Executions of each sample (the last may have fewer), more when the budget would
#: make more than ``MAX_SAMPLES`` samples: a function of the budget alone, so that the
#: samples, their seeds and so the executions do not depend on the workers.
SAMPLE_EXECUTIONS = 250
MAX_SAMPLES = 4096


def samples(max_executions: int) -> list[list[int]]:
    """The samples of a ``random`` or ``pct`` run of ``max_executions`` executions, as
    units ``[j, executions]``: sample j runs the strategy with ``sample_seed(seed,
    j)``; merged in order, they run the budget."""
    size = max(SAMPLE_EXECUTIONS, -(-max_executions // MAX_SAMPLES))
    starts = range(0, max_executions, size)
    return [[j, min(size, max_executions - k)] for j, k in enumerate(starts)]


def sample_seed(seed: int, j: int) -> int:
    """The seed of sample ``j``: the run's own for the first (a run of one sample is the
    single search's), then a 64-bit hash of both."""
    if j == 0:
        return seed
    digest = hashlib.blake2b(f"{seed}:{j}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# -- one unit, in a worker -------------------------------------------------------------


class _Indices:
    """Observer: the index of the execution of each finding, each execution's events
    and end (``ExecutionsRecord``; ``start``: the counts a resumed unit goes on
    from), and, when asked for, the canonical forms of the executions' traces."""

    def __init__(self, forms: bool, start: SearchState | None = None) -> None:
        self.done = 0
        self.indices: list[int] = []
        self.forms: set[Any] = set()
        if forms:
            self.on_execution = self._form
        if start is None:
            self.record = ExecutionsRecord()
        else:
            self.done = start.executions
            self.record = ExecutionsRecord(
                (
                    start.executions,
                    start.events,
                    start.cut_executions,
                    start.max_depth,
                    start.deadlocks,
                    start.bound_cut,
                )
            )
        first = self.record.first
        self._events, self._cut, self._deadlocks = first[1], first[2], first[4]

    def _form(self, record: Any) -> None:
        self.forms.add(canonical_form(record.trace))

    def on_finding(self, finding: Finding) -> None:
        self.indices.append(self.done)

    def on_execution_end(self, index: int, stats: Any) -> None:
        self.done = index + 1
        record = self.record
        record.steps.append(stats.events - self._events)
        self._events = stats.events
        if stats.cut_executions != self._cut:
            self._cut = stats.cut_executions
            record.ends.append(CUT_END)
        elif stats.deadlocks != self._deadlocks:
            self._deadlocks = stats.deadlocks
            record.ends.append(DEADLOCK_END)
        else:
            record.ends.append(DONE_END)
        if stats.bound_cut and record.bound_cut_at is None and not record.first[5]:
            record.bound_cut_at = index


@dataclass(frozen=True)
class UnitSave:
    """Where a unit keeps its search state while it runs (a file beside the
    checkpoint, see ``checkpoint.Progress.unit_save``), and the stamp that ties the
    file to the run."""

    path: str
    stamp: str
    seconds: float  # (at most this often: the checkpoint's interval)


#: The magic key (and format version) of a unit's state file.
UNIT_STATE = "pagerace-unit-state"


class _Saver:
    """Observer: the unit's search state (``on_state``), written atomically to its
    ``UnitSave`` file (``keep_file``: by whoever runs the unit) at most every
    ``save.seconds``; ``flush`` writes the latest one (on Ctrl-C, and when a time limit
    or budget cuts the unit).  A unit that ends sooner writes nothing."""

    def __init__(
        self, save: UnitSave, prefix: Unit, indices: _Indices, cpu: float, cpu_before: float
    ) -> None:
        self.save = save
        self.prefix = prefix
        self.indices = indices
        self.cpu = cpu  # (``process_time`` when the unit started here)
        self.cpu_before = cpu_before  # (CPU seconds of the run it resumes)
        self.latest: tuple[SearchState, list[int]] | None = None
        self.written = time.monotonic()

    def on_state(self, state: SearchState) -> None:
        self.latest = (state, list(self.indices.indices))
        if time.monotonic() - self.written >= self.save.seconds:
            self.flush()

    def flush(self) -> None:
        if self.latest is None:
            return
        state, indices = self.latest
        self.latest = None
        self.written = time.monotonic()
        doc = {
            UNIT_STATE: 1,
            "stamp": self.save.stamp,
            "prefix": self.prefix,
            "state": state.to_data(),
            "indices": indices,
            "cpu": self.cpu_before + time.process_time() - self.cpu,
        }
        keep_file(self.save.path, json.dumps(doc, separators=(",", ":")) + "\n")


class _Heartbeat:
    """Observer: the unit's executions so far and its share done (0 for a sample,
    whose executions to go are known), posted to whoever runs it
    (``executors.post_progress``) as the explorer reports progress."""

    def __init__(self, tag: int) -> None:
        self.tag = tag

    def on_progress(self, progress: Any) -> None:
        post_progress(self.tag, progress.stats.executions, progress.done or 0.0)


def unit_tag(bound: int | None, index: int) -> int:
    """The tag under which unit ``index`` of ``bound`` posts its progress (never 0;
    exact as a float)."""
    return ((1 if bound is None else bound + 2) << 32) | (index + 1)


def run_unit(
    search: Search,
    bound: int | None,
    prefix: Unit,
    max_executions: int | None,
    deadline: float | None = None,
    *,
    tag: int = 0,
    save: UnitSave | None = None,
    resume: dict[str, Any] | None = None,
    divide: bool = False,
    below: list[list[Any]] | None = None,
) -> UnitResult:
    """Explore one unit (in whichever process runs it); ``deadline`` is a
    ``time.time()`` value; ``tag`` (``unit_tag``): post progress while it runs;
    ``save``: keep its search state in that file while it runs (a dpor or dfs unit);
    ``resume``: go on from such a file's data (read by ``checkpoint.Progress``).
    ``divide`` (a bounded dpor or a dfs unit, ``divisible``): when its owner asks
    (``divide_asked``), or after ``search.divide_every`` executions, the unit stops
    between two executions where what is left of it makes two units or more, and
    hands that out (``rest``: see ``unitorder`` and ``_dfs_made``); ``below``: a
    continuation's frontier below its path, to go on from.  Ctrl-C raises
    ``Interrupted`` carrying the unit's ``UnitResult`` so far."""
    cpu = time.process_time()
    if tag:
        name_task(tag)  # (its owner may ask it to divide from now on)
    program = _program(search.recipe)
    state = None
    if below is not None:
        # (the prefix's points stand in for those the search makes of the prefix)
        nodes = [[list(e), c, [c], list(d), list(z)] for e, c, d, z in prefix] + below
        state = SearchState(nodes, 0, [], 0, 0, 0, 0, 0, False, [])
    cpu_before = 0.0
    indices = _Indices(search.count_traces)
    if resume is not None:
        source = save.path if save is not None else "a unit's search state"
        replays: dict[str, Result] = {}
        state = SearchState.from_data(
            resume["state"], lambda d: finding_from_data(program, d, source, replays), source
        )
        indices = _Indices(search.count_traces, state)
        indices.indices = list(resume["indices"])
        cpu_before = float(resume["cpu"])
    stop = None
    if search.stop_when is not None:
        rule = search.stop_when

        def stop(findings: Sequence[Finding]) -> bool:
            return rule(frozenset(f.kind for f in findings))

    time_limit = None if deadline is None else max(deadline - time.time(), 1e-9)
    above: dict[Walk, None] = {}  # (a bounded dpor unit's notes for its path)
    size = None  # (a sample: its executions)
    where: dict[str, Any]
    if search.strategy in SAMPLING:
        j, size = prefix
        limit = size if max_executions is None else min(size, max_executions)
        seed = sample_seed(search.seed, j)
        where = {"seed": seed, "pct_depth": search.pct_depth, "max_executions": limit}
    else:  # one unit, one bound: the split iterates the bounds
        where = {"fewest_first": False, "prefix": prefix, "max_executions": max_executions}
        where["resume"] = state
        if ordered(search, bound) and prefix:
            where["above"] = above
    observers: list[Any] = [indices]
    pause = None
    rest: list[list[Any]] = []
    if divide and divisible(search, bound) and prefix:
        floor = len(prefix)
        every = search.divide_every
        by_enabled = search.strategy == "dfs"
        ran = 0

        def pause(frontier: Frontier) -> bool:
            nonlocal ran
            ran += 1
            if (every is None or ran < every) and not (tag and divide_asked(tag)):
                return False
            if not _worth_dividing(frontier.nodes, floor, by_enabled):
                return False
            rest[:] = frontier.to_data()[floor:]
            return True

        where["pause"] = pause
    if tag:
        observers.append(_Heartbeat(tag))
    saver = None
    if save is not None and search.strategy not in SAMPLING:
        saver = _Saver(save, prefix, indices, cpu, cpu_before)
        observers.append(saver)
    try:
        result = explore(
            program,
            strategy=search.strategy,
            preemption_bound=bound,
            time_limit=time_limit,
            keep_going=search.keep_going,
            stop_when=stop,
            observers=observers,
            **where,
        )
    except Interrupted as exc:
        if saver is not None:
            saver.flush()  # (where it stood after its last state: resumed from there)
        r = _unit_result(exc.result, indices, search, cpu, size, cpu_before, above)
        raise Interrupted(r) from None
    finally:
        if tag:
            clear_progress()
    r = _unit_result(result, indices, search, cpu, size, cpu_before, above)
    if result.coverage.stopped_by == "paused":
        r.rest = rest
    if saver is not None and r.exhausted:
        saver.flush()  # (cut by the time limit: a resume goes on from its latest state)
    return r


def _worth_dividing(nodes: list[Any], floor: int, by_enabled: bool) -> bool:
    """What is left of a search below ``floor`` (its frontier's ``nodes``) makes two
    units at least: two branches left on the path below ``floor`` -- threads of the
    backtrack set (dpor) or, ``by_enabled``, of the enabled ones (dfs) not taken."""
    left = 0
    for node in nodes[floor:]:
        pool = node.enabled if by_enabled else node.backtrack
        if len(pool) > 1:  # (most nodes: only the thread taken)
            left += len(branches_left(node.enabled, node.chosen, pool, node.done, node.sleep))
            if left >= 2:
                return True
    return False


def _unit_result(
    result: Result,
    indices: _Indices,
    search: Search,
    cpu: float,
    size: int | None = None,
    cpu_before: float = 0.0,
    above: dict[Walk, None] | None = None,
) -> UnitResult:
    """``size``: a sample's executions (running them all does not exhaust it);
    ``cpu_before``: the CPU seconds of the run a resumed unit goes on from."""
    st = result.stats
    stopped_by = result.coverage.stopped_by
    exhausted = stopped_by == "time_limit" or (
        stopped_by == "max_executions" and result.executions != size
    )
    return UnitResult(
        executions=result.executions,
        events=st.events,
        cut_executions=st.cut_executions,
        max_depth=st.max_depth,
        deadlocks=st.deadlocks,
        bound_cut=st.bound_cut,
        findings=list(result.findings),
        indices=indices.indices,
        exhausted=exhausted,
        forms=frozenset(indices.forms) if search.count_traces else None,
        seconds=st.seconds,
        cpu_seconds=cpu_before + time.process_time() - cpu,
        above=tuple(above) if above else (),
        record=indices.record,
    )


# -- the whole search ------------------------------------------------------------------

#: Seconds between two progress reports while the next unit in order is running.
PROGRESS_SECONDS = 0.5


class UnitProgress(NamedTuple):
    """What ``on_progress(progress)`` observers get after each unit merged (and every
    ``PROGRESS_SECONDS`` while waiting for one): the bound being explored, its units
    finished and in all, the executions run so far (those of running units
    included, as far as their workers have posted them) and per second, the units
    left (the frontier), an estimate of the executions left at this bound
    (``remaining_estimate``; for samples, exact: the budget left) and the units
    running with posted progress."""

    bound: int | None
    units_done: int
    units: int
    executions: int
    executions_per_second: float
    units_left: int
    remaining_estimate: int
    findings: int
    #: the units are samples (random, pct): the executions to go are exact
    sampled: bool = False
    running: int = 0


@dataclass
class _Merged:
    executions: int = 0
    events: int = 0
    cut: int = 0
    max_depth: int = 0
    deadlocks: int = 0
    bound_cut: bool = False
    findings: list[Finding] = field(default_factory=list)
    keys: set[Any] = field(default_factory=set)
    exhausted: bool = False
    stopped: bool = False
    interrupted: bool = False
    forms: set[Any] = field(default_factory=set)
    units: int = 0  # units merged
    units_left: int = 0
    remaining: int = 0
    cpu_seconds: float = 0.0  # of the units merged
    #: executions counted but not run by this search: those of a checkpoint's units
    #: done and of the states its resumed units went on from (not in the rates)
    carried: int = 0

    def add(self, r: UnitResult) -> None:
        if r.forms:
            self.forms |= r.forms
        self.executions += r.executions
        self.events += r.events
        self.cut += r.cut_executions
        self.max_depth = max(self.max_depth, r.max_depth)
        self.deadlocks += r.deadlocks
        self.bound_cut = self.bound_cut or r.bound_cut
        self.cpu_seconds += r.cpu_seconds


def explore_units(
    search: Search,
    executor: Executor,
    *,
    preemption_bound: int | str | None = None,
    max_preemption_bound: int | None = None,
    observers: Iterable[Any] = (),
    state: Any = None,
) -> Result:
    """Explore like ``explore(recipe(), strategy=..., preemption_bound=...)`` but split
    into units run on ``executor`` (see the module docstring).  ``preemption_bound``
    is None, an int K (that bound only) or ``"iterative"`` (0, 1, ... up to
    ``max_preemption_bound``; without a cap, ``keep_going`` without a stop rule stops
    widening after a bound >= 1 that found nothing new, as ``explore`` does).
    ``state`` (``checkpoint.Progress``) records finished units and lets a resumed
    search skip them.  Ctrl-C raises ``Interrupted`` carrying the result so far (the
    units merged, and the findings of every unit that had finished)."""
    start = time.perf_counter()
    deadline = None if search.time_limit is None else time.time() + search.time_limit
    program = _program(search.recipe)
    hooks = list(observers)
    merged = _Merged()
    iterative = preemption_bound == "iterative"
    bound: int | None = 0 if iterative else preemption_bound  # type: ignore[assignment]
    log: list[tuple[int, int, int]] = []  # per bound explored: bound, executions, new
    nothing_new = False
    # Iterative bounding: once a unit of a bound has cut, the next bound is needed
    # (unless the search stops first), and idle workers split it and run its units
    # while the units of this one still run (``next_bound``); if it turns out not to
    # be needed, what they ran is dropped, so the result is the same.
    workers = 0 if isinstance(executor, InlineExecutor) else _workers(executor)
    ahead: _Level | None = None  # (the next bound, its units handed out ahead)
    splits: dict[int | None, Future[tuple[list[Prefix], bool]]] = {}  # (split by a worker)
    means: list[float] = []  # per bound explored, the mean CPU time of its units

    def spent() -> int:
        return merged.executions

    def next_bound(after: int | None, free: int, cut: bool, guesses: bool) -> list[Future[Any]]:
        """Tasks for ``free`` idle workers from the bound after ``after``, once a unit
        of ``after`` has cut (``cut``): its split, then its units -- with ``guesses``
        False only those the single search surely enters.  Returns them."""
        nonlocal ahead
        if (
            free <= 0
            or not cut
            or not iterative
            or after is None
            or workers < 2
            or search.strategy in SAMPLING
            or merged.stopped
            or merged.exhausted
            or (max_preemption_bound is not None and after >= max_preemption_bound)
        ):
            return []
        task = splits.get(after + 1)
        if task is None:
            task = splits[after + 1] = executor.submit(split_units, search, after + 1)
            return [task]
        if not task.done():
            return []
        if ahead is None:
            guess = _unit_guess(means, 2)
            ahead = _start_level(
                search, executor, program, after + 1, state, deadline, guess, spent, task
            )
        ahead.advance()
        return [ahead.futures[i] for i in ahead.feed(free, guesses)]

    # Until a bound needs splitting, each bound is first explored as one search of
    # at most PROBE_EXECUTIONS executions (``_probe``); trees only grow with the bound,
    # so once one is split the next ones are split at once, and one that the bounds
    # before it foretell far larger than a probe is split without one (``_probe_next``)
    # -- unless what is left of the budget ends within a probe.
    probing = PROBE_EXECUTIONS > 0 and search.strategy not in SAMPLING
    sizes: list[int] = []  # (the executions of each bound probed)

    def within_probe() -> bool:
        """What is left of the budget ends within a probe."""
        budget = search.max_executions
        return budget is not None and budget - merged.executions <= PROBE_EXECUTIONS

    try:
        while True:
            current = None
            probed = False
            if ahead is not None and ahead.bound == bound:
                current, ahead = ahead, None
            elif (probing and (_probe_next(sizes) or within_probe())) or (
                state is not None and state.units_of(bound) == 1
            ):  # (a checkpoint's bound that ran as one search runs so again)
                current = _probe(search, program, bound, state, deadline, merged.executions)
                probed = probing = current is not None
                if current is not None:
                    sizes.append(_executions(current.done))
            if current is None:
                guess = _unit_guess(means, 1)
                current = _start_level(
                    search,
                    executor,
                    program,
                    bound,
                    state,
                    deadline,
                    guess,
                    spent,
                    splits.get(bound),
                )
            level = _Merged()
            level.bound_cut = current.split_cut
            before = len(merged.findings)
            _run_level(search, current, merged, level, hooks, state, start, next_bound)
            new = len(merged.findings) - before
            if level.units and not probed:  # (a whole bound says nothing of a unit)
                means.append(level.cpu_seconds / level.units)
            if iterative:
                assert bound is not None
                log.append((bound, level.executions, new))
            merged.bound_cut = level.bound_cut
            if merged.stopped or merged.exhausted or merged.interrupted:
                break
            if not (iterative and level.bound_cut):
                break
            assert bound is not None
            if max_preemption_bound is not None and bound >= max_preemption_bound:
                break
            if (
                max_preemption_bound is None
                and search.keep_going
                and search.stop_when is None
                and merged.findings
                and bound >= 1
                and not new
            ):
                nothing_new = True
                break
            bound += 1
    except KeyboardInterrupt as exc:  # (while probing or splitting)
        merged.interrupted = True
        if isinstance(exc, Interrupted) and isinstance(exc.result, UnitResult):
            _salvage(merged, _Merged(), exc.result, hooks)  # what the probe ran
    finally:
        if ahead is not None:  # a bound handed out ahead and not needed
            ahead.cancel()
        for future in splits.values():
            future.cancel()
    if state is not None and not (merged.interrupted or merged.exhausted):
        # (the units' states are needed no more; after a time limit a resume goes on)
        state.finish()
    return _result(search, merged, bound, log, nothing_new, hooks, time.perf_counter() - start)


def _result(
    search: Search,
    merged: _Merged,
    bound: int | None,
    log: list[tuple[int, int, int]],
    nothing_new: bool,
    hooks: list[Any],
    seconds: float,
) -> Result:
    stats = Stats(
        executions=merged.executions,
        events=merged.events,
        cut_executions=merged.cut,
        seconds=seconds,
        executions_per_second=(merged.executions - merged.carried) / seconds
        if seconds > 0
        else 0.0,
        max_depth=merged.max_depth,
        bound_cut=merged.bound_cut,
        preemption_bound=bound,
        traces=len(merged.forms) if search.count_traces else None,
        findings=len(merged.findings),
        deadlocks=merged.deadlocks,
        units=merged.units,
        units_left=merged.units_left,
        resumed_executions=merged.carried,
        remaining_estimate=merged.remaining,
    )
    if merged.interrupted:
        stopped_by = "interrupted"
    elif merged.stopped:
        stopped_by = "stop rule" if search.keep_going else "finding"
    elif merged.exhausted:
        limit = search.max_executions
        spent = limit is not None and merged.executions >= limit
        stopped_by = "max_executions" if spent else "time_limit"
    elif nothing_new:
        stopped_by = "nothing new"
    elif search.strategy in SAMPLING:
        stopped_by = "max_executions"  # (every sample ran: the budget, as one search says)
    else:
        stopped_by = "complete"
    complete = stopped_by == "complete"
    last_done = stopped_by in ("complete", "nothing new")  # the last bound was finished
    if merged.findings:
        status = Status.FOUND
    elif complete:
        status = Status.CLEAN
    else:
        status = Status.INCOMPLETE
    bounds = tuple(
        BoundCoverage(b, n, new, k < len(log) - 1 or last_done) for k, (b, n, new) in enumerate(log)
    )
    result = Result(
        status,
        merged.executions,
        stats.traces,
        tuple(merged.findings),
        stats,
        search.strategy,
        Coverage(stopped_by, complete, bounds),
    )
    for hook in hooks:
        if hasattr(hook, "on_end"):
            hook.on_end(result)
    if merged.interrupted:
        raise Interrupted(result)
    return result


_EMPTY = UnitResult(0, 0, 0, 0, 0, False, [], [])


def _counted(search: Search, merged: _Merged, r: UnitResult) -> tuple[int, bool]:
    """How many of the unit's executions count (a stop or the budget may end the
    search inside it), and whether the search stops at a finding there."""
    kinds = {f.kind for f in merged.findings}
    stop_at: int | None = None
    for f, index in zip(r.findings, r.indices, strict=True):
        kinds.add(f.kind)
        if not search.keep_going or (
            search.stop_when is not None and search.stop_when(frozenset(kinds))
        ):
            stop_at = index + 1  # (every finding of that execution counts)
            break
    count = r.executions if stop_at is None else stop_at
    budget = search.max_executions
    if budget is not None and merged.executions + count > budget:
        return budget - merged.executions, False
    return count, stop_at is not None


def _add_findings(merged: _Merged, r: UnitResult, count: int | None, hooks: list[Any]) -> None:
    """The unit's findings among its first ``count`` executions (None: all) that are
    new to the search, in order."""
    for f, index in zip(r.findings, r.indices, strict=False):
        if (count is None or index < count) and f.key not in merged.keys:
            merged.keys.add(f.key)
            merged.findings.append(f)
            for hook in hooks:
                if hasattr(hook, "on_finding"):
                    hook.on_finding(f)


@dataclass
class _Level:
    """One bound's units, split and handed to the executor (those not finished
    already, by a checkpoint)."""

    bound: int | None
    units: list[Unit]
    split_cut: bool
    done: dict[int, UnitResult]
    futures: dict[int, Future[UnitResult]]
    lazy: bool  # (no futures: the units run in ``_run_level``, in order)
    tasks: list[Future[Any]]  # tasks of several units (``futures`` has each unit's)
    deadline: float | None = None  # (the units' ``time.time()`` deadline)
    #: the ``(tag, executions, share)`` that running units have posted
    live: Callable[[], list[tuple[int, int, float]]] = list
    carried: int = 0  # executions from a checkpoint: its units done, its units' states
    #: the single search's order over the units (bounded dpor: ``ordered``); then
    #: units go out a few at a time (``submit``, at most ``window`` running)
    order: SingleOrder | None = None
    submit: Callable[[int], Future[UnitResult]] | None = None
    window: int = 1
    #: a bound handed out ahead: the units whose notes its order has taken already,
    #: in its order (``advance``), and those it has ruled out
    taken: list[int] = field(default_factory=list)
    ruled: list[int] = field(default_factory=list)
    #: its units may divide (``run_unit``'s ``divide``); ``ask(tag)``: ask the
    #: running unit with that tag to (None: the executor's workers cannot be asked)
    dividing: bool = False
    ask: Callable[[int], bool] | None = None
    #: when each unit handed out went out (``time.monotonic()``)
    handed: dict[int, float] = field(default_factory=dict)
    #: the units from this index on were made by division (``key``); ``later[0]``:
    #: their executions from a checkpoint, not yet counted in ``carried``
    made_from: int = field(init=False)
    later: list[int] = field(default_factory=lambda: [0])
    #: per continuation of a divided unit: the frontier below its path
    rests: dict[int, list[list[Any]]] = field(default_factory=dict)
    #: called with each unit made by division (a checkpoint's result for it is in)
    on_make: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        self.made_from = len(self.units)

    def key(self, i: int) -> tuple[int, ...] | None:
        """What names unit ``i`` in a checkpoint besides its index: its path, for a
        unit made by division (None: a unit of the split)."""
        return None if i < self.made_from else path_of(self.units[i])

    def divided(self, i: int, rest: list[list[Any]]) -> list[int]:
        """Unordered (dfs) unit ``i`` paused with ``rest``: make the units of what is
        left of it (handed out at once, unless a checkpoint has their results or they
        run here) and return them, in the order they merge (next after ``i``)."""
        made = []
        for prefix, below in _dfs_made(self.units[i], rest):
            j = len(self.units)
            self.units.append(prefix)
            if below is not None:
                self.rests[j] = below
            if self.on_make is not None:
                self.on_make(j)
            if self.submit is not None and j not in self.done:
                self.futures[j] = self.submit(j)
            made.append(j)
        return made

    def cancel(self) -> None:
        for future in [*self.futures.values(), *self.tasks]:
            future.cancel()

    def feed(self, slots: int, guesses: bool = True) -> list[int]:
        """Hand out up to ``slots`` of the units the order wants most (the current
        one in any case), those not done and not handed out; with ``guesses`` False,
        only those the single search surely enters.  Return them."""
        order, submit = self.order, self.submit
        if order is None or submit is None:
            return []
        sure = None if guesses else order.certain()
        out = []
        for k, i in enumerate(order.wanted()):
            if i in self.futures or i in self.done:
                continue
            if k and slots <= 0:  # (the current unit goes out in any case)
                break
            if sure is not None and i not in sure:
                break  # (``wanted`` yields those it surely enters first)
            self.futures[i] = submit(i)
            out.append(i)
            slots -= 1
        return out

    def take(self, r: UnitResult) -> list[int]:
        """The order takes the notes of its current unit (result ``r``) and goes on to
        the next unit it enters; the units it rules out meanwhile are dropped (their
        tasks cancelled) and returned."""
        assert self.order is not None
        self.order.merged(r.above)
        if r.rest is None or not self.order.divided(r.rest):
            self.order.next()
        ruled = self.order.ruled_out()
        for j in ruled:
            future = self.futures.pop(j, None)
            if future is not None:
                future.cancel()
        return ruled

    def advance(self) -> None:
        """A bound handed out ahead, while the bound before it still merges: the
        order takes the notes of its units that have finished, in its order, as far
        as they go (``taken``), so that it knows the units it enters next (``ruled``:
        those it ruled out).  Its ``_run_level`` merges the taken units without
        taking their notes again."""
        order = self.order
        if order is None:
            return
        while (i := order.current) is not None:
            r = self.done.get(i)
            if r is None:
                future = self.futures.get(i)
                if future is None or not future.done() or not _ok(future):
                    return
                r = future.result()
            self.taken.append(i)
            self.ruled += self.take(r)


#: A bound is first explored as one search of at most this many executions; only if
#: that does not finish it is it split (a small tree runs faster as one search than
#: as units, and without the executions that a split adds).
PROBE_EXECUTIONS = 128


#: The next bound is probed only if its tree, foreseen from the bounds before it,
#: has fewer than this many times ``PROBE_EXECUTIONS`` executions: a probe that does
#: not end its bound is time lost before the split, and splitting a bound that one
#: search would end costs more than the probe.
PROBE_MARGIN = 2
#: The growth from bound 0 to bound 1 foreseen (later ones: the last growth seen).
FIRST_GROWTH = 16


def _probe_next(sizes: list[int]) -> bool:
    """Whether to probe the bound after those run as one search, of ``sizes``
    executions (the first bound: always): if the tree grows as it last grew, it is
    small enough.  (A function of the program and the options, like the units.)"""
    if not sizes:
        return True
    last = sizes[-1]
    growth = last / sizes[-2] if len(sizes) >= 2 and sizes[-2] else FIRST_GROWTH
    return last * growth < PROBE_MARGIN * PROBE_EXECUTIONS


def _probe(
    search: Search,
    program: Callable[[Any], Any],
    bound: int | None,
    state: Any,
    deadline: float | None,
    spent: int,
) -> _Level | None:
    """Bound ``bound`` explored as one search (one unit, the empty prefix) if it ends
    within ``PROBE_EXECUTIONS`` executions -- or within what is left of the budget
    (``spent``: the executions so far), or at a finding that stops the search, or at
    the time limit; None if it needs splitting.  A function of the program and the
    options (the time limit aside), like the units, whatever runs them."""
    known = state.units_of(bound) if state is not None else None
    if known is not None and known != 1:
        return None  # (it was split when the checkpoint was written)
    done: dict[int, UnitResult] = {}
    if known == 1:
        done = state.begin_bound(bound, 1, program)
    carried = _executions(done)  # (from the checkpoint)
    budget = search.max_executions
    left = None if budget is None else budget - spent
    if left is not None and left <= 0:  # (``_run_level`` notes the budget spent)
        return _Level(bound, [[]], False, done, {}, True, [], deadline, carried=carried)
    if 0 not in done:
        limit = PROBE_EXECUTIONS if left is None else min(PROBE_EXECUTIONS, left)
        r = run_unit(search, bound, [], limit, deadline)
        if r.exhausted and r.executions >= PROBE_EXECUTIONS and (left is None or left > limit):
            return None  # too big for one search: split it
        if state is not None:
            done = state.begin_bound(bound, 1, program)
            if not r.exhausted:  # (a unit cut by the budget or the time is not done)
                state.unit_done(bound, 0, r)
        done[0] = r
    return _Level(bound, [[]], False, done, {}, True, [], deadline, carried=carried)


def _start_level(
    search: Search,
    executor: Executor,
    program: Callable[[Any], Any],
    bound: int | None,
    state: Any,
    deadline: float | None,
    unit_seconds: float | None = None,
    spent: Callable[[], int] = lambda: 0,
    split_ahead: Future[tuple[list[Prefix], bool]] | None = None,
) -> _Level:
    """Split a bound and hand its units out.  A unit handed out gets what is left of
    the budget then (``spent()``: the executions merged so far), all that the merge
    can take of it.  Units expected to take a few
    milliseconds (``unit_seconds``: the mean CPU time of the units merged so far)
    go out in runs of consecutive units, one task each, so that sending a task
    does not cost more than running it; each unit still has its own future.  On a
    lazy ``InlineExecutor`` nothing is handed out: ``_run_level`` runs the units
    itself, in order, each with what is left of the budget.  ``split_ahead``: the
    bound's split, handed out ahead to a worker.  An ordered bound's units go out
    only as ``_Level.feed`` hands them out."""
    if search.strategy in SAMPLING:
        if search.max_executions is None:
            raise PageraceInputError(
                f"strategy {search.strategy}: a split run needs an execution budget"
            )
        units: list[Unit] = samples(search.max_executions)
        split_cut = False
    else:
        units, split_cut = _split_result(split_ahead, program, search, bound)
    order = None
    if ordered(search, bound):
        order = SingleOrder(units)
        split_cut = False  # (a unit notes what the bound cuts on its path)
    done = state.begin_bound(bound, len(units), program) if state is not None else {}
    budget = search.max_executions
    lazy = isinstance(executor, InlineExecutor) and executor.lazy
    live = functools.partial(live_progress, executor)
    todo = [] if lazy else [(i, prefix) for i, prefix in enumerate(units) if i not in done]
    # (units that a checkpointed run left half done go on from their search state)
    resumes = {i: _resume_of(state, bound, i, prefix) for i, prefix in todo}
    # (executions from the checkpoint: its units done, and its units' states; a lazy
    # run adds a unit's state as it runs it)
    carried = _executions(done) + sum(r["executions"] for r in resumes.values() if r)

    def left() -> int | None:
        """What is left of the budget (a unit that runs past it runs for nothing)."""
        return None if budget is None else max(budget - spent(), 1)

    # Bounded dpor and dfs units divide when a worker is idle (in this process, one at
    # a time, none ever is: only ``divide_every`` divides them).
    dividing = divisible(search, bound) and (not lazy or bool(search.divide_every))
    made_from = len(units)  # (units made by division come after the split's)
    later = [0]  # (executions from the checkpoint of units made by division)
    rests = order.rests if order is not None else {}  # (continuations: their frontiers)
    handed: dict[int, float] = {}
    made_done = state.made_results(bound) if state is not None and dividing else {}

    def on_make(i: int) -> None:
        """A unit made by division is named by its path: the checkpoint's result for
        it is its result, whatever its index in this run."""
        r = made_done.get(path_of(units[i]))
        if r is not None:
            done[i] = r
            later[0] += r.executions

    if order is not None:
        order.on_make = on_make

    def submit(i: int) -> Future[UnitResult]:
        resume = resumes.get(i)
        path = None
        if i >= made_from:
            path = path_of(units[i])
            resume = _resume_of(state, bound, i, units[i], path)
            later[0] += resume["executions"] if resume else 0
        handed[i] = time.monotonic()
        return executor.submit(
            run_unit,
            search,
            bound,
            units[i],
            left(),
            deadline,
            tag=unit_tag(bound, i),
            save=state.unit_save(bound, i, path) if state is not None else None,
            resume=resume,
            divide=dividing,
            below=rests.get(i),
        )

    window = max(1, _workers(executor))

    def fitted(level: _Level) -> _Level:
        """``level`` with what division needs."""
        level.dividing = dividing
        level.later = later
        level.rests = rests
        level.handed = handed
        level.on_make = on_make
        level.window = window
        if not lazy:
            level.submit = submit
            if dividing:
                level.ask = functools.partial(ask_to_divide, executor)
        return level

    if order is not None:
        # Units go out as the merge comes to need them (``_run_level``'s ``feed``):
        # those the single search enters first, others only on idle workers.
        return fitted(
            _Level(bound, units, False, done, {}, lazy, [], deadline, live, carried, order)
        )
    size = 1
    if unit_seconds and not lazy:
        spread = max(1, len(todo) // (4 * _workers(executor)))  # (work for every worker)
        size = max(1, min(round(TASK_SECONDS / max(unit_seconds, 1e-6)), spread))
    futures: dict[int, Future[UnitResult]] = {}
    tasks: list[Future[Any]] = []
    for k in range(0, len(todo), size):
        part = todo[k : k + size]
        if len(part) == 1 or any(resumes[i] is not None for i, _ in part):
            for i, _ in part:
                futures[i] = submit(i)
            continue
        task = executor.submit(
            run_units,
            search,
            bound,
            [p for _, p in part],
            left(),
            deadline,
            [unit_tag(bound, i) for i, _ in part],
        )
        each: list[Future[UnitResult]] = [Future() for _ in part]
        task.add_done_callback(functools.partial(_hand_out, each))
        tasks.append(task)
        futures.update((i, f) for (i, _), f in zip(part, each, strict=True))
    return fitted(
        _Level(bound, units, split_cut, done, futures, lazy, tasks, deadline, live, carried)
    )


def _executions(done: dict[int, UnitResult]) -> int:
    return sum(r.executions for r in done.values())


def _resume_of(
    state: Any, bound: int | None, index: int, prefix: Unit, path: tuple[int, ...] | None = None
) -> dict[str, Any] | None:
    """The search state a checkpointed run left for unit ``index`` of ``bound`` (made
    by division: the unit of ``path``) (None: none, or no checkpoint)."""
    return state.unit_state(bound, index, prefix, path) if state is not None else None


#: A worker idle with nothing else to run, the unit that the merge waits for is asked
#: to divide once it has run this long (a unit that ends sooner is not worth it); one
#: not yet named in its worker's slot (on a cluster: until its first progress) is
#: asked again every ``DIVIDE_POLL`` seconds.
DIVIDE_AFTER = 0.01
DIVIDE_POLL = 0.01

#: Units expected to take less CPU time than this go out several to a task.
TASK_SECONDS = 0.02


def _unit_guess(means: list[float], ahead: int) -> float | None:
    """The mean CPU time of a unit ``ahead`` bounds after the last one explored
    (``means``: per bound so far): units grow from bound to bound, by the last
    growth seen (4x when only one bound is known)."""
    if not means:
        return None
    growth = 4.0
    if len(means) >= 2 and means[-2] > 0:
        growth = max(1.0, means[-1] / means[-2])
    return means[-1] * growth**ahead


def run_units(
    search: Search,
    bound: int | None,
    prefixes: list[Unit],
    max_executions: int | None,
    deadline: float | None = None,
    tags: list[int] | None = None,
) -> list[UnitResult]:
    """``run_unit`` for consecutive units (one task; ``tags``: theirs, to post
    progress)."""
    marks = tags if tags is not None else [0] * len(prefixes)
    return [
        run_unit(search, bound, p, max_executions, deadline, tag=tag)
        for p, tag in zip(prefixes, marks, strict=True)
    ]


def _hand_out(each: list[Future[UnitResult]], task: Future[list[UnitResult]]) -> None:
    """A task of several units ended: each unit's future gets its result."""
    if task.cancelled():
        for f in each:
            f.cancel()
        return
    error = task.exception()
    for k, f in enumerate(each):
        try:
            if error is None:
                f.set_result(task.result()[k])
            else:
                f.set_exception(error)
        except InvalidStateError:  # (cancelled meanwhile: the search ended)
            pass


def _workers(executor: Executor) -> int:
    """How many tasks ``executor`` runs at once (as far as it tells)."""
    count = getattr(executor, "_max_workers", None) or getattr(executor, "slots", None)
    return count if isinstance(count, int) else 1


def ordered(search: Search, bound: int | None) -> bool:
    """Whether a split bound's units are merged as the single search enters them, and
    only those (``SingleOrder``): ``dpor`` under a preemption bound."""
    return search.strategy == "dpor" and bound is not None


def divisible(search: Search, bound: int | None) -> bool:
    """Whether a unit may divide (``run_unit``'s ``divide``): one of bounded ``dpor``
    (what it hands out joins the order) or of ``dfs`` (merged in its place); not one
    of unbounded ``dpor``, whose units are each explored apart, nor a sample."""
    return ordered(search, bound) or search.strategy == "dfs"


def _dfs_made(prefix: Unit, rest: list[list[Any]]) -> list[tuple[Unit, list[list[Any]] | None]]:
    """A dfs unit paused with ``rest`` (its frontier below ``prefix``): the units
    that make up what is left of it, in the order dfs takes them, each a prefix and,
    for a continuation, the frontier below it to go on from.  Below the first point
    with a branch left, the rest goes on as one unit; then each branch of that point,
    in order (dfs takes every thread there that it has not taken)."""
    branches = [branches_left(p[0], p[1], p[0], p[3], p[4]) for p in rest]
    first = next((k for k, b in enumerate(branches) if b), len(rest))
    path = [*prefix, *([p[0], p[1], [], []] for p in rest[:first])]
    made: list[tuple[Unit, list[list[Any]] | None]] = []
    if first + 1 < len(rest) and any(branches[first + 1 :]):
        point = rest[first]
        below = [list(p) for p in rest[first + 1 :]]
        made.append(([*path, [point[0], point[1], [], []]], below))
    if first < len(rest):
        enabled = rest[first][0]
        made += [([*path, [enabled, t, [], []]], None) for t in branches[first]]
    return made


def remaining_estimate(
    finished_executions: int,
    finished: int,
    running: Sequence[tuple[int, float]],
    waiting: int,
) -> int:
    """Executions left at a bound: ``finished`` units ran ``finished_executions``;
    each running unit ``(executions so far, share done)`` has left the share not done
    of the larger of the mean finished unit and what it has run itself (a unit that
    has run long is likely to run long again: the share, an estimate from its search
    path alone, is often far off); every unit not started (``waiting``) is taken to
    be of the mean size of the finished ones (of the running ones as so sized, while
    none has finished)."""
    mean = finished_executions / finished if finished else 0.0
    left = 0.0
    sized = 0.0
    for count, share in running:
        rest = (1.0 - min(max(share, 0.0), 1.0)) * max(mean, count)
        left += rest
        sized += count + rest
    if not finished and running:
        mean = sized / len(running)
    return round(left + mean * max(waiting, 0))


def _run_level(
    search: Search,
    current: _Level,
    merged: _Merged,
    level: _Merged,
    hooks: list[Any],
    state: Any,
    start: float,
    next_bound: Callable[[int | None, int, bool, bool], list[Future[Any]]],
) -> None:
    """Run the units of one bound and merge their results in unit order; workers
    that this bound leaves idle get tasks of the next one from ``next_bound(bound,
    idle workers, a unit hit the bound, guesses too)``."""
    bound, units, done, futures = current.bound, current.units, current.done, current.futures
    lazy = current.lazy
    order = current.order
    ruled = len(current.ruled)  # units that the single search does not enter (``order``)
    # (handed out ahead: the units whose notes the order has taken already, in order)
    taken = collections.deque(current.taken)
    merged.carried += current.carried
    recorded = set(done)
    finished = 0  # units merged at this bound

    sampled = search.strategy in SAMPLING

    def report(
        extra_units: int = 0, extra_executions: int = 0, running: Sequence[tuple[int, float]] = ()
    ) -> None:
        """``extra_*``: the units finished ahead of the merge; ``running``: the
        ``(executions, share done)`` posted by units still running."""
        units_done = finished + extra_units
        left = len(units) - ruled - units_done
        merged.units_left = left
        merged.remaining = remaining_estimate(
            level.executions + extra_executions, units_done, running, left - len(running)
        )
        elapsed = time.perf_counter() - start
        executions = merged.executions + extra_executions + sum(n for n, _ in running)
        budget = search.max_executions
        if budget is not None:
            # (units run ahead with what was left of the budget when they went out;
            # what passes it is dropped)
            executions = min(executions, budget)
            merged.remaining = min(merged.remaining, budget - executions)
            if sampled:
                merged.remaining = budget - executions
        progress = UnitProgress(
            bound,
            units_done,
            len(units) - ruled,
            executions,
            (executions - merged.carried) / elapsed if elapsed > 0 else 0.0,
            left,
            merged.remaining,
            len(merged.findings),
            sampled,
            len(running),
        )
        for hook in hooks:
            if hasattr(hook, "on_progress"):
                hook.on_progress(progress)

    # the units finished out of order and not merged yet (for the progress, the
    # checkpoint and ``prefetch``), kept up to date as they finish: no rescans
    running = set(futures.values())
    index = {f: j for j, f in futures.items()}
    ahead: dict[int, UnitResult] = {}
    cut = level.bound_cut
    tags = {unit_tag(bound, j): j for j in futures}
    asked: set[int] = set()  # (units asked to divide)
    waiting: int | None = None  # (the unit the merge waits for)
    made: collections.deque[int] = collections.deque()  # (unordered: merged next)
    pace = PROGRESS_SECONDS  # (``wait_for``'s longest wait: shorter while one divides)
    reported = time.monotonic()
    # the last progress each unit posted, kept until its result is in (a unit clears
    # its slot as it ends, a moment before its result is seen here)
    seen: dict[int, tuple[int, float]] = {}

    def progress() -> None:
        """Report the units finished ahead of the merge and what the units still
        running have posted -- with the single search's order, of the units it
        surely enters: a guess that it may drop does not count yet."""
        for tag, count, share in current.live():
            j = tags.get(tag)
            if j is not None and count:  # (a unit that has only named itself: not yet)
                seen[j] = (count, share)
        for j in [j for j in seen if j not in futures or j in ahead]:
            del seen[j]
        sure = order.certain() if order is not None else None
        done = [r.executions for j, r in ahead.items() if sure is None or j in sure]
        report(len(done), sum(done), [v for j, v in seen.items() if sure is None or j in sure])

    def feed() -> None:
        """Hand out tasks to idle workers: first the units of this bound that the
        single search surely enters, then the next bound's split and its sure units
        (``next_bound``), then this bound's guesses, then the next bound's -- a
        guess may be dropped, the next bound is needed once a merged unit has cut --
        and to a worker still idle, what the unit the merge waits for hands out
        (``divide_current``).  (Unordered units all went out at once: only the
        next bound's remain, and division.)"""
        nonlocal pace
        pace = PROGRESS_SECONDS
        free = current.window - sum(1 for f in running if not f.done())
        if order is None:
            tasks = next_bound(bound, free, cut, True)
            running.update(tasks)
            divide_current(free - len(tasks))
            return
        for guesses in (False, True):
            for j in current.feed(free, guesses):
                f = futures[j]
                running.add(f)
                index[f] = j
                tags[unit_tag(bound, j)] = j
                free -= 1
            # (its tasks are waited for too: a worker that ends one is free)
            tasks = next_bound(bound, free, level.bound_cut, guesses)
            running.update(tasks)
            free -= len(tasks)
        # (division last: a guess is often entered after all, and a divided unit's
        # points become units of their own, whose later branches wait for the merge:
        # on two workers, dividing before guessing made a long run 5-9 % slower)
        divide_current(free)

    def divide_current(free: int) -> None:
        """With ``free`` workers idle and nothing else for them, not even a guess, ask
        the unit that the merge waits for to divide, once it has run ``DIVIDE_AFTER``
        seconds (what it hands out comes back as its result, which ends the wait)."""
        nonlocal pace
        j = order.current if order is not None else waiting
        ask = current.ask
        if free <= 0 or ask is None or j is None or j in asked:
            return
        f = futures.get(j)
        if f is None or f.done():
            return
        now = time.monotonic()
        wait = current.handed.get(j, now) + DIVIDE_AFTER - now
        if wait > 0:
            pace = min(pace, wait)  # (look again then)
        elif ask(unit_tag(bound, j)):
            asked.add(j)
        else:  # (it has not named itself yet -- a cluster's task: not posted yet)
            pace = min(pace, DIVIDE_POLL)

    def wait_for(future: Future[UnitResult]) -> None:
        """Until ``future`` is done, keep the checkpoint and the progress current."""
        nonlocal running, cut, reported
        while not future.done():
            finished_now, running = wait_first(running, pace)
            for f in finished_now:
                j = index.get(f)  # (None: a task of the next bound)
                if j is None or j not in futures or not _ok(f):
                    continue
                r = ahead[j] = f.result()
                cut = cut or r.bound_cut
                if state is not None and j not in recorded and not r.exhausted:
                    recorded.add(j)
                    state.unit_done(bound, j, r, current.key(j))
            if future.done():
                # (it is merged next, and its notes may change what the order wants:
                # a unit handed out now would go on what it knew before them)
                break
            feed()
            if finished_now or time.monotonic() - reported >= PROGRESS_SECONDS:
                reported = time.monotonic()
                progress()

    def finished_ahead(j: int | None) -> bool:
        """Unit ``j`` has finished and waits to be merged."""
        if j is None:
            return False
        future = futures.get(j)
        return j in done or (future is not None and future.done())

    def keep_finished() -> None:
        """What the units that finished ahead of the merge ran counts (the search
        was stopped by Ctrl-C or its time limit, not where one search would stop)."""
        for j in sorted(futures):
            if futures[j].done() and _ok(futures[j]):
                _salvage(merged, level, futures[j].result(), hooks)

    i = -1
    nxt: int | None = 0 if units else None
    following = 0  # (unordered: the split's unit merged after ``made``)
    if order is not None:
        nxt = taken[0] if taken else order.current
    try:
        if not lazy:
            feed()  # (a bound's first units; more, for one handed out ahead)
        while nxt is not None:
            i = nxt
            prefix = units[i]
            ran_out = False  # (the budget was spent before this unit)
            if i in done:
                r = done[i]
            elif lazy:
                # Units run here, in order: each gets what is left of the budget (what
                # a unit that runs ahead and is cut afterwards ends up counting,
                # without running it twice).
                budget = search.max_executions
                left = None if budget is None else budget - merged.executions
                if left is not None and left <= 0:
                    r, ran_out = _EMPTY, True  # (none of its executions counts)
                else:
                    tag = unit_tag(bound, i)
                    key = current.key(i)
                    save = state.unit_save(bound, i, key) if state is not None else None
                    resume = _resume_of(state, bound, i, prefix, key)
                    if resume is not None:
                        merged.carried += resume["executions"]
                    with progress_sink(lambda _tag, n, share: report(0, 0, [(n, share)])):
                        r = run_unit(
                            search,
                            bound,
                            prefix,
                            left,
                            current.deadline,
                            tag=tag,
                            save=save,
                            resume=resume,
                            divide=current.dividing,
                            below=current.rests.get(i),
                        )
            else:
                future = futures[i]
                waiting = i
                wait_for(future)
                r = future.result()
                running.discard(future)
                del futures[i]
                ahead.pop(i, None)
            if (
                state is not None
                and i not in recorded
                and i not in done
                and not (r.exhausted or ran_out)
            ):
                # (a unit cut by the budget or the time limit is not done)
                recorded.add(i)
                state.unit_done(bound, i, r, current.key(i))
            count, stopped = _counted(search, merged, r)
            _add_findings(merged, r, count, hooks)
            merged.stopped = stopped
            if ran_out:
                merged.exhausted = True
            if count < r.executions:
                # the statistics of exactly the executions that count: from the unit's
                # record of its executions, else by running them again
                merged.exhausted = not stopped
                cut_short = r.first_executions(count, not stopped) if count else _EMPTY
                below = current.rests.get(i)
                r = cut_short or run_unit(search, bound, prefix, count, below=below)
            elif r.exhausted and not stopped:
                merged.exhausted = True  # its own budget (time, executions) cut it
            merged.add(r)
            level.add(r)
            merged.units += 1
            level.units += 1
            finished += 1
            merged.carried += current.later[0]  # (units made by division, checkpointed)
            current.later[0] = 0
            current.rests.pop(i, None)  # (a continuation's frontier: needed no more)
            for hook in hooks:
                if hasattr(hook, "on_unit"):
                    hook.on_unit(bound, i, r)
            if order is None:
                if r.rest is not None and not (merged.stopped or merged.exhausted):
                    # what is left of a divided unit merges next, in dfs order
                    fresh = current.divided(i, r.rest)
                    made.extendleft(reversed(fresh))
                    for j in fresh:
                        if j in futures:
                            f = futures[j]
                            running.add(f)
                            index[f] = j
                            tags[unit_tag(bound, j)] = j
                if i < current.made_from:
                    following = i + 1  # (the split's next unit, after those made)
                if made:
                    nxt = made.popleft()
                else:
                    nxt = following if following < current.made_from else None
            elif not (merged.stopped or merged.exhausted):
                if taken:  # (its notes are in the order: ``_Level.advance``)
                    taken.popleft()
                    nxt = taken[0] if taken else order.current
                else:
                    for j in current.take(r):  # (not entered by the single search)
                        ruled += 1
                        ahead.pop(j, None)
                    nxt = order.current
                if not finished_ahead(nxt):  # (else its notes come first, see wait_for)
                    feed()
            progress()
            if merged.stopped or merged.exhausted:
                budget = search.max_executions
                if merged.exhausted and not (budget is not None and merged.executions >= budget):
                    keep_finished()  # (the time limit; a budget ends at its execution)
                return
    except KeyboardInterrupt as exc:
        # what has been run counts: the unit that was running here (in this
        # process), then every unit that had finished, in unit order
        merged.interrupted = True
        if isinstance(exc, Interrupted) and isinstance(exc.result, UnitResult):
            _salvage(merged, level, exc.result, hooks)
        keep_finished()
    finally:
        current.cancel()


def _ok(future: Future[Any]) -> bool:
    return not future.cancelled() and future.exception() is None


def _salvage(merged: _Merged, level: _Merged, r: UnitResult, hooks: list[Any]) -> None:
    _add_findings(merged, r, None, hooks)
    merged.add(r)
    level.add(r)
    merged.units += 1
    level.units += 1
