"""Quiescence oracles on the page-table graph: dangling and torn entries, leaks.

Use-after-free, double and bad frees and wild writes are caught at the moment they
happen, by the explored machine; what remains for the end of an execution is the
shape of what is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import FrameKind, PhysicalMemory
from pagerace.paging.pte import ADDR_MASK, describe_pte
from pagerace.paging.walk import is_table_entry, walk_entries

__all__ = ["Problem", "graph_problems", "leaked_tables"]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # a finding kind
    step: str  # where it was noticed: "quiescence"
    message: str


def graph_problems(memory: PhysicalMemory, root: int, geometry: Geometry) -> list[Problem]:
    """Non-leaf entries that point at a freed table, a data frame, or frame 0."""
    problems = []
    for item in walk_entries(memory, root, geometry):
        if not is_table_entry(item.level, item.entry):
            continue
        child = (item.entry & ADDR_MASK) >> 12
        kind = memory.kind(child)
        if kind is FrameKind.TABLE:
            live = memory.level[child]
            if live != item.level - 1:
                problems.append(
                    Problem(
                        "torn-entry",
                        "quiescence",
                        f"L{item.level} entry for va {item.va:#x} points at frame {child:#x},"
                        f" an L{live} table, where an L{item.level - 1} table belongs",
                    )
                )
            continue
        what = describe_pte(item.entry, item.level)
        if kind is FrameKind.FREE:
            problems.append(
                Problem(
                    "use-after-free",
                    "quiescence",
                    f"L{item.level} entry for va {item.va:#x} ({what}) still points at freed"
                    f" frame {child:#x}: the next walk reads a freed table",
                )
            )
        else:
            problems.append(
                Problem(
                    "torn-entry",
                    "quiescence",
                    f"L{item.level} entry for va {item.va:#x} ({what}) points at {kind.value}"
                    f" frame {child:#x} as if it were a table",
                )
            )
    return problems


def leaked_tables(memory: PhysicalMemory, root: int, geometry: Geometry) -> list[tuple[int, int]]:
    """Live page-table frames (not the root) that no entry reaches: (frame, level)."""
    reached = {root}
    for item in walk_entries(memory, root, geometry):
        if is_table_entry(item.level, item.entry):
            reached.add((item.entry & ADDR_MASK) >> 12)
    return sorted((f, lvl) for f, lvl in memory.level.items() if f not in reached)
