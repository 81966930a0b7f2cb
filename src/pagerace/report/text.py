"""Counterexamples as text: a trace that reads like the code, for terminals and bugs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pagerace.report.trace import trace_steps
from pagerace.xen.steps import MM_C, commit_of

__all__ = [
    "collapse",
    "coverage_text",
    "format_counterexample",
    "plural",
    "replay_command",
    "source_note",
    "where",
]

# Why a search ended, as the coverage line says it (Coverage.stopped_by).
_ENDED = {
    "finding": "stopped at the first finding",
    "stop rule": "stopped once the expectation was decided",
    "nothing new": "found nothing new, so wider bounds were not explored",
    "max_executions": "cut by the execution limit",
    "time_limit": "cut by the time limit",
    "interrupted": "interrupted",
    "sampled": "sampled (random choices never cover the space)",
}


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def coverage_text(result: Any) -> str:
    """What a search covered, in one line: e.g. ``bounds 0-2 complete: clean; bound 3:
    1,204 executions, cut by the time limit`` (``result`` is an explorer ``Result``)."""
    cov = result.coverage
    stats = result.stats
    ended = _ENDED.get(cov.stopped_by, cov.stopped_by)
    if not cov.bounds:
        if cov.complete:
            bound = stats.preemption_bound
            if bound is not None and stats.bound_cut:
                return f"complete within preemption bound {bound}"
            return "complete"
        return f"{plural(result.executions, 'execution')}, {ended}"
    parts: list[str] = []
    run: list[Any] = []  # complete bounds in a row with nothing new
    seen = 0  # findings before the bounds in ``run``

    def flush() -> None:
        if run:
            first, last = run[0].bound, run[-1].bound
            span = f"bound {first}" if first == last else f"bounds {first}-{last}"
            parts.append(f"{span} complete: {'nothing new' if seen else 'clean'}")
            run.clear()

    bounds = cov.bounds
    for k, b in enumerate(bounds):
        last = k == len(bounds) - 1
        if b.complete and not b.new_findings and not (last and cov.stopped_by != "complete"):
            run.append(b)
            continue
        flush()
        seen += b.new_findings
        found = f", {plural(b.new_findings, 'new finding')}" if b.new_findings else ""
        if (b.complete and not last) or (last and cov.stopped_by == "complete"):
            parts.append(f"bound {b.bound} complete{found}")
        elif b.complete:  # the last bound, finished, and the search stopped there
            parts.append(f"bound {b.bound} complete{found}, {ended}")
        else:
            parts.append(f"bound {b.bound}: {plural(b.executions, 'execution')}{found}, {ended}")
    flush()
    if cov.stopped_by == "complete":
        top = bounds[-1].bound
        if stats.bound_cut:
            parts.append(f"complete within preemption bound {top}")
        else:
            parts.append(f"bound {top} excluded nothing, so the search is complete")
    return "; ".join(parts)


def replay_command(source: str, schedule: str, variant: str | None = None) -> str:
    cmd = f"pagerace replay {source} {schedule}"
    return cmd + (f" --variant {variant}" if variant else "")


def source_note(variant: str) -> str:
    """``; function:line in xen/arch/x86/mm.c at <commit>`` for a variant the step
    table knows (empty otherwise): says once what the numbers of a trace are."""
    commit = commit_of(variant)
    return f"; function:line in {MM_C} at {commit[:10]}" if commit else ""


def where(step: dict[str, Any]) -> str:
    """``map_pages_to_xen:5150``: a step's function and its mm.c line(s), if known."""
    lines = step.get("lines")
    fn = step["function"]
    return f"{fn}:{','.join(map(str, lines))}" if lines else fn


def collapse(steps: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Merge runs in which one CPU reads the same entry again and again (the live
    re-reads of a shatter's fill loop, M6.6/M6.7, X2.3, X4.4)."""
    out: list[tuple[dict[str, Any], int]] = []
    for s in steps:
        if out:
            last, n = out[-1]
            if (
                s["cpu"] == last["cpu"]
                and s["op"] == last["op"] == "load"
                and s.get("frame") == last.get("frame")
                and s.get("entry") == last.get("entry")
                and s.get("value") == last.get("value")
                and s.get("frame_state") == last.get("frame_state")
                and not s["preempted"]
            ):
                if s["step"] not in last["step"].split("/"):
                    last = {**last, "step": f"{last['step']}/{s['step']}"}
                out[-1] = (last, n + 1)
                continue
        out.append((s, 1))
    # only loops are worth folding: short runs stay step by step
    folded: list[tuple[dict[str, Any], int]] = []
    for first, n in out:
        if n >= 4 and n > len(first["step"].split("/")):  # a label repeats: a loop
            folded.append((first, n))
        else:
            start = steps.index(first) if first in steps else None
            if start is None:  # relabelled copy: find the original by index
                start = next(k for k, x in enumerate(steps) if x["index"] == first["index"])
            folded.extend((x, 1) for x in steps[start : start + n])
    return folded


def format_counterexample(
    finding: Any, *, source: str, variant: str, ncpus: int, failing_label: str | None = None
) -> list[str]:
    """The lines of one counterexample: header, per-step trace, replay command."""
    steps = trace_steps(finding.trace, variant=variant)
    lines = [
        f"{finding.kind}: {finding.message}",
        f"  {finding.preemptions} preemption{'s' if finding.preemptions != 1 else ''},"
        f" {len(steps)} steps{source_note(variant)}",
    ]
    indent = 34
    header = "  #    " + "".join(f"CPU{c}".ljust(indent) for c in range(min(ncpus, 4)))
    lines.append(header.rstrip())
    last_cpu = None
    for step, n in collapse(steps):
        cpu = step["cpu"]
        if step["preempted"] and last_cpu is not None:
            lines.append(f"       --- preemption: CPU{last_cpu} -> CPU{cpu} ---")
        last_cpu = cpu
        pad = " " * (4 * cpu)
        label = step["step"] or ""
        text = step["text"]
        if step["op"] == "call":
            line = f"{pad}CPU{cpu} calls {text}"
        elif step["op"] == "return":
            line = f"{pad}CPU{cpu} {text}"
        else:
            times = f" (x{n})" if n > 1 else ""
            line = f"{pad}CPU{cpu} {label:<9} {where(step):<24} {text}{times}"
        lines.append(f"  {step['index']:>4} {line}")
    lines.append(f"  !!  {finding.kind}: {finding.message}")
    lines.append(f"  replay: {replay_command(source, finding.schedule, variant)}")
    return lines
