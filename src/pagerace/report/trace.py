"""A finding's trace as steps a hypervisor developer can read.

``trace_steps`` turns the explorer's trace records (with the explored machine's
details) into plain dicts: the CPU, the step label, the Xen function and its line
in xen/arch/x86/mm.c at the variant run (pagerace.xen.steps), the operation, the
entry touched (table level, frame, generation, index) with old and new values as
hex strings and decoded, locks, allocations, frees, flushes, and where a CPU was
preempted.  The text, JSON and HTML reports are all made from these dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pagerace.paging.flush import describe_flush
from pagerace.paging.pte import INVALID_MFN, describe_pte
from pagerace.xen.steps import MM_C, commit_of, event_lines, versions
from pagerace.xen.steps import step as step_entry
from pagerace.xen.steps import steps as all_steps

__all__ = [
    "describe_steps",
    "function_of",
    "hex64",
    "preemption_points",
    "source_of",
    "trace_steps",
]

_NOT_XEN = {"HW": "hardware walk"}


def function_of(label: str, fallback: str = "") -> str:
    """The Xen function a step label belongs to (V2.4 -> virt_to_xen_l2e); labels
    used by several functions (L3T_LOCK) and unknown ones give ``fallback``."""
    entry = step_entry(label)
    if entry is None:
        return _NOT_XEN.get(label, fallback)
    return fallback if "," in entry.function else entry.function


def source_of(variant: str) -> dict[str, Any]:
    """What a step's ``lines`` refer to: the file and the Xen commit of ``variant``."""
    return {"file": MM_C, "variant": variant, "commit": commit_of(variant)}


def describe_steps(labels: Iterable[str], variant: str) -> dict[str, dict[str, Any]]:
    """The description of each known step label: function, what it does, reads and
    writes, its main mm.c line(s) at ``variant`` and at every modelled version."""
    wanted = {entry.label for label in labels if (entry := step_entry(label)) is not None}
    out: dict[str, dict[str, Any]] = {}
    for entry in all_steps().values():  # in the order of the table
        if entry.label not in wanted:
            continue
        out[entry.label] = {
            "function": entry.function,
            "does": entry.does,
            "reads": entry.reads,
            "writes": entry.writes,
            "lines": list(entry.lines(variant)),
            "at": {v: list(entry.lines(v)) for v in versions()},
        }
    return out


def hex64(value: int | None) -> str | None:
    return None if value is None else f"{value:#018x}"


def preemption_points(trace: Sequence[Any]) -> set[int]:
    """Indices of scheduling events where the CPU changed although the previous one
    could have gone on (it had more to do and was not waiting for a lock)."""
    holders: dict[Any, int] = {}
    points: set[int] = set()
    last_event_of: dict[int, int] = {}
    events = [ev for ev in trace if ev.kind != "note"]
    for k, ev in enumerate(events):
        last_event_of[ev.thread] = k
    prev = None
    for k, ev in enumerate(events):
        if prev is not None and ev.thread != prev and last_event_of.get(prev, -1) > k:
            # did the previous CPU's next event wait for a lock held by someone else?
            nxt = next(e for e in events[k:] if e.thread == prev)
            waiting = False
            if nxt.kind == "acquire":
                name = nxt.footprint[0][0]
                waiting = holders.get(name, prev) != prev
            if not waiting:
                points.add(ev.index)
        if ev.kind == "acquire":
            holders[ev.footprint[0][0]] = ev.thread
        elif ev.kind == "release":
            holders.pop(ev.footprint[0][0], None)
        prev = ev.thread
    return points


def trace_steps(
    trace: Sequence[Any], cpu_functions: bool = True, variant: str | None = None
) -> list[dict[str, Any]]:
    """Readable steps of a trace, in execution order.  With ``variant``, each step
    has ``lines``: its line(s) in mm.c at that variant (empty when not known)."""
    preempted = preemption_points(trace)
    steps: list[dict[str, Any]] = []
    function = {}
    for ev in trace:
        d = ev.detail or {}
        op = d.get("op", ev.kind)
        cpu = ev.thread
        if op == "call":
            function[cpu] = d.get("function", "")
        called = function.get(cpu, "")
        fn = function_of(ev.label) or d.get("function") or called
        if ev.kind in ("acquire", "release"):
            op = "lock" if ev.kind == "acquire" else "unlock"
            fn = function_of(ev.label, called)
        step: dict[str, Any] = {
            "index": ev.index,
            "cpu": cpu,
            "step": ev.label if op not in ("call", "return") else "",
            "function": fn,
            "op": op,
            "preempted": ev.index in preempted,
        }
        if variant is not None:
            step["lines"] = list(event_lines(ev.label, op, variant, called)) if step["step"] else []
        if ev.kind in ("acquire", "release"):
            name = ev.footprint[0][0][1]
            step["lock"] = str(name)
            step["text"] = _lock_text(ev.label, ev.kind, step["lock"])
        elif op in ("load", "store", "scan"):
            level = d.get("level")
            entry_level = level
            step.update(
                frame=hex(d["frame"]),
                gen=d.get("gen"),
                table_level=level,
                frame_state=d.get("state"),
                entry=d.get("index"),
            )
            where = _where(d)
            if op == "load":
                step["value"] = hex64(d["value"])
                step["decoded"] = describe_pte(d["value"], entry_level or 1)
                step["text"] = f"read {where} = {step['decoded']}"
            elif op == "store":
                step["old"] = hex64(d["old"])
                step["new"] = hex64(d["new"])
                step["decoded_old"] = describe_pte(d["old"], entry_level or 1)
                step["decoded_new"] = describe_pte(d["new"], entry_level or 1)
                step["text"] = f"write {where}: {step['decoded_old']} -> {step['decoded_new']}"
            else:
                step["text"] = f"read all entries of {_table(d)}"
        elif op == "alloc":
            if d.get("frame") is None:
                step["text"] = f"alloc_xen_pagetable() for an L{d.get('level')} table: NULL"
            else:
                step.update(frame=hex(d["frame"]), gen=d.get("gen"), table_level=d.get("level"))
                step["text"] = (
                    f"alloc_xen_pagetable() = frame {d['frame']:#x} (L{d.get('level')} table)"
                )
        elif op == "free":
            step.update(frame=hex(d["frame"]), gen=d.get("gen"), table_level=d.get("level"))
            step["text"] = f"free_xen_pagetable(frame {d['frame']:#x}, L{d.get('level')} table)"
        elif op == "flush":
            step.update(va=hex64(d["va"]), flags=d["flags"], cpus=d.get("cpus"))
            step["text"] = describe_flush(d["va"], d["flags"]) + (
                "" if len(d.get("cpus") or ()) != 1 else f" (local to CPU{d['cpus'][0]}: IRQs off)"
            )
        elif op == "access":
            step["va"] = hex64(d["va"])
            if "fault" in d:
                step["text"] = f"CPU reads {d['va']:#x}: page fault ({d['fault']}) at L{d['level']}"
            else:
                step.update(mfn=hex(d["mfn"]), level=d["level"])
                step["text"] = (
                    f"CPU reads {d['va']:#x}: walk gives mfn {d['mfn']:#x} (L{d['level']} leaf),"
                    " cached in its TLB"
                )
        elif op == "walk-retry":
            step["text"] = f"walk of {d['va']:#x} restarted: the path changed"
        elif op == "call":
            step["text"] = d.get("text", "")
        elif op == "return" and "mfn" in d:  # a lookup returns a frame number
            mfn = d["mfn"]
            step["mfn"] = "INVALID_MFN" if mfn == INVALID_MFN else hex(mfn)
            step["text"] = f"{d.get('function')} returns mfn {step['mfn']}"
        elif op == "return":
            step["rc"] = d.get("rc")
            step["text"] = f"{d.get('function')} returns {d.get('rc')}"
        else:
            step["text"] = ev.label
        steps.append(step)
    return steps


def _lock_text(label: str, kind: str, lock: str) -> str:
    if label in ("local_irq_disable", "local_irq_enable"):
        return f"{label}()"
    if label.endswith(":IPI"):
        return f"flush_area: IPI, wait for the acknowledgement ({lock})"
    if label.endswith(":ack"):
        return "the IPI was acknowledged"
    return f"{'spin_lock' if kind == 'acquire' else 'spin_unlock'}({lock})"


def _table(d: dict[str, Any]) -> str:
    level = d.get("level")
    state = d.get("state")
    gen = d.get("gen")
    what = f"L{level} table" if level else f"{state} frame"
    extra = ", freed" if state == "free" else ""
    return f"{what} {d['frame']:#x} (gen {gen}{extra})"


def _where(d: dict[str, Any]) -> str:
    return f"entry {d['index']} of {_table(d)}"
