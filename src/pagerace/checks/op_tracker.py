"""The functional oracle for explored CPUs: each operation judged when it returns.

An explored execution interleaves the CPUs' operations; an operation's promise
(functional.py) holds for it only if no other CPU changed its range meanwhile.  The
tracker snapshots the translation when an operation starts, learns from the memory
which CPU changes it and when, and judges the operation when it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pagerace.checks.functional import LOOKUP, Promise, Snapshot, judge, promise_of, snapshot
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
    """An operation a CPU is running: its promise, its start, the state before it and
    the clock values of its first and last change to memory (None: none yet)."""

    __slots__ = ("before", "first", "hi", "last", "lo", "promise", "start")

    def __init__(self, promise: Promise, start: int, before: Snapshot) -> None:
        self.promise = promise
        self.lo = promise.lo
        self.hi = promise.hi
        self.start = start
        self.before = before
        self.first: int | None = None
        self.last: int | None = None


class OpTracker:
    """The functional oracle for the operations of one explored execution.

    ``start`` and ``finish`` are called by each CPU around each operation (they make
    no events); ``watch`` makes the execution's memory tell the tracker which CPU
    changes it (stores, allocations, frees) and when.  An operation is judged when it
    finishes, unless an operation of another CPU on an overlapping range changed
    memory between its start and its finish; the ranges of other CPUs' operations
    that did change memory meanwhile are left out of its "nothing outside changed"
    comparison, and its page-table checks are left out then (allocations are not
    told apart).  ``report(problem, cpu)`` receives each problem; ``skipped`` counts
    the operations that could not be judged.  ``memos``, shared by the trackers of
    one search (one root, geometry and configuration), keep what earlier executions
    computed from the same states.
    """

    __slots__ = (
        "_cached",
        "_changes",
        "_done",
        "_open",
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
        self._cached: tuple[int, Snapshot] | None = None  # (changes, snapshot) of the last one
        self._open: dict[int, _Open] = {}  # cpu -> the operation it is running
        self._done: list[_Open] = []  # operations that finished

    def watch(self, current: Callable[[], int]) -> None:
        """Wrap the memory's ``write``, ``alloc`` and ``free`` (on this instance only) so
        that each change is charged to the operation of CPU ``current()``."""
        memory = self.memory
        for name in ("write", "alloc", "free"):
            setattr(memory, name, self._watched(getattr(memory, name), current))

    def _watched(
        self, method: Callable[..., Any], current: Callable[[], int]
    ) -> Callable[..., Any]:
        opened = self._open

        def changed(*args: Any) -> Any:
            self._changes += 1
            op = opened.get(current())
            if op is not None:
                if op.first is None:
                    op.first = self.clock
                op.last = self.clock
            return method(*args)

        return changed

    def _snapshot(self) -> Snapshot:
        cached = self._cached
        if cached is not None and cached[0] == self._changes:
            return cached[1]
        memos = self.memos
        snap = snapshot(
            self.memory,
            self.root,
            self.geometry,
            page1gb=self.page1gb,
            memo=None if memos is None else memos.snapshots,
        )
        self._cached = (self._changes, snap)
        return snap

    def start(self, cpu: int, op: Any) -> None:
        promise = promise_of(op, nx=self.nx)
        if promise is None:
            return
        self.clock += 1
        self._open[cpu] = _Open(promise, self.clock, self._snapshot())

    def finish(self, cpu: int, rc: int | None) -> None:
        op = self._open.pop(cpu, None)
        if op is None:
            return
        self.clock += 1
        now = self.clock
        # operations of other CPUs that changed memory while this one ran
        others = [
            (o.lo, o.hi)
            for o in (*self._open.values(), *self._done)
            if o.first is not None and o.first < now and o.last is not None and o.last >= op.start
        ]
        self._done.append(op)
        promise = op.promise
        if any(lo < promise.hi and promise.lo < hi for lo, hi in others):
            self.skipped += 1
            return
        if promise.effect != LOOKUP and (rc is None or rc < 0):
            return  # a failed call promises nothing (Xen does not roll back)
        after = self._snapshot()
        for problem in judge(
            promise,
            op.before,
            after,
            self.memory,
            self.root,
            self.geometry,
            rc=rc,
            exclude=others,
            tables=not others,
            memo=None if self.memos is None else self.memos.verdicts,
        ):
            self.report(problem, cpu)
