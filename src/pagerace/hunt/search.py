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
from typing import Any

from pagerace.explore import Finding
from pagerace.hunt.generate import touches_disjoint_pages
from pagerace.hunt.signature import OpInvolved, Signature, signature_of
from pagerace.runner import RunOptions, run_scenario
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


@dataclass
class SearchResult:
    found: list[Found] = field(default_factory=list)
    executions: int = 0
    events: int = 0
    complete: bool = False  # DPOR covered the preemption bound


def fault_of(finding: Any, scenario: Scenario) -> str:
    """``"hypervisor"`` or ``"caller"``: whose fault a finding is.

    A finding that says itself (``finding.fault``) is taken at its word.  Otherwise
    memory-safety findings, BUGs other than an ASSERT, and anything seen while the
    CPUs touch disjoint pages are the hypervisor's; a lost update, a stale TLB
    entry or an ASSERT of a caller's precondition while two CPUs work on the same
    page is what callers who break their promise to each other get.
    """
    own = getattr(finding, "fault", None)
    if isinstance(own, str) and own:
        return own
    kind = finding.kind
    caller_kinds = kind in ("lost-update", "stale-tlb") or (
        kind == "bug" and "ASSERT(" in finding.message
    )
    if caller_kinds and not touches_disjoint_pages(scenario.cpus):
        return "caller"
    return "hypervisor"


def _collect(
    out: SearchResult, scenario: Scenario, findings: tuple[Finding, ...], how: str, seed: int = 0
) -> None:
    seen = {f.signature for f in out.found}
    for finding in findings:
        sig, ops = signature_of(finding, scenario)
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
                fault_of(finding, scenario),
                seed,
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
    _collect(out, scenario, run.findings, "dpor")
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
        _collect(out, scenario, run.findings, "pct", seed)
    return out
