"""The step labels of the model, tied to Xen's source.

Every shared access of the model carries a label (``M6.9``, ``V2.4``, ``X5.8`` ...).
This module loads the table shipped beside it (steps.toml): for each label the Xen
function, a one-line description, what the step reads and writes, and its line in
xen/arch/x86/mm.c at each modelled version.  docs/xen-mapping-spec.md describes
the same steps in prose.

A label may stand for several events (the lock, the load and the unlock of one
re-check); the table gives the line of each kind of event where it differs from
the step's main access, and labels shared by functions (``L3T_LOCK``) give their
lines per function.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "MM_C",
    "Step",
    "commit_of",
    "event_lines",
    "function_range",
    "functions",
    "step",
    "steps",
    "versions",
]

MM_C = "xen/arch/x86/mm.c"

# Event kinds that may have a line of their own; every other kind uses "line".
EVENT_KEYS = ("line", "lock", "unlock", "alloc", "free", "scan", "bug")

# Entry points that are one call of another function in Xen.
_CALLS_INTO = {
    "populate_pt_range": "map_pages_to_xen",
    "destroy_xen_mappings": "modify_xen_mappings",
}

Lines = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One step label: its function, what it does, and where it is in mm.c."""

    label: str
    function: str  # "f" or "f, g" for labels used by several functions
    does: str
    reads: str
    writes: str
    # (function or "", event key) -> lines per version (empty: not in that version)
    sites: Mapping[tuple[str, str], tuple[Lines, ...]]

    def lines(self, variant: str, kind: str = "line", caller: str = "") -> Lines:
        """mm.c lines of this step's ``kind`` event at ``variant`` (``()`` if unknown)."""
        order = _table()[0]
        if variant not in order:
            return ()
        v = order.index(variant)
        caller = _CALLS_INTO.get(caller, caller)
        for key in ((caller, kind), (caller, "line"), ("", kind), ("", "line")):
            per_version = self.sites.get(key)
            if per_version is not None:
                return per_version[v]
        return ()


def _lines(value: Any, where: str) -> Lines:
    if isinstance(value, int) and not isinstance(value, bool):
        return () if value == 0 else (value,)
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        return tuple(value)
    raise ValueError(f"steps.toml: {where}: a line is an integer or a list of integers")


def _per_version(value: Any, n: int, where: str) -> tuple[Lines, ...]:
    if not isinstance(value, list) or len(value) != n:
        raise ValueError(f"steps.toml: {where}: expected one entry per version ({n})")
    return tuple(_lines(x, where) for x in value)


@cache
def _table() -> tuple[tuple[str, ...], dict[str, str], dict[str, tuple[Any, ...]], dict[str, Step]]:
    text = resources.files("pagerace.xen").joinpath("steps.toml").read_text("utf-8")
    data = tomllib.loads(text)
    order = tuple(data["versions"])
    n = len(order)
    commits = {v: data["commits"][v]["commit"] for v in order}
    funcs = {
        name: tuple(None if r == 0 else (r[0], r[1]) for r in _check_ranges(rs, n, name))
        for name, rs in data["functions"].items()
    }
    table = {}
    for label, entry in data["steps"].items():
        sites: dict[tuple[str, str], tuple[Lines, ...]] = {}
        for key in EVENT_KEYS:
            if key in entry:
                sites["", key] = _per_version(entry[key], n, f"{label}.{key}")
        for caller, per in entry.get("in", {}).items():
            for key, value in per.items():
                sites[caller, key] = _per_version(value, n, f"{label}.in.{caller}.{key}")
        table[label] = Step(
            label=label,
            function=entry["function"],
            does=entry["does"],
            reads=entry.get("reads", ""),
            writes=entry.get("writes", ""),
            sites=sites,
        )
    return order, commits, funcs, table


def _check_ranges(value: Any, n: int, name: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != n:
        raise ValueError(f"steps.toml: functions.{name}: expected one range per version ({n})")
    return value


def versions() -> tuple[str, ...]:
    """The variants whose mm.c lines the table gives, oldest first."""
    return _table()[0]


def commit_of(variant: str) -> str | None:
    """The Xen commit whose mm.c the lines of ``variant`` refer to."""
    return _table()[1].get(variant)


def functions() -> tuple[str, ...]:
    """The mm.c functions the table knows the place of."""
    return tuple(_table()[2])


def function_range(name: str, variant: str) -> tuple[int, int] | None:
    """First and last line of ``name`` in mm.c at ``variant`` (None: absent or unknown)."""
    order, _, funcs, _ = _table()
    if name not in funcs or variant not in order:
        return None
    result: tuple[int, int] | None = funcs[name][order.index(variant)]
    return result


def steps() -> Mapping[str, Step]:
    """Every step label, in the order of the table."""
    return _table()[3]


def step(label: str) -> Step | None:
    """The entry of ``label``; event suffixes such as ``M7.4:IPI`` name their step."""
    return _table()[3].get(label.split(":", 1)[0])


def event_lines(label: str, op: str, variant: str, caller: str = "") -> Lines:
    """mm.c lines of one trace event: its label, its kind (load, lock, free ...), the
    variant run and the function the CPU was called in (for shared labels)."""
    entry = step(label)
    if entry is None:
        return ()
    return entry.lines(variant, op if op in EVENT_KEYS else "line", caller)
