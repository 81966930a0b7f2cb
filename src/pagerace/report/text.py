"""Counterexamples as text: a trace that reads like the code, for terminals and bugs."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from pagerace.report.trace import trace_steps
from pagerace.xen.steps import MM_C, commit_of

__all__ = [
    "collapse",
    "coverage_text",
    "finding_title",
    "format_counterexample",
    "plural",
    "replay_command",
    "source_note",
    "stop_reason",
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


def replay_command(
    source: str, schedule: str, variant: str | None = None, *, fine_scans: bool = False
) -> str:
    """The shell command that replays ``schedule``: every word quoted for a POSIX
    shell, so a file named ``my scen;id.toml`` stays one argument; ``--fine-scans``
    when the schedule is one of a run with it (it fits no other)."""
    words = ["pagerace", "replay", source, schedule]
    if variant:
        words += ["--variant", variant]
    if fine_scans:
        words.append("--fine-scans")
    return shlex.join(words)


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
                    if "lines" in last:  # a loop over two labels: both lines
                        last["lines"] = sorted({*last["lines"], *s.get("lines", ())})
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


def finding_title(finding: Any, run: Any = None) -> str:
    """The finding's kind with what kind of problem it is: ``bug (ASSERT, caller's
    fault)``.  ``run`` (a ``ScenarioRun``, duck-typed) knows the check and the fault."""
    tags = []
    if run is not None:
        check = run.check(finding)
        if check:
            tags.append(check)
        if run.fault(finding) == "caller":
            tags.append("caller's fault")
    return finding.kind + (f" ({', '.join(tags)})" if tags else "")


def stop_reason(finding: Any) -> str | None:
    """Why the execution stopped at this finding (None: it went on, or ended)."""
    reason = (finding.detail or {}).get("stop") if finding.at is None else None
    return reason if isinstance(reason, str) else None


def format_counterexample(
    finding: Any,
    *,
    source: str,
    variant: str,
    ncpus: int,
    failing_label: str | None = None,
    also: Sequence[Any] = (),
    run: Any = None,
) -> list[str]:
    """The lines of one counterexample: header, per-step trace, replay command.

    ``also`` are the other findings of the same execution (same schedule): each is
    marked in the trace where it was found."""
    group = [finding, *also]
    steps = trace_steps(finding.trace, variant=variant)
    lines = [f"{finding_title(f, run)}: {f.message}" for f in group]
    lines.append(
        f"  {finding.preemptions} preemption{'s' if finding.preemptions != 1 else ''},"
        f" {len(steps)} steps{source_note(variant)}"
    )
    indent = 34
    header = "  #    " + "".join(f"CPU{c}".ljust(indent) for c in range(min(ncpus, 4)))
    lines.append(header.rstrip())
    # findings reported while the execution went on, by where they were made
    pending = sorted((f for f in group if f.at is not None), key=lambda f: f.at)
    last_cpu = None
    for step, n in collapse(steps):
        while pending and pending[0].at <= step["index"]:
            f = pending.pop(0)
            lines.append(f"  !!  {finding_title(f, run)}: {f.message}")
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
    for f in [*pending, *(f for f in group if f.at is None)]:
        lines.append(f"  !!  {finding_title(f, run)}: {f.message}")
        reason = stop_reason(f)
        if reason:
            lines.append(f"      the execution stops here: {reason}")
    fine = run is not None and run.options.fine_scans
    lines.append(f"  replay: {replay_command(source, finding.schedule, variant, fine_scans=fine)}")
    return lines
