"""The page-table tree as text: what ``pagerace show`` prints.

Entries that continue one another (same level and flags, contiguous frames, or the
same non-present value) are folded into one line, so a 1:1 directmap of gigabytes
fits on a screen.
"""

from __future__ import annotations

from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import ADDR_MASK, describe_flags, pte_flags
from pagerace.paging.walk import is_leaf_entry, is_table_entry

__all__ = ["format_tree"]

_SIZE = {1: "4K", 2: "2M", 3: "1G"}


def _size(level: int, g: Geometry) -> str:
    if g.entries == 512:
        return _SIZE.get(level, "")
    return f"{g.span[level] // 1024}K" if g.span[level] < 1 << 20 else f"{g.span[level] >> 20}M"


def format_tree(memory: PhysicalMemory, root: int, geometry: Geometry) -> list[str]:
    lines = [f"idle_pg_table (L4 table, frame {root:#x})"]
    _table(memory, root, 4, 0, geometry, "", lines)
    tables = len(memory.level) - 1
    lines.append(f"{tables} page-table page{'s' if tables != 1 else ''} besides the root")
    return lines


def _table(
    memory: PhysicalMemory,
    frame: int,
    level: int,
    base: int,
    g: Geometry,
    prefix: str,
    lines: list[str],
) -> None:
    words = [memory.read(frame, i) for i in range(g.entries)]
    groups: list[tuple[int, int]] = []  # (first index, count)
    i = 0
    n = g.entries
    while i < n:
        e = words[i]
        if not e:
            i += 1
            continue
        j = i + 1
        if not is_table_entry(level, e):
            step = g.pages(level) << 12 if is_leaf_entry(level, e) else 0
            while (
                j < n
                and words[j]
                and words[j] == e + step * (j - i)
                and not is_table_entry(level, words[j])
            ):
                j += 1
        groups.append((i, j - i))
        i = j
    for k, (i, count) in enumerate(groups):
        last = k == len(groups) - 1
        branch = "└─ " if last else "├─ "
        e = words[i]
        va = g.canonical(base + i * g.span[level])
        idx = f"L{level}[{i}]" if count == 1 else f"L{level}[{i}..{i + count - 1}]"
        child = (e & ADDR_MASK) >> 12
        flags = describe_flags(pte_flags(e), level)
        if is_table_entry(level, e):
            kind = memory.kind(child).value
            what = (
                f"L{level - 1} table {child:#x}"
                if kind == "table"
                else f"{kind} frame {child:#x} (!)"
            )
            lines.append(f"{prefix}{branch}{idx} {va:#x} -> {what}  {flags}")
            _table(
                memory,
                child,
                level - 1,
                base + i * g.span[level],
                g,
                prefix + ("   " if last else "│  "),
                lines,
            )
        elif is_leaf_entry(level, e):
            pages = g.pages(level)
            if count == 1:
                target = f"mfn {child:#x}"
            else:
                target = f"mfn {child:#x}..{child + (count - 1) * pages:#x}"
            lines.append(
                f"{prefix}{branch}{idx} {va:#x} {count if count > 1 else ''}"
                f"{' x ' if count > 1 else ''}{_size(level, g)} {'leaves' if count > 1 else 'leaf'}"
                f" {target}  {flags}"
            )
        else:
            lines.append(
                f"{prefix}{branch}{idx} {va:#x} not present, raw {e:#018x}"
                + (f" (x{count})" if count > 1 else "")
            )
