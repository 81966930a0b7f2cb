"""Counterexamples as text: a trace that reads like the code, for terminals and bugs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pagerace.report.trace import trace_steps
from pagerace.xen.steps import MM_C, commit_of

__all__ = ["collapse", "format_counterexample", "replay_command", "source_note", "where"]


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
