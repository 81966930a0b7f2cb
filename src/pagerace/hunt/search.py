"""One scenario, explored under a budget: bounded DPOR first, then PCT.

DPOR with iterative preemption bounding 0..K collects every distinct finding
(``keep_going``); each is first found with the fewest preemptions.  When DPOR
spends its executions before it has covered the bound, PCT (seeded, with a few
priority change points) samples the rest.  Budgets count executions, so a
search is deterministic; the time cap is only a guard against a pathological
scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from pagerace.explore import Finding
from pagerace.hunt.signature import OpInvolved, Signature, signature_of
from pagerace.runner import Prepared, RunOptions, ScenarioRun, run_scenario
from pagerace.scenario import Scenario

__all__ = ["DEFAULT_BUDGET", "Budget", "Found", "SearchResult", "fault_of", "search"]


@dataclass(frozen=True, slots=True)
class Budget:
    """Per scenario: DPOR up to ``preemption_bound`` for at most
    ``dpor_executions``; then, if DPOR did not finish, ``pct_executions`` of PCT."""

    preemption_bound: int = 2
    dpor_executions: int = 1000
    pct_executions: int = 200
    pct_depth: int = 3
    time_cap: float = 20.0  # seconds per strategy, a guard only


DEFAULT_BUDGET = Budget()


@dataclass(frozen=True, slots=True)
class Found:
    """One finding, reduced to what a hunt keeps (plain data: it crosses processes)."""

    signature: Signature
    ops: tuple[OpInvolved, ...]
    message: str
    preemptions: int
    schedule: str
    strategy: str
    fault: str
    seed: int = 0  # PCT's seed (when strategy is "pct")
    check: str | None = None  # "BUG_ON" or "ASSERT" for a bug finding


@dataclass
class SearchResult:
    found: list[Found] = field(default_factory=list)
    executions: int = 0
    events: int = 0
    complete: bool = False  # DPOR covered the preemption bound


def fault_of(finding: Finding, prepared: Prepared) -> str:
    """``"hypervisor"`` or ``"caller"``: whose fault a finding is, as the runner
    judges it (``ScenarioRun.fault``, which needs only what was prepared)."""
    return str(ScenarioRun.fault(cast(Any, SimpleNamespace(prepared=prepared)), finding))


def _collect(out: SearchResult, run: ScenarioRun, how: str, seed: int = 0) -> None:
    seen = {f.signature for f in out.found}
    scenario = run.scenario
    for finding in run.findings:
        sig, ops = signature_of(finding, scenario, run.variant)
        if sig in seen:
            continue
        seen.add(sig)
        out.found.append(
            Found(
                sig,
                ops,
                finding.message,
                finding.preemptions,
                finding.schedule,
                how,
                run.fault(finding),
                seed,
                ScenarioRun.check(finding),
            )
        )


def search(
    scenario: Scenario,
    budget: Budget = DEFAULT_BUDGET,
    *,
    variant: str | None = None,
    seed: int = 0,
) -> SearchResult:
    """Explore ``scenario`` under ``budget``; every distinct signature found."""
    out = SearchResult()
    dpor = RunOptions(
        strategy="dpor",
        preemption_bound=budget.preemption_bound,
        max_executions=budget.dpor_executions,
        time_limit=budget.time_cap,
        keep_going=True,
    )
    run = run_scenario(scenario, dpor, variant=variant)
    out.executions += run.result.executions
    out.events += run.result.stats.events
    _collect(out, run, "dpor")
    # with keep_going a spent budget still says "found": count the executions
    stats = run.result.stats
    out.complete = stats.executions < budget.dpor_executions and stats.seconds < budget.time_cap
    if not out.complete and budget.pct_executions:
        pct = RunOptions(
            strategy="pct",
            preemption_bound=None,
            max_executions=budget.pct_executions,
            time_limit=budget.time_cap,
            seed=seed,
            keep_going=True,
            pct_depth=budget.pct_depth,
        )
        run = run_scenario(scenario, pct, variant=variant)
        out.executions += run.result.executions
        out.events += run.result.stats.events
        _collect(out, run, "pct", seed)
    return out
