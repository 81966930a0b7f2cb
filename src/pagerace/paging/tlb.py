"""A per-CPU TLB and paging-structure cache, with Xen's flush semantics
(``flush_area_local``: which flags drop which entries).

The TLB holds leaf translations filled by walks.  An entry covers the whole span of
the leaf that produced it (4 KiB, or a 2M/1G superpage), as a hardware TLB caches a
superpage as one entry; it is keyed by (level, first address of the span).  The
paging-structure cache (PSC) holds, for a (level, va prefix), the frame of the table
the level-``level`` non-leaf entry pointed to, filled from the path of each walk; a
later walk starts below the deepest PSC hit, so a stale PSC entry makes the walk read
a table that may have been freed — exactly the hazard the model must show.

``flush(va, flags)`` follows ``flush_area_local``: with FLUSH_TLB or FLUSH_TLB_GLOBAL,
order 0 invalidates every TLB entry covering ``va`` (superpages included) and the
whole PSC; any other order (including "no order", 0xff) drops everything, global
entries too.  FLUSH_CACHE is only counted.  ``strict_global=True`` is the optional
strict mode in which a flush without FLUSH_TLB_GLOBAL keeps global entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pagerace.paging.flush import FLUSH_CACHE, FLUSH_TLB, FLUSH_TLB_GLOBAL, flush_order
from pagerace.paging.geometry import PAGE_SHIFT, Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import _PAGE_GLOBAL, _PAGE_PSE, ADDR_MASK
from pagerace.paging.walk import Fault, Translation, is_table_entry, translate

__all__ = ["TLB", "StaleEntry", "TLBEntry", "stale_entries"]


class TLBEntry(NamedTuple):
    """A cached leaf: the span starting at ``va`` maps to frames from ``mfn`` on."""

    va: int
    level: int
    mfn: int  # first 4 KiB frame of the span
    flags: int  # 64-bit layout, as in Translation.flags

    def page_mfn(self, va: int, geometry: Geometry) -> int:
        """The 4 KiB frame this entry gives for ``va`` (inside its span)."""
        return self.mfn + ((va & (geometry.span[self.level] - 1)) >> PAGE_SHIFT)


class TLB:
    """One CPU's TLB and paging-structure cache."""

    __slots__ = (
        "cache_flushes",
        "entries",
        "flushes",
        "geometry",
        "psc",
        "strict_global",
        "tlb_flushes",
    )

    def __init__(self, geometry: Geometry, *, strict_global: bool = False) -> None:
        self.geometry = geometry
        self.strict_global = strict_global
        self.entries: dict[tuple[int, int], TLBEntry] = {}  # (level, span va) -> entry
        self.psc: dict[tuple[int, int], int] = {}  # (level, va prefix) -> child table frame
        self.flushes = 0  # flush calls seen
        self.tlb_flushes = 0  # of which had FLUSH_TLB or FLUSH_TLB_GLOBAL
        self.cache_flushes = 0  # of which had FLUSH_CACHE (recorded only)

    def __len__(self) -> int:
        return len(self.entries)

    def copy(self) -> TLB:
        """An independent copy (each execution starts from the set-up's TLBs)."""
        other = TLB(self.geometry, strict_global=self.strict_global)
        other.entries = dict(self.entries)
        other.psc = dict(self.psc)
        other.flushes, other.tlb_flushes, other.cache_flushes = (
            self.flushes,
            self.tlb_flushes,
            self.cache_flushes,
        )
        return other

    def __repr__(self) -> str:
        return f"TLB({len(self.entries)} entries, {len(self.psc)} PSC entries)"

    def _base(self, va: int, level: int) -> int:
        return va & ~(self.geometry.span[level] - 1)

    # -- filling ----------------------------------------------------------------
    def fill(self, va: int, result: Translation | Fault) -> None:
        """Cache what a walk of ``va`` found: the PSC entries of its path, and the leaf.

        A fault caches nothing in the TLB, but the non-leaf entries it read may be
        kept in the PSC (as hardware may).
        """
        for step in result.path:
            if step.level >= 2 and is_table_entry(step.level, step.entry):
                key = (step.level, self._base(va, step.level))
                self.psc[key] = (step.entry & ADDR_MASK) >> PAGE_SHIFT
        if isinstance(result, Translation):
            base = self._base(va, result.level)
            first = result.mfn - ((va - base) >> PAGE_SHIFT)
            self.entries[(result.level, base)] = TLBEntry(base, result.level, first, result.flags)

    def lookup(self, va: int) -> TLBEntry | None:
        """The cached entry covering ``va`` (the smallest page size wins), or None."""
        for level in (1, 2, 3):
            hit = self.entries.get((level, self._base(va, level)))
            if hit is not None:
                return hit
        return None

    def lookup_or_walk(
        self, memory: PhysicalMemory, root_frame: int, va: int, *, page1gb: bool = True
    ) -> Translation | Fault:
        """What the CPU uses for ``va``: a TLB hit, else a walk that starts below the
        deepest PSC hit (or at the root), whose result is then cached.

        A TLB hit is returned as a ``Translation`` with an empty path.
        """
        hit = self.lookup(va)
        if hit is not None:
            return Translation(hit.page_mfn(va, self.geometry), hit.flags, hit.level, ())
        frame, level = root_frame, 4
        for psc_level in (2, 3, 4):
            cached = self.psc.get((psc_level, self._base(va, psc_level)))
            if cached is not None:
                frame, level = cached, psc_level - 1
                break
        result = translate(memory, frame, self.geometry, va, level=level, page1gb=page1gb)
        self.fill(va, result)
        return result

    # -- flushing -----------------------------------------------------------------
    def flush(self, va: int, flags: int) -> None:
        """``flush_area_local(va, flags)`` on this CPU."""
        self.flushes += 1
        if flags & FLUSH_CACHE:
            self.cache_flushes += 1
        if not flags & (FLUSH_TLB | FLUSH_TLB_GLOBAL):
            return
        self.tlb_flushes += 1
        if not self.entries and not self.psc:
            return  # nothing cached, nothing to drop
        if flush_order(flags) == 0:
            self.invalidate_page(va)
        elif self.strict_global and not flags & FLUSH_TLB_GLOBAL:
            self.entries = {k: e for k, e in self.entries.items() if e.flags & _PAGE_GLOBAL}
            self.psc.clear()
        else:
            self.flush_all()

    def invalidate_page(self, va: int) -> None:
        """INVLPG: every TLB entry covering ``va`` (of any page size) and the whole PSC."""
        for level in (1, 2, 3):
            self.entries.pop((level, self._base(va, level)), None)
        self.psc.clear()

    def flush_all(self) -> None:
        """Everything, global entries included."""
        self.entries.clear()
        self.psc.clear()


# -- staleness ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StaleEntry:
    """A cached TLB or PSC entry that the page tables no longer justify."""

    kind: str  # "tlb" or "psc"
    va: int  # first address the cached entry covers
    level: int  # TLB: level of the cached leaf; PSC: level of the cached non-leaf entry
    reason: str
    cached: TLBEntry | int  # the TLB entry, or the table frame a PSC entry points to


def _page_attrs(level: int, flags: int) -> int:
    """Leaf flags compared across page sizes: PSE marks the size, not an attribute."""
    return flags & ~_PAGE_PSE if level > 1 else flags


def _tlb_entry_problem(
    entry: TLBEntry, memory: PhysicalMemory, root: int, geometry: Geometry, page1gb: bool
) -> str | None:
    va = entry.va
    end = va + geometry.span[entry.level]
    want = _page_attrs(entry.level, entry.flags)
    while va < end:
        now = translate(memory, root, geometry, va, page1gb=page1gb)
        if isinstance(now, Fault):
            return (
                f"cached L{entry.level} leaf, but a walk of {va:#x} faults"
                f" ({now.reason}) at L{now.level}"
            )
        mfn = entry.page_mfn(va, geometry)
        if now.mfn != mfn or _page_attrs(now.level, now.flags) != want:
            return (
                f"cached L{entry.level} leaf gives {va:#x} -> mfn {mfn:#x} flags {entry.flags:#x},"
                f" the tables give mfn {now.mfn:#x} flags {now.flags:#x} (L{now.level})"
            )
        if now.level >= entry.level:
            return None  # one leaf of the tables covers the whole cached span
        va += geometry.span[now.level]
    return None


def _linked_entry(
    memory: PhysicalMemory, root: int, geometry: Geometry, va: int, level: int
) -> int | None:
    """The entry of level ``level`` a walk of ``va`` reads now, or None if it stops above."""
    frame = root
    for lvl in range(4, level - 1, -1):
        entry = memory.read(frame, geometry.table_offset(va, lvl))
        if lvl == level:
            return entry
        if not is_table_entry(lvl, entry):
            return None
        frame = (entry & ADDR_MASK) >> PAGE_SHIFT
    return None  # pragma: no cover


def stale_entries(
    tlb: TLB, memory: PhysicalMemory, root_frame: int, geometry: Geometry, *, page1gb: bool = True
) -> list[StaleEntry]:
    """TLB entries whose translation differs from a fresh walk (any page of their span,
    PSE aside), and PSC entries that point at a frame that is not a live table of the
    right level, or that the tables no longer link at that prefix.  Sorted by va."""
    found: list[StaleEntry] = []
    for (level, va), entry in sorted(tlb.entries.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        problem = _tlb_entry_problem(entry, memory, root_frame, geometry, page1gb)
        if problem is not None:
            found.append(StaleEntry("tlb", va, level, problem, entry))
    for (level, va), frame in sorted(tlb.psc.items(), key=lambda kv: (kv[0][1], -kv[0][0])):
        live = memory.table_level(frame)
        if live is None:
            reason = f"cached L{level} entry points at frame {frame:#x}, which is not a live table"
        elif live != level - 1:
            reason = f"cached L{level} entry points at frame {frame:#x}, a live L{live} table"
        else:
            now = _linked_entry(memory, root_frame, geometry, va, level)
            if now is not None and is_table_entry(level, now):
                if (now & ADDR_MASK) >> PAGE_SHIFT == frame:
                    continue
            reason = f"cached L{level} entry points at frame {frame:#x}, no longer linked there"
        found.append(StaleEntry("psc", va, level, reason, frame))
    return found
