"""Findings of ``explore()`` programs as text: what went wrong, and the execution that
led there, one line per step, with each value and label said once.

``format_finding(finding)`` is for any program run under ``pagerace.explore`` (it reads
only the explorer's ``Finding`` and ``TraceEvent`` fields; a finding reported with
``ctx.report``, after which the execution went on, is marked ``!!`` where it was
made); scenario runs have the richer page-table trace of ``pagerace.report.text``.  Example::

    assert: lost increment (in the check)
      1 preemption, 4 steps; replay with PAGERACE_SCHEDULE=v1:0.1x2.0
         0 T0 load x = 0
           --- preemption: T0 -> T1 ---
         1     T1 load x = 0
         2     T1 store x = 1
         3 T0 store x = 1
      PAGERACE_SCHEDULE=v1:0.1x2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pagerace.report.trace import preemption_points

__all__ = ["format_finding", "format_findings", "step_text"]


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) and value > 0xFFFF:
        return hex(value)
    return repr(value)


def step_text(ev: Any) -> str:
    """One event: its label, then what it read or wrote (``load x = 0``, ``cas x 1 -> 2``),
    then any other detail as ``key=value``; nothing is said twice."""
    d = ev.detail if isinstance(ev.detail, dict) else {}
    text = str(ev.label)
    shown: set[str] = set()
    if "old" in d and "new" in d:
        text += f" {_value(d['old'])} -> {_value(d['new'])}"
        shown |= {"old", "new"}
    elif "value" in d:
        text += f" = {_value(d['value'])}"
        shown.add("value")
    if "ok" in d:
        text += " (succeeded)" if d["ok"] else " (failed)"
        shown.add("ok")
    rest = [f"{k}={_value(v)}" for k, v in d.items() if k not in shown and k != "traceback"]
    if rest:
        text += " [" + ", ".join(rest) + "]"
    if ev.kind == "note":
        text = "note: " + text
    return text


def format_finding(finding: Any, *, env: str = "PAGERACE_SCHEDULE") -> str:
    """The finding and its execution, ready for an ``AssertionError`` (see the module
    docstring); the last line sets ``env`` to the schedule that replays it."""
    where = "in the check" if finding.thread is None else f"in thread {finding.thread}"
    n = finding.preemptions
    steps = list(finding.trace)
    lines = [
        f"{finding.kind}: {finding.message} ({where})",
        f"  {n} preemption{'s' if n != 1 else ''}, {len(steps)} step"
        f"{'s' if len(steps) != 1 else ''}; replay with {env}={finding.schedule}",
    ]
    preempted = preemption_points(steps)
    last: int | None = None
    mark = f"  !!  {finding.kind}: {finding.message}"
    for k, ev in enumerate(steps):
        if finding.at is not None and k == finding.at:
            lines.append(mark)  # reported here; the execution went on
        if ev.index in preempted and last is not None and ev.thread != last:
            lines.append(f"       --- preemption: T{last} -> T{ev.thread} ---")
        if ev.kind != "note":
            last = ev.thread
        pad = "    " * max(ev.thread, 0)
        lines.append(f"  {ev.index:>4} {pad}T{ev.thread} {step_text(ev)}")
    if finding.at is not None and finding.at >= len(steps):
        lines.append(mark)
    detail = finding.detail if isinstance(finding.detail, dict) else {}
    if detail.get("traceback"):
        lines.append("  traceback:")
        lines.extend("    " + ln for ln in str(detail["traceback"]).rstrip().splitlines())
    lines.append(f"  {env}={finding.schedule}")
    return "\n".join(lines)


def format_findings(findings: Sequence[Any], *, env: str = "PAGERACE_SCHEDULE") -> str:
    """Every finding, first to last, separated by a blank line."""
    return "\n\n".join(format_finding(f, env=env) for f in findings)
