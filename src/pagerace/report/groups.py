"""Findings grouped by kind and object, for runs that collect many of them.

A ``--keep-going`` run lists each distinct finding once, and the same problem is
often found at several steps (a use-after-free of one freed table is met by every
load through the stale pointer).  A group is the findings of one kind on one object:
the frame (and the table it was) where the failing step acted, or "at quiescence"
for the oracles that judge the final state.  Each group has one representative, the
finding with the fewest preemptions (then the shortest trace).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FindingGroup", "group_findings", "object_of"]


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one ``kind`` on one ``object``; ``representative`` first."""

    kind: str
    object: str
    findings: tuple[Any, ...]

    @property
    def representative(self) -> Any:
        return self.findings[0]

    @property
    def steps(self) -> list[str]:
        """The step labels where the group's findings happened, each once."""
        out: list[str] = []
        for f in self.findings:
            key = f.key
            label = key[1] if isinstance(key, tuple) and len(key) > 1 else None
            if isinstance(label, str) and label not in out:
                out.append(label)
        return out

    def title(self) -> str:
        n = len(self.findings)
        where = ", ".join(self.steps)
        steps = f" at {where}" if where and where != "quiescence" else ""
        return f"{self.kind} {self.object}: {n} finding{'s' if n != 1 else ''}{steps}"


# Kinds that are about one frame: a freed, reused or bogus table.
_FRAME_KINDS = ("use-after-free", "double-free", "bad-free", "wild-write", "torn-entry")
_WHERE = re.compile(r"^CPU\d+ \S+: ")


def object_of(finding: Any) -> str:
    """What the finding happened to: for memory-safety kinds the frame the failing
    thread's last memory step touched (``on frame 0x1000002, an L2 table``); for the
    oracles at the end ``at quiescence``; otherwise what its message says, without
    the CPU and step (``ASSERT(...) in modify_xen_mappings``)."""
    if finding.thread is None:
        return "at quiescence"
    if finding.kind not in _FRAME_KINDS:
        return "(" + _WHERE.sub("", finding.message) + ")"
    trace = finding.trace if finding.at is None else finding.trace[: finding.at]
    for ev in reversed(trace):
        d = ev.detail
        if ev.thread == finding.thread and d and d.get("frame") is not None:
            level = d.get("level")
            table = f", an L{level} table" if level else ""
            return f"on frame {d['frame']:#x}{table}"
    return f"on CPU{finding.thread}"


def group_findings(findings: Sequence[Any], first_kinds: Iterable[str] = ()) -> list[FindingGroup]:
    """Groups of ``findings`` by kind and object; kinds in ``first_kinds`` (e.g. the
    expected ones) come first, then groups in the order they were first found."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        groups.setdefault((f.kind, object_of(f)), []).append(f)
    first = list(first_kinds)
    order = sorted(
        groups,
        key=lambda k: first.index(k[0]) if k[0] in first else len(first),
    )  # stable: within a rank, the order of discovery
    return [
        FindingGroup(
            kind,
            obj,
            tuple(sorted(groups[kind, obj], key=lambda f: (f.preemptions, len(f.trace)))),
        )
        for kind, obj in order
    ]
