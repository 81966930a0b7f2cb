"""The functional oracle: each operation against what it promises.

Every other oracle compares the model with itself (serial orders, the page-table
graph, the TLBs); this one compares the translation an operation leaves with the
translation its contract describes:

* ``map_pages_to_xen(virt, mfn, nr, flags)`` with present flags: every VA in
  ``[virt, virt + nr * 4 KiB)`` translates to ``mfn + i`` with ``flags``;
* unmapping (``map_pages_to_xen`` with flags lacking _PAGE_PRESENT, as in
  ``map_pages_to_xen(virt, INVALID_MFN, nr, _PAGE_NONE)``), ``populate_pt_range``,
  ``destroy_xen_mappings`` and ``modify_xen_mappings`` with an ``nf`` that masks to
  non-present: the range ends unmapped;
* ``modify_xen_mappings(s, e, nf)`` with present ``nf``: every present page of the
  range keeps its frame and gets ``(old & ~M) | (nf & M)`` with M = NX|D|A|RW|P (the
  only bits Xen's modify applies); non-present pages stay unmapped;
* ``lookup`` (``xen_map_to_mfn``): returns the frame a mapped VA is mapped to
  (for an unmapped VA it promises no value: Xen ASSERTs the VA is mapped) and
  changes nothing;
* and none of them changes the translation of any VA outside its range.

Translations are what the CPU sees (the hardware walk): a superpage's frame is
its address bits above its size (bit 12 is its PAT bit, bits 13.. below the size
are reserved and fault), flags are compared in the 4 KiB-leaf layout (PSE dropped,
a superpage's PAT moved to bit 7), so one 2 MiB leaf and 512 4 KiB leaves that map
the same frames with the same attributes are the same translation.  Inside the
range Accessed and Dirty are ignored: the CPU sets them, and Xen's own "unchanged"
test (M3, M6) treats mappings that differ only there as equal; outside the range
nothing may change at all.  Translations are compared as maximal runs of
contiguous frames, never page by page.

Two more promises, about page tables rather than translations:

* ``alloc-on-unmap``: an operation that only removes mappings (unmapping, destroy,
  removing modify; not populate, whose purpose is to allocate) leaves no newly
  allocated page table that maps nothing.  Shattering a superpage the range only
  partly covers allocates a table that still maps the rest: that is not reported.
* ``empty-table``: after a destroy (or removing modify) of ``[s, e)``, no L1 or L2
  table whose whole span lies in ``[s, e)`` is still linked: it maps nothing and
  should have been freed.  L3 tables are exempt: Xen never frees them (their L4
  entries are shared by every page-table root).

``judge`` checks one operation from two snapshots; ``OpTracker`` (op_tracker.py)
does it for the operations of explored CPUs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pagerace.checks.memo import MISSING, Memo, memory_key, memory_weight, walked_key
from pagerace.checks.memory_safety import Problem
from pagerace.paging.dump import StateDump, dump_state
from pagerace.paging.geometry import PAGE_SHIFT, PAGE_SIZE, Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PSE,
    ADDR_MASK,
    INVALID_MFN,
    MASK64,
    describe_flags,
    get_pte_flags,
    put_pte_flags,
)

__all__ = [
    "FUNCTIONAL_KINDS",
    "MappingRun",
    "Promise",
    "Snapshot",
    "judge",
    "judge_runs",
    "live_tables",
    "mappings",
    "promise_of",
    "snapshot",
    "translation",
]

FUNCTIONAL_KINDS = ("wrong-mapping", "alloc-on-unmap", "empty-table")

# (va, pages, mfn, flags): ``pages`` 4 KiB pages from ``va`` map ``mfn``, ``mfn + 1``,
# ...; flags in the 64-bit layout of a 4 KiB leaf
MappingRun = tuple[int, int, int, int]

_AD = _PAGE_ACCESSED | _PAGE_DIRTY
_NX64 = 1 << 63
_PAT4K = 0x80  # bit 7 of a 4 KiB leaf
_ALL = MASK64
_STEP = "functional"

# effects
MAP = "map"
UNMAP = "unmap"
MODIFY = "modify"
LOOKUP = "lookup"
UNCHECKED = "unchecked"  # a present map of INVALID_MFN: nothing is promised in range


@dataclass(frozen=True, slots=True)
class Promise:
    """What one operation promises about ``[lo, hi)`` (canonical addresses)."""

    op: Any  # the operation (its ``describe()`` names the call in messages)
    effect: str  # MAP, UNMAP, MODIFY, LOOKUP or UNCHECKED
    lo: int
    hi: int
    mfn: int = 0  # MAP: the first frame
    flags: int = 0  # MAP: the leaf flags; MODIFY: nf & M (64-bit layout)
    keep: int = _ALL  # MODIFY: the bits of the old flags kept (~M)
    removes_only: bool = False  # alloc-on-unmap applies
    reclaims: bool = False  # empty-table applies
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        # (kept: a promise is a key of every verdict memo lookup)
        h = self._hash
        if h is None:
            h = hash(
                (
                    self.op,
                    self.effect,
                    self.lo,
                    self.hi,
                    self.mfn,
                    self.flags,
                    self.keep,
                    self.removes_only,
                    self.reclaims,
                )
            )
            object.__setattr__(self, "_hash", h)
        return h

    @property
    def what(self) -> str:
        op = self.op
        return op.describe() if hasattr(op, "describe") else str(op)

    @property
    def range_text(self) -> str:
        return f"[{self.lo:#x}, {self.hi:#x})"


def promise_of(op: Any, *, nx: bool = True) -> Promise | None:
    """The promise of a scenario operation (duck-typed on ``op.op``), or None for
    one that changes no mapping and returns nothing to check (``access``)."""
    try:
        return _promise_of(op, nx)
    except TypeError:  # an unhashable operation
        return _promise_of.__wrapped__(op, nx)


@lru_cache(maxsize=4096)
def _promise_of(op: Any, nx: bool) -> Promise | None:
    kind = getattr(op, "op", None)
    what = op
    if kind == "map":
        lo, hi = op.virt, op.virt + op.nr * PAGE_SIZE
        flags = _as_passed(op.flags)
        if not flags & _PAGE_PRESENT:
            return Promise(what, UNMAP, lo, hi, removes_only=True)
        if op.mfn == INVALID_MFN:
            return Promise(what, UNCHECKED, lo, hi)
        return Promise(what, MAP, lo, hi, mfn=op.mfn, flags=flags)
    if kind == "populate":
        return Promise(what, UNMAP, op.virt, op.virt + op.nr * PAGE_SIZE)
    if kind == "destroy":
        return Promise(what, UNMAP, op.s, op.e, removes_only=True, reclaims=True)
    if kind == "modify":
        mask = (_NX64 if nx else 0) | _PAGE_DIRTY | _PAGE_ACCESSED | 0x2 | _PAGE_PRESENT
        nf = _as_passed(op.nf) & mask
        if not nf & _PAGE_PRESENT:
            return Promise(what, UNMAP, op.s, op.e, removes_only=True, reclaims=True)
        return Promise(what, MODIFY, op.s, op.e, flags=nf, keep=_ALL & ~mask)
    if kind == "lookup":
        va = getattr(op, "virt", getattr(op, "va", None))
        if va is None:
            return None
        page = va & ~(PAGE_SIZE - 1)
        return Promise(what, LOOKUP, page, page + PAGE_SIZE)
    return None


def _as_passed(flags: int) -> int:
    """64-bit-layout flags as Xen receives them: its 24-bit flag word has no room for
    the address bits (bit 12, a superpage's PAT), so a caller's value loses them."""
    return put_pte_flags(get_pte_flags(flags))


# -- translations -------------------------------------------------------------------
def mappings(state: StateDump, geometry: Geometry, *, page1gb: bool = True) -> list[MappingRun]:
    """The hardware translation of a dumped state, as maximal runs ascending by VA.

    A superpage whose reserved bits (13 up to its size) are set faults, as does a
    1 GiB leaf on a CPU without 1 GiB pages: they map nothing.
    """
    out: list[MappingRun] = []
    last_va = last_pages = last_mfn = last_flags = -1
    for va, level, mfn, flags, count in state.leaves:
        pages = geometry.pages(level)
        if level > 1:
            if level == 3 and not page1gb:
                continue
            low = mfn & (pages - 1)
            if low & ~1:
                continue  # reserved bits set: the walk faults
            mfn -= low
            flags = (flags & ~_PAGE_PSE) | (_PAT4K if low else 0)
        total = pages * count
        if (
            flags == last_flags
            and va == last_va + (last_pages << PAGE_SHIFT)
            and mfn == last_mfn + last_pages
        ):
            last_pages += total
            out[-1] = (last_va, last_pages, last_mfn, last_flags)
            continue
        out.append((va, total, mfn, flags))
        last_va, last_pages, last_mfn, last_flags = va, total, mfn, flags
    return out


def _clip(runs: Sequence[MappingRun], lo: int, hi: int, mask: int = _ALL) -> list[MappingRun]:
    """The runs restricted to ``[lo, hi)``, flags masked, merged again where they meet."""
    out: list[MappingRun] = []
    if lo >= hi:
        return out
    i = max(bisect_right(runs, lo, key=lambda r: r[0]) - 1, 0)
    for va, pages, mfn, flags in runs[i:]:
        if va >= hi:
            break
        end = va + (pages << PAGE_SHIFT)
        if end <= lo:
            continue
        a, b = max(va, lo), min(end, hi)
        m = mfn + ((a - va) >> PAGE_SHIFT)
        f = flags & mask
        n = (b - a) >> PAGE_SHIFT
        if out:
            pva, pn, pm, pf = out[-1]
            if pf == f and pva + (pn << PAGE_SHIFT) == a and pm + pn == m:
                out[-1] = (pva, pn + n, pm, pf)
                continue
        out.append((a, n, m, f))
    return out


Entry = tuple[int, int] | None  # (mfn, flags) at one VA, None when unmapped


def _first_difference(
    expected: Sequence[MappingRun], actual: Sequence[MappingRun]
) -> tuple[int, Entry, Entry] | None:
    """The lowest VA at which two run lists (sorted, non-overlapping) disagree."""
    if list(expected) == list(actual):
        return None
    i = j = 0
    x = 0
    while True:
        while i < len(expected) and expected[i][0] + (expected[i][1] << PAGE_SHIFT) <= x:
            i += 1
        while j < len(actual) and actual[j][0] + (actual[j][1] << PAGE_SHIFT) <= x:
            j += 1
        a = expected[i] if i < len(expected) else None
        b = actual[j] if j < len(actual) else None
        if a is None and b is None:
            return None
        a_here = a is not None and a[0] <= x
        b_here = b is not None and b[0] <= x
        if not a_here and not b_here:
            x = min(r[0] for r in (a, b) if r is not None)
            continue
        ea = (a[2] + ((x - a[0]) >> PAGE_SHIFT), a[3]) if a_here and a else None
        eb = (b[2] + ((x - b[0]) >> PAGE_SHIFT), b[3]) if b_here and b else None
        if ea != eb:
            return x, ea, eb
        assert a is not None and b is not None
        x = min(a[0] + (a[1] << PAGE_SHIFT), b[0] + (b[1] << PAGE_SHIFT))


def _entry_text(entry: Entry) -> str:
    if entry is None:
        return "no mapping"
    mfn, flags = entry
    return f"mfn {mfn:#x} {_flags_text(flags)}"


def _flags_text(flags: int) -> str:
    return describe_flags(get_pte_flags(flags))


# -- snapshots -----------------------------------------------------------------------
Runs = tuple[MappingRun, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The translation and the live page tables (frame -> generation) at one moment."""

    runs: Runs
    tables: dict[int, int]


def translation(
    memory: PhysicalMemory,
    root: int,
    geometry: Geometry,
    *,
    page1gb: bool = True,
    memo: Memo | None = None,
) -> Runs:
    """The translation now (``mappings`` of the dumped state); ``memo`` (for one root,
    geometry and ``page1gb``) keeps the translations of the memories seen
    (``memory_key``) and, for a memory not seen, of the trees walked
    (``walked_key``): many memories differ only in frames the walk does not reach."""
    if memo is None or not memo.enabled:
        return tuple(mappings(dump_state(memory, root, geometry), geometry, page1gb=page1gb))
    key = memory_key(memory)
    runs = memo.get(key)
    if runs is MISSING:
        walked = walked_key(memory, root)
        runs = memo.get(walked)
        if runs is MISSING:
            runs = tuple(mappings(dump_state(memory, root, geometry), geometry, page1gb=page1gb))
            memo.put(walked, runs, (len(walked) - 1) * memory.entries)
        memo.put(key, runs, memory_weight(memory))
    return runs


def live_tables(memory: PhysicalMemory) -> dict[int, int]:
    """The live page tables now: frame -> generation."""
    gen = memory.gen
    return {f: gen[f] for f in memory.level}


def snapshot(
    memory: PhysicalMemory,
    root: int,
    geometry: Geometry,
    *,
    page1gb: bool = True,
    memo: Memo | None = None,
) -> Snapshot:
    """The state now: ``translation`` (with ``memo``) and ``live_tables``."""
    runs = translation(memory, root, geometry, page1gb=page1gb, memo=memo)
    return Snapshot(runs, live_tables(memory))


# -- the judgement -------------------------------------------------------------------
def judge(
    promise: Promise,
    before: Snapshot,
    after: Snapshot,
    memory: PhysicalMemory,
    root: int,
    geometry: Geometry,
    *,
    rc: int | None = None,
    exclude: Sequence[tuple[int, int]] = (),
    tables: bool = True,
    memo: Memo | None = None,
) -> list[Problem]:
    """What ``promise``'s operation did wrong, between ``before`` and ``after``.

    ``rc`` is the operation's return value (the frame for a lookup).  ``exclude``
    lists ranges that other CPUs' operations were changing meanwhile: they are left
    out of the "nothing outside changed" comparison.  ``tables=False`` skips the two
    page-table checks (when allocations of other CPUs cannot be told apart).
    ``memo`` keeps the translation check's verdicts (a function of the promise, the
    two translations, ``rc`` and ``exclude``).
    """
    return judge_runs(
        promise,
        tuple(before.runs),
        tuple(after.runs),
        memory,
        root,
        geometry,
        rc=rc,
        exclude=tuple(exclude),
        tables=before.tables if tables else None,
        memo=memo,
    )


def judge_runs(
    promise: Promise,
    before: Runs,
    after: Runs,
    memory: PhysicalMemory,
    root: int,
    geometry: Geometry,
    *,
    rc: int | None = None,
    exclude: tuple[tuple[int, int], ...] = (),
    tables: dict[int, int] | None = None,
    memo: Memo | None = None,
) -> list[Problem]:
    """``judge`` from the two translations; ``tables`` are the live tables before the
    operation (``live_tables``), None to skip the two page-table checks."""
    problems: list[Problem] = []
    wrong = MISSING
    if memo is not None and memo.enabled:
        key = (promise, before, after, rc, exclude)
        try:
            wrong = memo.get(key)
        except TypeError:  # an unhashable operation
            memo = None
    if wrong is MISSING:
        wrong = _wrong_mapping(promise, before, after, rc, exclude)
        if memo is not None and memo.enabled:
            memo.put(key, wrong, 4 * (len(before) + len(after) + len(exclude) + 4))
    if wrong:
        problems.append(Problem("wrong-mapping", _STEP, wrong))
    if tables is not None and promise.removes_only:
        text = _alloc_on_unmap(promise, tables, memory, root, geometry)
        if text:
            problems.append(Problem("alloc-on-unmap", _STEP, text))
    if tables is not None and promise.reclaims:
        text = _empty_table(promise, memory, root, geometry)
        if text:
            problems.append(Problem("empty-table", _STEP, text))
    return problems


def _outside_windows(lo: int, hi: int, exclude: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[0, 2**64)`` minus ``[lo, hi)`` and every excluded range, ascending."""
    cut = sorted([(lo, hi), *((a, b) for a, b in exclude if a < b)])
    windows = []
    x = 0
    for a, b in cut:
        if a > x:
            windows.append((x, a))
        x = max(x, b)
    if x <= _ALL:
        windows.append((x, _ALL + 1))
    return windows


def _wrong_mapping(
    p: Promise,
    before: Runs,
    after: Runs,
    rc: int | None,
    exclude: Sequence[tuple[int, int]],
) -> str | None:
    found: list[tuple[int, str]] = []
    for wlo, whi in _outside_windows(p.lo, p.hi, exclude):
        diff = _first_difference(_clip(before, wlo, whi), _clip(after, wlo, whi))
        if diff:
            va, was, now = diff
            found.append(
                (
                    va,
                    f"after {p.what}: va {va:#x}, outside its range {p.range_text}, changed:"
                    f" it had {_entry_text(was)}, now {_entry_text(now)}",
                )
            )
            break
    if p.effect != UNCHECKED:
        mask = _ALL if p.effect == LOOKUP else _ALL & ~_AD
        actual = _clip(after, p.lo, p.hi, mask)
        expected = _expected(p, before, mask)
        diff = _first_difference(expected, actual)
        if diff:
            va, want, got = diff
            found.append(
                (
                    va,
                    f"after {p.what}: va {va:#x} has {_entry_text(got)}, where the op"
                    f" promises {_entry_text(want)}" + _ad_note(mask),
                )
            )
    if p.effect == LOOKUP and rc is not None:
        # a lookup promises the frame of a mapped VA; asking for an unmapped one breaks
        # its precondition (ASSERT_UNREACHABLE in xen_map_to_mfn), so nothing is promised
        here = _clip(before, p.lo, p.hi)
        if here and rc != here[0][2]:
            returned = "INVALID_MFN" if rc == INVALID_MFN else f"mfn {rc:#x}"
            mapped = f"mfn {here[0][2]:#x}"
            found.append((p.lo, f"{p.what} returned {returned}, but va {p.lo:#x} has {mapped}"))
    if not found:
        return None
    return min(found)[1]


def _ad_note(mask: int) -> str:
    return " (Accessed and Dirty ignored)" if not mask & _AD else ""


def _expected(p: Promise, before: Runs, mask: int) -> list[MappingRun]:
    if p.effect == MAP:
        nr = (p.hi - p.lo) >> PAGE_SHIFT
        return [(p.lo, nr, p.mfn, p.flags & mask)] if nr else []
    if p.effect == UNMAP:
        return []
    if p.effect == MODIFY:
        runs = [
            (va, n, mfn, ((f & p.keep) | p.flags) & mask)
            for va, n, mfn, f in _clip(before, p.lo, p.hi)
        ]
        return _clip(runs, p.lo, p.hi)  # merges runs the new flags made equal
    return _clip(before, p.lo, p.hi, mask)  # LOOKUP: unchanged


# -- page tables -------------------------------------------------------------------
class _Table:
    __slots__ = ("end", "frame", "level", "va")

    def __init__(self, frame: int, level: int, va: int, end: int) -> None:
        self.frame = frame
        self.level = level
        self.va = va
        self.end = end


def _tables_in(
    memory: PhysicalMemory, root: int, geometry: Geometry, lo: int, hi: int
) -> Iterator[_Table]:
    """Live tables linked below the root whose span meets ``[lo, hi)``, ascending VA."""
    yield from _descend(memory, root, geometry, 4, 0, lo, hi, set())


def _descend(
    memory: PhysicalMemory,
    frame: int,
    g: Geometry,
    level: int,
    base: int,
    lo: int,
    hi: int,
    seen: set[int],
) -> Iterator[_Table]:
    words = memory.words.get(frame)
    if words is None:
        return
    span = g.span[level]
    for index, entry in enumerate(words):
        if not entry & _PAGE_PRESENT or (level < 4 and entry & _PAGE_PSE) or level == 1:
            continue
        va = g.canonical(base + index * span)
        end = va + span
        if end <= lo or va >= hi:
            continue
        child = (entry & ADDR_MASK) >> PAGE_SHIFT
        if memory.level.get(child) != level - 1 or child in seen:
            continue  # not a live table of the right level: other oracles say so
        seen.add(child)
        yield _Table(child, level - 1, va, end)
        yield from _descend(memory, child, g, level - 1, base + index * span, lo, hi, seen)


def _maps_something(memory: PhysicalMemory, frame: int, level: int) -> bool:
    for entry in memory.words[frame]:
        if not entry & _PAGE_PRESENT:
            continue
        if level == 1 or entry & _PAGE_PSE:
            return True
        child = (entry & ADDR_MASK) >> PAGE_SHIFT
        if memory.level.get(child) == level - 1 and _maps_something(memory, child, level - 1):
            return True
    return False


def _alloc_on_unmap(
    p: Promise, before: dict[int, int], memory: PhysicalMemory, root: int, geometry: Geometry
) -> str | None:
    gen = memory.gen
    fresh = [
        t
        for t in _tables_in(memory, root, geometry, p.lo, p.hi)
        if before.get(t.frame) != gen[t.frame] and not _maps_something(memory, t.frame, t.level)
    ]
    if not fresh:
        return None
    t = fresh[0]
    more = f" (+{len(fresh) - 1} more)" if len(fresh) > 1 else ""
    return (
        f"{p.what} only removes mappings, but it allocated the L{t.level} table"
        f" {t.frame:#x} for [{t.va:#x}, {t.end:#x}), which maps nothing{more}"
    )


def _empty_table(p: Promise, memory: PhysicalMemory, root: int, geometry: Geometry) -> str | None:
    empty = [
        t
        for t in _tables_in(memory, root, geometry, p.lo, p.hi)
        if t.level in (1, 2)
        and p.lo <= t.va
        and t.end <= p.hi
        and not any(e & _PAGE_PRESENT for e in memory.words[t.frame])
    ]
    if not empty:
        return None
    t = empty[0]
    words = memory.words[t.frame]
    rest = next(((i, e) for i, e in enumerate(words) if e), None)
    if rest is None:
        holds = "every entry is zero"
    else:
        i, e = rest
        va = t.va + i * geometry.span[t.level]
        holds = f"it holds only non-present entries (first: {e:#018x} for va {va:#x})"
    more = f" (+{len(empty) - 1} more)" if len(empty) > 1 else ""
    return (
        f"after {p.what}, the L{t.level} table {t.frame:#x} for [{t.va:#x}, {t.end:#x}),"
        f" all of it in the range, is still linked: {holds}{more}"
    )
