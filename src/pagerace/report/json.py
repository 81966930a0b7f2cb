"""The machine-readable result of a run (ARCHITECTURE.md "Command line").

Every 64-bit value is a hex string (JavaScript numbers cannot hold them); the
initial page-table state and each step's effects are included so that a viewer
can rebuild the state at any step (the HTML report does exactly that).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pagerace import __version__
from pagerace.report.text import coverage_text, replay_command, stop_reason
from pagerace.report.trace import describe_steps, hex64, source_of, trace_steps
from pagerace.userio import write_atomic

__all__ = ["result_dict", "write_json"]


def _initial_state(prepared: Any) -> dict[str, Any]:
    memory = prepared.memory
    tables = {}
    for frame, level in sorted(memory.level.items()):
        tables[hex(frame)] = {
            "level": level,
            "gen": memory.gen.get(frame, 0),
            "entries": {str(i): hex64(e) for i, e in enumerate(memory.words[frame]) if e},
        }
    tlbs = []
    for tlb in prepared.tlbs:
        tlbs.append(
            [
                {"va": hex64(e.va), "level": e.level, "mfn": hex(e.mfn), "flags": hex64(e.flags)}
                for e in tlb.entries.values()
            ]
        )
    return {"root": hex(prepared.root), "tables": tables, "tlbs": tlbs}


def _steps_json(trace: Any, variant: str) -> list[dict[str, Any]]:
    steps = trace_steps(trace, variant=variant)
    raw = {ev.index: ev for ev in trace}
    for step in steps:
        d = raw[step["index"]].detail or {}
        child = d.get("child")
        if child is not None:
            step["child"] = {str(i): hex64(e) for i, e in child.items()}
    return steps


def _expectation(expected: Any) -> dict[str, Any] | None:
    if expected is None:
        return None
    return {
        "require": list(expected.require),
        "forbid": list(expected.forbid),
        "allow": list(expected.allow) if expected.allow is not None else None,
        "text": expected.describe(),
    }


def _open_finding(run: Any) -> int:
    required = run.expected.require if run.expected is not None else ()
    for i, f in enumerate(run.result.findings):
        if f.kind in required:
            return i
    return 0


def result_dict(run: Any, *, with_trace: bool = True) -> dict[str, Any]:
    """The JSON-ready dict of a ``ScenarioRun``."""
    scenario = run.scenario
    result = run.result
    stats = result.stats
    findings = []
    for f in result.findings:
        item: dict[str, Any] = {
            "kind": f.kind,
            "message": f.message,
            "fault": run.fault(f),
            "step": f.key[1] if isinstance(f.key, tuple) and len(f.key) > 1 else None,
            "cpu": f.thread,
            "schedule": f.schedule,
            "preemptions": f.preemptions,
            "at": f.at,
            "stops_execution": stop_reason(f),
            "replay": replay_command(
                scenario.source, f.schedule, run.variant, fine_scans=run.options.fine_scans
            ),
        }
        check = run.check(f)
        if check is not None:
            item["check"] = check
        if with_trace:
            item["trace"] = _steps_json(f.trace, run.variant)
        findings.append(item)
    return {
        "pagerace": __version__,
        "scenario": scenario.name,
        "source": scenario.source,
        "description": scenario.description,
        "variant": run.variant,
        "entries": scenario.entries,
        "page1gb": scenario.page1gb,
        "strategy": run.options.strategy,
        "preemption_bound": run.options.preemption_bound,
        "status": run.status,
        "incomplete_reasons": run.incomplete_reasons,
        "checks_skipped": [{"check": c, "reason": why} for c, why in run.checks_skipped],
        "caller_faults_only": run.caller_faults_only,
        "expected": list(run.expected.require) if run.expected is not None else None,
        "expectation": _expectation(run.expected),
        "verdict": (
            {"status": run.verdict.status, "reason": run.verdict.reason}
            if run.verdict is not None
            else None
        ),
        "meets_expectation": run.meets_expectation,
        "cpus": [[op.describe() for op in ops] for ops in scenario.cpus],
        "setup": [op.describe() for op in scenario.setup],
        "stats": {
            "executions": stats.executions,
            "events": stats.events,
            "seconds": round(run.seconds, 4),
            "explore_seconds": round(stats.seconds, 4),
            "executions_per_second": round(stats.executions_per_second, 1),
            "cut_executions": stats.cut_executions,
            "max_depth": stats.max_depth,
            "bound_cut": stats.bound_cut,
            "preemption_bound_reached": stats.preemption_bound,
            "units": stats.units,
            "units_left": stats.units_left,
            "remaining_estimate": stats.remaining_estimate,
            "resumed_executions": stats.resumed_executions,
        },
        "coverage": {
            "stopped_by": result.coverage.stopped_by,
            "complete": result.coverage.complete,
            "text": coverage_text(result),
            "bounds": [b._asdict() for b in result.coverage.bounds],
        },
        "initial": _initial_state(run.prepared),
        "findings": findings,
        # the finding a viewer opens on: the first of an expected kind, else the first
        "open_finding": _open_finding(run),
        # what the steps' "lines" refer to, and every label of the traces explained
        "xen_source": source_of(run.variant),
        "steps": describe_steps(
            (s["step"] for f in findings for s in f.get("trace", ())), run.variant
        ),
    }


def write_json(run: Any, path: str) -> None:
    """Write the result of ``run`` to ``path`` atomically ('-': standard output)."""
    text = json.dumps(result_dict(run), indent=1) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    write_atomic(path, text)
