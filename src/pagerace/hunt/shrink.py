"""Minimise a scenario while it still shows the same signature.

Greedy delta debugging, the way Hypothesis shrinks: try candidate reductions from
the coarsest to the finest -- drop a CPU, drop one of a CPU's ops, drop a set-up
op, then make one op simpler (interrupts on, ``nr`` 1 or halved, a range of one
page or half as long, the identity frame, ``PAGE_HYPERVISOR``) -- and restart from
the first candidate after every success, until none succeeds or the budget is
spent.  A candidate succeeds when exploring it (bounded DPOR, then PCT, as the
hunt does) shows a finding with the target signature; exploration stops at that
finding.  Iterative preemption bounding makes it a finding with the fewest
preemptions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pagerace.errors import PageraceInputError
from pagerace.explore import Finding
from pagerace.hunt.generate import PH, serial_accesses
from pagerace.hunt.search import DEFAULT_BUDGET, Budget, Found, fault_of, search
from pagerace.hunt.signature import Signature, signature_of
from pagerace.hunt.write import scenario_toml
from pagerace.paging.geometry import PAGE_SIZE
from pagerace.paging.pte import INVALID_MFN
from pagerace.runner import RunOptions, ScenarioRun, prepare, run_scenario
from pagerace.scenario import (
    AccessOp,
    DestroyOp,
    MapOp,
    ModifyOp,
    Op,
    PopulateOp,
    Scenario,
    parse_scenario,
)

__all__ = ["ShrinkBudget", "Shrunk", "reproduce", "shrink", "shrink_many", "size"]


@dataclass(frozen=True, slots=True)
class ShrinkBudget:
    """At most ``evaluations`` candidate explorations and ``seconds`` per signature;
    DPOR explores a candidate for at most ``candidate_executions``."""

    evaluations: int = 60
    seconds: float = 15.0
    candidate_executions: int = 300


@dataclass(frozen=True, slots=True)
class Shrunk:
    """The minimised scenario and the finding it shows."""

    scenario: Scenario
    found: Found
    evaluations: int
    successes: int
    seconds: float
    complete: bool  # no candidate left untried (not stopped by the budget)


class _Hit(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


class _Watch:
    """An explorer observer that stops the search at the target signature."""

    def __init__(self, scenario: Scenario, target: Signature, variant: str | None) -> None:
        self.scenario = scenario
        self.target = target
        self.variant = variant

    def on_finding(self, finding: Finding) -> None:
        if signature_of(finding, self.scenario, self.variant)[0] == self.target:
            raise _Hit(finding)


def reproduce(
    scenario: Scenario,
    target: Signature,
    budget: Budget,
    *,
    variant: str | None = None,
    seed: int = 0,
) -> Found | None:
    """The first finding with signature ``target`` that exploring ``scenario``
    shows (bounded DPOR, then PCT), or None."""
    runs = [
        RunOptions(
            strategy="dpor",
            preemption_bound=budget.preemption_bound,
            max_executions=budget.dpor_executions,
            time_limit=budget.time_cap,
            keep_going=True,
        )
    ]
    if budget.pct_executions:
        runs.append(
            RunOptions(
                strategy="pct",
                preemption_bound=None,
                max_executions=budget.pct_executions,
                time_limit=budget.time_cap,
                keep_going=True,
                pct_depth=budget.pct_depth,
                seed=seed,
            )
        )
    for options in runs:
        try:
            watch = _Watch(scenario, target, variant)
            run_scenario(scenario, options, variant=variant, observers=[watch])
        except _Hit as hit:
            f = hit.finding
            _, ops = signature_of(f, scenario, variant)
            return Found(
                target,
                ops,
                f.message,
                f.preemptions,
                f.schedule,
                options.strategy,
                fault_of(f, prepare(scenario, variant)),
                seed if options.strategy == "pct" else 0,
                ScenarioRun.check(f),
            )
        except PageraceInputError:  # the set-up no longer applies
            return None
    return None


def shrink(
    scenario: Scenario,
    target: Signature,
    budget: Budget = DEFAULT_BUDGET,
    limits: ShrinkBudget = ShrinkBudget(),
    *,
    variant: str | None = None,
    seed: int = 0,
) -> Shrunk | None:
    """Minimise ``scenario`` keeping ``target``; None if it does not show it."""
    start = time.perf_counter()
    found = reproduce(scenario, target, budget, variant=variant, seed=seed)
    if found is None:
        return None
    if found.strategy == "dpor":  # candidates need no more than the bound it was found at
        budget = dataclasses.replace(
            budget,
            preemption_bound=min(budget.preemption_bound, found.preemptions),
            dpor_executions=min(budget.dpor_executions, limits.candidate_executions),
            pct_executions=0,
        )
    current = scenario
    tried = {scenario_toml(scenario)}
    evaluations, successes = 1, 0
    complete = False
    while True:
        progressed = False
        keep = {(op.cpu, op.index) for op in found.ops}
        for candidate in candidates(current, keep):
            text = scenario_toml(candidate)
            if text in tried:
                continue
            if evaluations >= limits.evaluations or time.perf_counter() - start > limits.seconds:
                return Shrunk(
                    current, found, evaluations, successes, time.perf_counter() - start, False
                )
            tried.add(text)
            evaluations += 1
            hit = reproduce(candidate, target, budget, variant=variant, seed=seed)
            if hit is not None:
                current, found, progressed = candidate, hit, True
                successes += 1
                break
        if not progressed:
            complete = True
            break
    return Shrunk(current, found, evaluations, successes, time.perf_counter() - start, complete)


def size(sc: Scenario) -> tuple[int, int, int]:
    """How big a scenario is: CPUs, ops, set-up ops."""
    return len(sc.cpus), sum(len(ops) for ops in sc.cpus), len(sc.setup)


def shrink_many(
    scenario: Scenario,
    targets: list[Signature],
    budget: Budget = DEFAULT_BUDGET,
    limits: ShrinkBudget = ShrinkBudget(),
    *,
    variant: str | None = None,
    seed: int = 0,
) -> Iterator[tuple[Signature, Shrunk | None]]:
    """Minimise ``scenario`` for each target in turn.  Each minimised scenario is
    explored once more; a later target it shows starts from it (the smallest such),
    not from ``scenario``: the signatures of one race share most of their work."""
    known: list[tuple[Scenario, set[Signature]]] = []
    for target in targets:
        starts = [sc for sc, sigs in known if target in sigs]
        start = min(starts, key=size) if starts else scenario
        shrunk = shrink(start, target, budget, limits, variant=variant, seed=seed)
        if shrunk is None and start is not scenario:
            shrunk = shrink(scenario, target, budget, limits, variant=variant, seed=seed)
        if shrunk is not None:
            shows = search(shrunk.scenario, budget, variant=variant, seed=seed)
            known.append((shrunk.scenario, {f.signature for f in shows.found}))
        yield target, shrunk


# -- candidates -------------------------------------------------------------------------
def candidates(
    sc: Scenario, keep: frozenset[tuple[int, int]] | set[tuple[int, int]] = frozenset()
) -> Iterator[Scenario]:
    """Smaller scenarios, coarsest first; each one a valid scenario file.  The ops
    ``keep`` names (``(cpu, index)``: the ops of the signature) are never dropped,
    nor their CPUs."""
    cpus = sc.cpus
    kept_cpus = {c for c, _ in keep}
    for c in reversed(range(len(cpus))):
        if len(cpus) > 1 and c not in kept_cpus:
            yield from _valid(sc, cpus=cpus[:c] + cpus[c + 1 :])
    for c, ops in enumerate(cpus):
        if len(ops) > 1:
            for i in reversed(range(len(ops))):
                if (c, i) not in keep:
                    yield from _valid(sc, cpus=_with(cpus, c, ops[:i] + ops[i + 1 :]))
    for i in reversed(range(len(sc.setup))):
        yield from _valid(sc, setup=sc.setup[:i] + sc.setup[i + 1 :])
    for c, ops in enumerate(cpus):
        for i, op in enumerate(ops):
            for simpler in simpler_ops(op, sc):
                yield from _valid(sc, cpus=_with(cpus, c, (*ops[:i], simpler, *ops[i + 1 :])))
    for i, op in enumerate(sc.setup):
        for simpler in simpler_ops(op, sc):
            yield from _valid(sc, setup=(*sc.setup[:i], simpler, *sc.setup[i + 1 :]))


def _with(
    cpus: tuple[tuple[Op, ...], ...], c: int, ops: tuple[Op, ...]
) -> tuple[tuple[Op, ...], ...]:
    return (*cpus[:c], ops, *cpus[c + 1 :])


def _valid(sc: Scenario, **changes: object) -> Iterator[Scenario]:
    """The candidate, if it is a valid scenario file whose ops succeed one after the
    other on one CPU, as every drawn scenario's do (``serial_accesses``): what it
    shows then still comes from the interleaving, not from an op wrong on its own."""
    candidate = dataclasses.replace(sc, **changes)  # type: ignore[arg-type]
    try:
        parse_scenario(scenario_toml(candidate), sc.source)
    except PageraceInputError:
        return
    if serial_accesses(candidate) is None:
        return
    yield candidate


def _pages(n: int) -> list[int]:
    """Smaller page counts to try for ``n``: 1, then halves."""
    out = [1] if n > 1 else []
    half = n // 2
    while half > 1:
        if half not in out:
            out.append(half)
        half //= 2
    return out


def simpler_ops(op: Op, sc: Scenario) -> Iterator[Op]:
    """Simpler versions of one op, simplest first."""
    if isinstance(op, AccessOp):
        return
    if not op.irqs:
        yield dataclasses.replace(op, irqs=True)
    g = sc.geometry
    if isinstance(op, MapOp | PopulateOp):
        for n in _pages(op.nr):
            yield dataclasses.replace(op, nr=n)
    if isinstance(op, MapOp):
        identity = (op.virt - g.directmap) // PAGE_SIZE
        if op.mfn not in (identity, INVALID_MFN) and op.virt >= g.directmap:
            yield dataclasses.replace(op, mfn=identity)
        if op.flags != PH:
            yield dataclasses.replace(op, flags=PH)
    if isinstance(op, ModifyOp | DestroyOp):
        n = (op.e - op.s) // PAGE_SIZE
        for k in _pages(n):
            yield dataclasses.replace(op, e=op.s + k * PAGE_SIZE)
            yield dataclasses.replace(op, s=op.e - k * PAGE_SIZE)
