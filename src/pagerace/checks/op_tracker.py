"""The functional oracle for explored CPUs: each operation judged when it returns.

An explored execution interleaves the CPUs' operations; an operation's promise
(functional.py) holds for it only if no other CPU changed its range meanwhile.  The
tracker snapshots the translation when an operation starts, learns from the memory
which CPU changes it and when, and judges the operation when it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pagerace.checks.functional import (
    LOOKUP,
    Promise,
    Runs,
    judge_runs,
    live_tables,
    promise_of,
    translation,
)
from pagerace.checks.memo import Memo
from pagerace.checks.memory_safety import Problem
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory

__all__ = ["OpTracker", "TrackerMemos"]


class TrackerMemos:
    """What the trackers of one search's executions share (checks/memo.py): the
    translation of each memory seen, and the translation check's verdicts."""

    __slots__ = ("snapshots", "verdicts")

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.snapshots = Memo(enabled=enabled)
        self.verdicts = Memo(enabled=enabled)


class _Open:
    """An operation a CPU is running: its promise, its start, the translation before
    it (and the live tables, when its page-table checks need them) and the clock
    value of its last change to memory (None: none yet)."""

    __slots__ = ("before", "hi", "last", "lo", "promise", "start", "tables")

    def __init__(
        self, promise: Promise, start: int, before: Runs, tables: dict[int, int] | None
    ) -> None:
        self.promise = promise
        self.lo = promise.lo
        self.hi = promise.hi
        self.start = start
        self.before = before
        self.tables = tables
        self.last: int | None = None


class OpTracker:
    """The functional oracle for the operations of one explored execution.

    ``start`` and ``finish`` are called by each CPU around each operation (they make
    no events; ``begin`` is ``start`` with the operation's promise already known);
    ``watch`` makes the execution's memory tell the tracker which CPU changes it
    (stores, allocations, frees) and when.  An operation is judged when it
    finishes, unless an operation of another CPU on an overlapping range changed
    memory between its start and its finish; the ranges of other CPUs' operations
    that did change memory meanwhile are left out of its "nothing outside changed"
    comparison, and its page-table checks are left out then (allocations are not
    told apart).  ``report(problem, cpu)`` receives each problem; ``skipped`` counts
    the operations that could not be judged.  ``memos``, shared by the trackers of
    one search (one root, geometry and configuration), keep what earlier executions
    computed from the same states.  ``translation``, when given, is the translation
    of ``memory`` as it is handed over (``functional.translation``).
    """

    __slots__ = (
        "_changes",
        "_current",
        "_done",
        "_open",
        "_runs",
        "_runs_at",
        "clock",
        "geometry",
        "memory",
        "memos",
        "nx",
        "page1gb",
        "report",
        "root",
        "skipped",
    )

    def __init__(
        self,
        memory: PhysicalMemory,
        root: int,
        geometry: Geometry,
        report: Callable[[Problem, int], None],
        *,
        page1gb: bool = True,
        nx: bool = True,
        memos: TrackerMemos | None = None,
        translation: Runs | None = None,
    ) -> None:
        self.memory = memory
        self.memos = memos
        self.root = root
        self.geometry = geometry
        self.report = report
        self.page1gb = page1gb
        self.nx = nx
        self.clock = 0  # ticks at every start and finish
        self.skipped = 0
        self._changes = 0  # changes to memory so far
        # the last translation taken, and the number of changes to memory then
        self._runs: Runs = () if translation is None else translation
        self._runs_at = -1 if translation is None else 0
        self._open: dict[int, _Open] = {}  # cpu -> the operation it is running
        # (lo, hi, last change) of the finished operations that changed memory
        self._done: list[tuple[int, int, int]] = []

    def watch(self, current: Callable[[], int]) -> None:
        """Charge each change to the memory (write, alloc, free) to the operation of
        CPU ``current()``."""
        self._current = current
        self.memory.on_change = self._changed

    def _changed(self) -> None:
        self._changes += 1
        opened = self._open
        if opened:
            op = opened.get(self._current())
            if op is not None:
                op.last = self.clock

    def _translation(self) -> Runs:
        if self._runs_at == self._changes:
            return self._runs
        memos = self.memos
        runs = translation(
            self.memory,
            self.root,
            self.geometry,
            page1gb=self.page1gb,
            memo=None if memos is None else memos.snapshots,
        )
        self._runs = runs
        self._runs_at = self._changes
        return runs

    def start(self, cpu: int, op: Any) -> None:
        promise = promise_of(op, nx=self.nx)
        if promise is not None:
            self.begin(cpu, promise)

    def begin(self, cpu: int, promise: Promise) -> None:
        """``start`` of an operation whose promise is ``promise``."""
        self.clock += 1
        tables = live_tables(self.memory) if promise.removes_only or promise.reclaims else None
        self._open[cpu] = _Open(promise, self.clock, self._translation(), tables)

    def finish(self, cpu: int, rc: int | None) -> None:
        op = self._open.pop(cpu, None)
        if op is None:
            return
        self.clock += 1
        start = op.start
        # operations of other CPUs that changed memory while this one ran (every
        # change was made at a clock value below this finish's)
        others: tuple[tuple[int, int], ...] = ()
        for o in self._open.values():
            last = o.last
            if last is not None and last >= start:
                others += ((o.lo, o.hi),)
        done = self._done
        for a, b, last in done:
            if last >= start:
                others += ((a, b),)
        lo, hi = op.lo, op.hi
        if op.last is not None:
            done.append((lo, hi, op.last))
        for a, b in others:
            if a < hi and lo < b:
                self.skipped += 1
                return
        promise = op.promise
        if promise.effect != LOOKUP and (rc is None or rc < 0):
            return  # a failed call promises nothing (Xen does not roll back)
        for problem in judge_runs(
            promise,
            op.before,
            self._translation(),
            self.memory,
            self.root,
            self.geometry,
            rc=rc,
            exclude=others,
            tables=None if others else op.tables,
            memo=None if self.memos is None else self.memos.verdicts,
        ):
            self.report(problem, cpu)
