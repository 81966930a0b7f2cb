"""The direct machine: one CPU, every shared operation acts at once.

Used for conformance, ``show``, scenario set-up and the serial-order oracle.  It
has no events and no scheduler; a table reference is the plain frame number.  It
still refuses what sequential Xen never does (a load or store through a pointer
that is not a live page table, a double free) so a modelling error cannot pass
silently.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pagerace.errors import XenBug
from pagerace.machine import Machine
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import MemoryFault, PhysicalMemory
from pagerace.paging.pte import ADDR_MASK

__all__ = ["DirectMachine", "OpCounters", "OutOfTime", "TooMuchWork", "WorkLimit"]


class OpCounters:
    """What one operation did: flush calls, allocations and frees."""

    __slots__ = ("flushes", "pt_alloc", "pt_free")

    def __init__(self) -> None:
        self.flushes: list[tuple[int, int]] = []
        self.pt_alloc = 0
        self.pt_free = 0


class TooMuchWork(Exception):
    """A sequential run made more page-table stores than its ``WorkLimit`` allows."""

    def __init__(self, stores: int) -> None:
        self.stores = stores
        super().__init__(f"more than {stores:,} page-table stores")


class OutOfTime(Exception):
    """A sequential run went past its ``WorkLimit``'s deadline."""


class WorkLimit:
    """What sequential runs may cost: at most ``max_stores`` page-table stores in all
    (over every machine that shares this limit) and no time past ``deadline`` (a
    ``time.perf_counter()`` value); either may be None.  Machines look at it once
    every ``CHECK_EVERY`` stores, so a limit costs the store path one decrement."""

    CHECK_EVERY = 1024

    def __init__(self, max_stores: int | None = None, deadline: float | None = None) -> None:
        self.max_stores = max_stores
        self.deadline = deadline
        self.stores = 0

    def spent(self, stores: int) -> int:
        """``stores`` more were made; raise if past a limit, else the stores until the
        next look."""
        self.stores += stores
        if self.max_stores is not None and self.stores > self.max_stores:
            raise TooMuchWork(self.max_stores)
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime()
        return self.CHECK_EVERY


class DirectMachine:
    """Sequential machine.  ``config`` is the Xen environment (opaque here)."""

    sequential = True  # one CPU: the model may take sequentially-equivalent shortcuts
    ncpus = 1
    _limit: WorkLimit | None = None
    _countdown = -1  # stores until the next look at the limit; -1 (never 0): no limit

    def __init__(self, memory: PhysicalMemory, root: int, config: Any) -> None:
        self.memory = memory
        self.geometry: Geometry = memory.geometry
        self.root = root
        self.config = config
        self.irqs_enabled = True
        self.counters = OpCounters()
        self._live = memory.live
        self._locks: set[object] = set()

    # -- memory ----------------------------------------------------------------
    def load(self, ref: int, index: int, step: str) -> int:
        try:
            return self._live[ref][index]
        except KeyError:
            self._fault(ref, step, "load from")
            raise  # pragma: no cover - _fault always raises

    def store(self, ref: int, index: int, value: int, step: str) -> None:
        try:
            self._live[ref][index] = value
        except KeyError:
            self._fault(ref, step, "store to")
            raise  # pragma: no cover
        self._countdown -= 1
        if not self._countdown:
            assert self._limit is not None
            self._countdown = self._limit.spent(WorkLimit.CHECK_EVERY)

    def limit_work(self, limit: WorkLimit) -> None:
        """Count this machine's stores against ``limit`` from now on."""
        self._limit = limit
        self._countdown = WorkLimit.CHECK_EVERY

    def _fault(self, frame: int, step: str, what: str) -> None:
        kind = self.memory.kind(frame)
        finding = "use-after-free" if kind.name == "FREE" else "wild-write"
        raise MemoryFault(finding, frame, f"{step}: {what} frame {frame:#x}, which is {kind.value}")

    def scan(self, ref: int, step: str) -> list[int]:
        """Every entry of a table, loaded in index order (one load each)."""
        try:
            return self._live[ref].copy()
        except KeyError:
            self._fault(ref, step, "scan of")
            raise  # pragma: no cover

    @staticmethod
    def ref(pte: int) -> int:
        """``lNe_to_lN-1e``: the table a (possibly bogus) entry points at."""
        return (pte & ADDR_MASK) >> 12

    @staticmethod
    def frame(ref: int) -> int:
        return ref

    def root_ref(self) -> int:
        return self.root

    # -- unpublished tables: private writes, no interleaving point -------------
    def clear_page(self, ref: int) -> None:
        self._live[ref][:] = [0] * self.geometry.entries

    def init_entry(self, ref: int, index: int, value: int) -> None:
        self._live[ref][index] = value

    # -- allocation --------------------------------------------------------------
    def alloc(self, level: int, step: str) -> int | None:
        frame = self.memory.alloc(level)
        if frame is not None:
            self.counters.pt_alloc += 1
        return frame

    def free(self, ref: int, level: int, step: str) -> None:
        self.memory.free(ref, level)
        self.counters.pt_free += 1

    # -- locks -------------------------------------------------------------------
    def lock(self, name: object, step: str) -> None:
        if name in self._locks:
            raise XenBug(step, f"spin_lock({name}) while already held: deadlock")
        self._locks.add(name)

    def unlock(self, name: object, step: str) -> None:
        if name not in self._locks:
            raise XenBug(step, f"unlock of {name}, which is not held")
        self._locks.discard(name)

    def held_locks(self) -> frozenset[object]:
        return frozenset(self._locks)

    # -- flushes and BUGs ----------------------------------------------------------
    def flush(self, va: int, flags: int, step: str, local: bool = False) -> None:
        # one CPU: a local flush and a flush of all CPUs are the same call
        self.counters.flushes.append((va, flags))

    @staticmethod
    def bug(step: str, message: str) -> None:
        raise XenBug(step, message)

    def assertion(self, step: str, message: str) -> None:
        """A failed ASSERT stops a debug build (the release build of the lost-update
        oracle's serial runs, ``runner.ReleaseBuild``, goes on)."""
        raise XenBug(step, message)

    def begin_op(self, irqs: bool = True) -> OpCounters:
        """Start counting for one operation; returns the fresh counters."""
        self.irqs_enabled = irqs
        self.counters = OpCounters()
        return self.counters


if TYPE_CHECKING:  # mypy checks that the direct machine is a Machine

    def _is_a_machine(m: DirectMachine) -> Machine[int]:
        return m
