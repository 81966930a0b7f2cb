"""The explored machine: each simulated CPU announces every shared operation.

One ``World`` per execution holds the shared hardware (physical memory, the root
table, each CPU's TLB); one ``ExploredCPU`` per simulated CPU is the ``m`` the Xen
model runs against.  Every load, store, scan, allocation, free, lock, flush and
hardware walk becomes an explorer event with a footprint:

==========================  ============================================
operation                   footprint
==========================  ============================================
load / scan of (f, i)       read pte(f, i) [each i for a scan]; read frame(f)
store to (f, i)             write pte(f, i); read frame(f)
alloc                       write heap
free f                      write heap; write frame(f)
lock / unlock L             write ("lock", L)  (the explorer's locks)
flush                       write tlb(c) for every CPU c it reaches
hardware walk (access)      read pte of each entry on the path; write tlb(self)
==========================  ============================================

A table reference is a ``TableRef(frame, generation)`` taken when the pointer is
made (``m.ref(entry)``); using it after the frame was freed, or freed and reused, is
a ``use-after-free`` finding.  Oracles that need the whole state run at quiescence
(pagerace.checks).

Record or stop.  A finding the hardware survives is recorded (``ctx.report``) and the
CPU goes on as Xen would: a use of a stale table pointer reads or writes what the
freed frame holds now (freed frames keep their words; the first use of each stale
pointer per CPU is reported, the uses after it follow from it), a store through a
bogus pointer lands in the data frame, and an ``ASSERT`` is passed over as in a
release build.  Only where the model could not say what happens next does the
execution stop (``ctx.fail``, with the reason in the finding's ``detail["stop"]``): a
``BUG_ON`` (the hypervisor panics), a double or bad free (the allocator would hand one
frame out twice) and a CPU taking a spin lock it holds (it spins forever).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from pagerace.explore import Access
from pagerace.machine import Machine
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import FrameKind, PhysicalMemory, TableRef
from pagerace.paging.pte import _PAGE_PRESENT, _PAGE_PSE, ADDR_MASK, describe_pte
from pagerace.paging.tlb import TLB
from pagerace.paging.walk import Fault, Translation, translate

__all__ = ["Accesses", "ExploredCPU", "World", "frame_key", "pte_key"]

HEAP_KEY = -1
_STOP_BUG = "BUG_ON is fatal in every build: the hypervisor panics"
_STOP_FREE = "the frame would be on the free list twice; the model cannot say what follows"
_LEVEL_NAMES = {1: "L1", 2: "L2", 3: "L3", 4: "L4"}


def irqs_off_lock(cpu: int) -> str:
    """The lock standing for CPU ``cpu``'s interrupts-off stretch."""
    return f"CPU{cpu} has interrupts off"


def pte_key(frame: int, index: int) -> int:
    return (frame << 10) | index


def frame_key(frame: int) -> int:
    return (frame << 10) | 0x3FF


def tlb_key(cpu: int) -> int:
    return -2 - cpu


_ALLOC_FOOTPRINT = ((HEAP_KEY, True),)


@functools.cache
def _all_tlbs(ncpus: int) -> tuple[tuple[int, bool], ...]:
    """The footprint of a flush that reaches every CPU's TLB."""
    return tuple((tlb_key(c), True) for c in range(ncpus))


def _no_perform(access: Access) -> None:
    raise AssertionError("a detailed execution announces events, not accesses")


def _scan_footprint(frame: int, entries: int) -> tuple[tuple[int, bool], ...]:
    """Read every entry of the table and its frame."""
    return (*((pte_key(frame, i), False) for i in range(entries)), (frame_key(frame), False))


_DATA = FrameKind.DATA
_LOWMEM0 = FrameKind.LOWMEM0
_TABLE = FrameKind.TABLE
#: makes a ``TableRef`` without the Python-level ``__new__`` of a named tuple
_new_ref = tuple.__new__


class Accesses:
    """The explorer descriptors (``Access``: label, footprint) of the machine's
    operations, made once and shared by all executions of a program: a quiet access
    announces one of these instead of building an event and its details.  Per label,
    a table keyed by frame, then index (loads, stores: nested tables, since a
    ``pte_key`` is an int of more than 30 bits, whose arithmetic costs ~100 ns), or by
    frame (scans, frees)."""

    __slots__ = (
        "alloc",
        "flush",
        "free",
        "load",
        "load_fp",
        "scan",
        "scan_fp",
        "store",
        "store_fp",
    )

    def __init__(self) -> None:
        self.load: dict[str, dict[int, dict[int, Access]]] = {}
        self.store: dict[str, dict[int, dict[int, Access]]] = {}
        self.scan: dict[str, dict[int, Access]] = {}
        self.free: dict[str, dict[int, Access]] = {}
        self.flush: dict[str, dict[int, Access]] = {}  # key: the CPU, -1 for all
        self.alloc: dict[str, Access] = {}
        # the footprints of loads and stores by ``pte_key`` (immutable, so shared too)
        self.load_fp: dict[int, tuple[tuple[int, bool], ...]] = {}
        self.store_fp: dict[int, tuple[tuple[int, bool], ...]] = {}
        # by frame (one object per table, whatever the step: DPOR's read groups)
        self.scan_fp: dict[int, tuple[tuple[int, bool], ...]] = {}

    def entry(
        self,
        table: dict[str, dict[int, dict[int, Access]]],
        step: str,
        frame: int,
        index: int,
        fp: Any,
    ) -> Access:
        """The descriptor of ``step`` at entry ``index`` of ``frame`` (made with
        footprint ``fp`` the first time)."""
        return _made(table.setdefault(step, {}).setdefault(frame, {}), index, step, fp)

    def of(self, table: dict[Any, dict[int, Access]], step: Any, key: int, fp: Any) -> Access:
        """The descriptor of ``step`` at ``key`` in ``table`` (made with footprint
        ``fp`` the first time)."""
        by_key = table.get(step)
        if by_key is None:
            by_key = table[step] = {}
        return _made(by_key, key, step, fp)


def _made(by_key: dict[int, Access], key: int, step: str, fp: Any) -> Access:
    """The descriptor at ``key`` of a table of ``step``'s (made the first time)."""
    access = by_key.get(key)
    if access is None:
        access = by_key[key] = Access(step, fp, None)
    return access


class World:
    """The shared hardware of one execution."""

    def __init__(
        self,
        ctx: Any,
        memory: PhysicalMemory,
        root: int,
        config: Any,
        tlbs: list[TLB],
        *,
        fine_scans: bool = False,
        irqs_off_cpus: Iterable[int] = (),
        accesses: Accesses | None = None,
    ) -> None:
        self.ctx = ctx
        #: Whether this execution's trace is read in full; when not, the CPUs
        #: announce shared ``Access`` descriptors and build no event details.
        self.detailed: bool = ctx.wants_details()
        self.perform: Callable[[Access], None] = (
            ctx.performer() if not self.detailed else _no_perform
        )
        self.accesses = accesses if accesses is not None else Accesses()
        self.memory = memory
        self.geometry: Geometry = memory.geometry
        self.root = root
        self.config = config
        self.tlbs = tlbs
        self.fine_scans = fine_scans
        self.ncpus = len(tlbs)
        # CPUs that ever run with interrupts off (only those can delay an IPI)
        self.irqs_off_cpus: frozenset[int] = frozenset(irqs_off_cpus)
        self.all_tlb_footprint = _all_tlbs(self.ncpus)
        self._load_fp = self.accesses.load_fp
        self._store_fp = self.accesses.store_fp
        # (cpu, frame, gen) of the stale table pointers already reported as used
        self.stale_used: set[tuple[int, int, int]] = set()

    def load_footprint(self, frame: int, index: int) -> tuple[tuple[int, bool], ...]:
        k = (frame << 10) | index
        fp = self._load_fp.get(k)
        if fp is None:
            fp = self._load_fp[k] = ((k, False), ((frame << 10) | 0x3FF, False))
        return fp

    def scan_footprint(self, frame: int) -> tuple[tuple[int, bool], ...]:
        fp = self.accesses.scan_fp.get(frame)
        if fp is None:
            fp = self.accesses.scan_fp[frame] = _scan_footprint(frame, self.geometry.entries)
        return fp

    def store_footprint(self, frame: int, index: int) -> tuple[tuple[int, bool], ...]:
        k = (frame << 10) | index
        fp = self._store_fp.get(k)
        if fp is None:
            fp = self._store_fp[k] = ((k, True), ((frame << 10) | 0x3FF, False))
        return fp


@mypyc_attr(allow_interpreted_subclasses=True)  # (tests plant bugs in subclasses)
class ExploredCPU:
    """The machine ``m`` of one simulated CPU (same interface as DirectMachine)."""

    sequential = False

    def __init__(self, world: World, cpu: int) -> None:
        self.world = world
        self.cpu = cpu
        self.ctx = world.ctx
        self.memory = world.memory
        self.geometry = world.geometry
        self.config = world.config
        self.root = world.root
        self.ncpus = world.ncpus
        self.irqs_enabled = True
        self.held: set[Any] = set()
        self.function = ""  # the Xen function being run, for traces
        self.detailed = world.detailed
        self._perform = world.perform
        accesses = world.accesses
        self._loads = accesses.load
        self._stores = accesses.store
        # (the memory's live tables and generations: is a pointer current?)
        self._live = world.memory.live
        self._gen = world.memory.gen

    # -- references -----------------------------------------------------------------
    def ref(self, pte: int) -> TableRef:
        frame = (pte & ADDR_MASK) >> 12
        return _new_ref(TableRef, (frame, self._gen.get(frame, 0)))

    @staticmethod
    def frame(ref: TableRef) -> int:
        return ref.frame

    def root_ref(self) -> TableRef:
        return _new_ref(TableRef, (self.root, self._gen[self.root]))

    def _check_ref(self, ref: TableRef, step: str, what: str) -> None:
        """Report the first use by this CPU of a pointer to a frame freed since it was
        made (the accesses test a live table at the pointer's generation first)."""
        memory = self.memory
        frame = ref.frame
        if frame in memory.words and (frame not in memory.level or memory.gen[frame] != ref.gen):
            seen = (self.cpu, frame, ref.gen)
            stale_used = self.world.stale_used
            if seen in stale_used:
                return  # a consequence of the use already reported
            stale_used.add(seen)
            now = (
                "free"
                if frame not in memory.level
                else f"reused as an L{memory.level[frame]} table"
            )
            self.ctx.report(
                "use-after-free",
                f"CPU{self.cpu} {step}: {what} frame {frame:#x}, freed since the pointer was"
                f" made (now {now})",
                key=("use-after-free", step),
            )

    def _detail(self, ev: Any, op: str, frame: int, index: int, **more: Any) -> None:
        memory = self.memory
        d = {
            "op": op,
            "frame": frame,
            "index": index,
            "gen": memory.gen.get(frame, 0),
            "level": memory.level.get(frame) or memory.freed_level.get(frame),
            "state": memory.kind(frame).value,
            "function": self.function,
        }
        d.update(more)
        ev.detail = d

    # -- memory ------------------------------------------------------------------------
    def load(self, ref: TableRef, index: int, step: str) -> int:
        # The most frequent operation of the model: subscripts (a miss is the
        # exception) rather than ``get`` calls on the quiet path.
        frame = ref[0]
        if self.detailed:
            ev = self.ctx.event(self.world.load_footprint(frame, index), step)
            value = self.memory.read(frame, index)
            self._detail(ev, "load", frame, index, value=value)
        else:
            try:
                access = self._loads[step][frame][index]
            except KeyError:
                access = self.world.accesses.entry(
                    self._loads, step, frame, index, self.world.load_footprint(frame, index)
                )
            self._perform(access)
            if frame in self._live and self._gen[frame] == ref[1]:
                return self._live[frame][index]  # a live table through a current pointer
            value = self.memory.read(frame, index)
        self._check_ref(ref, step, "load from")
        return value

    def scan(self, ref: TableRef, step: str) -> Iterable[int]:
        """All entries of a table in index order: one event (or one per entry)."""
        frame = ref.frame
        n = self.geometry.entries
        if self.world.fine_scans:
            # Each entry is loaded when the caller comes to it, as in the C loop: what
            # the caller does with an entry (scan the L1 it points to, free it) comes
            # before the next load, and a loop that stops at a mismatch loads no more.
            return self._fine_scan(ref, n, step)
        if self.detailed:
            ev = self.ctx.event(self.world.scan_footprint(frame), step)
            values = [self.memory.read(frame, i) for i in range(n)]
            self._detail(ev, "scan", frame, -1)
        else:
            by_key = self.world.accesses.scan.get(step)
            access = by_key.get(frame) if by_key is not None else None
            if access is None:
                access = self.world.accesses.of(
                    self.world.accesses.scan, step, frame, self.world.scan_footprint(frame)
                )
            self._perform(access)
            words = self._live.get(frame)
            if words is not None and self._gen[frame] == ref[1]:
                return words.copy()  # a live table through a current pointer
            values = [self.memory.read(frame, i) for i in range(n)]
        self._check_ref(ref, step, "scan of")
        return values

    def _fine_scan(self, ref: TableRef, n: int, step: str) -> Iterator[int]:
        for i in range(n):
            yield self.load(ref, i, step)

    def store(self, ref: TableRef, index: int, value: int, step: str) -> None:
        frame = ref.frame
        memory = self.memory
        ev: Any = None
        if self.detailed:
            ev = self.ctx.event(self.world.store_footprint(frame, index), step)
            self._detail(ev, "store", frame, index, old=memory.read(frame, index), new=value)
        else:
            try:
                access = self._stores[step][frame][index]
            except KeyError:
                access = self.world.accesses.entry(
                    self._stores, step, frame, index, self.world.store_footprint(frame, index)
                )
            self._perform(access)
        if not (frame in self._live and self._gen[frame] == ref[1]):
            self._check_ref(ref, step, "store to")
        kind = memory.kind(frame)
        if kind is _DATA or kind is _LOWMEM0:
            self.ctx.report(
                "wild-write",
                f"CPU{self.cpu} {step}: store of {value:#018x} into {kind.value} frame"
                f" {frame:#x} (entry {index}) through a bogus pointer",
                key=("wild-write", step),
            )
        memory.write(frame, index, value)
        level = memory.level.get(frame)
        if (
            level is not None
            and level > 1
            and value & _PAGE_PRESENT
            and not (level in (2, 3) and value & _PAGE_PSE)
        ):
            child = (value & ADDR_MASK) >> 12
            ckind = memory.kind(child)
            if ckind is _TABLE and ev is not None:
                # publishing a table filled privately: record what it holds now
                ev.detail["child"] = {i: e for i, e in enumerate(memory.words[child]) if e}
            if ckind is _DATA or ckind is _LOWMEM0:
                self.ctx.report(
                    "torn-entry",
                    f"CPU{self.cpu} {step}: L{level} entry {index} of frame {frame:#x} now"
                    f" points at {ckind.value} frame {child:#x} as if it were a table"
                    f" ({describe_pte(value, level)})",
                    key=("torn-entry", step),
                )

    # -- unpublished tables: private writes -----------------------------------------------
    def clear_page(self, ref: TableRef) -> None:
        words = self.memory.words[ref.frame]
        words[:] = [0] * len(words)

    def init_entry(self, ref: TableRef, index: int, value: int) -> None:
        self.memory.words[ref.frame][index] = value

    # -- allocation -----------------------------------------------------------------------
    def alloc(self, level: int, step: str) -> TableRef | None:
        if not self.detailed:
            access = self.world.accesses.alloc.get(step)
            if access is None:
                access = self.world.accesses.alloc[step] = Access(step, _ALLOC_FOOTPRINT, None)
            self._perform(access)
            frame = self.memory.alloc(level)
            return None if frame is None else TableRef(frame, self.memory.gen[frame])
        ev = self.ctx.event(_ALLOC_FOOTPRINT, step)
        frame = self.memory.alloc(level)
        if frame is None:
            ev.detail = {"op": "alloc", "level": level, "frame": None, "function": self.function}
            return None
        ref = TableRef(frame, self.memory.gen[frame])
        self._detail(ev, "alloc", frame, -1)
        return ref

    def free(self, ref: TableRef, level: int, step: str) -> None:
        frame = ref.frame
        memory = self.memory
        if self.detailed:
            ev = self.ctx.event(((HEAP_KEY, True), (frame_key(frame), True)), step)
            self._detail(ev, "free", frame, -1)
            ev.detail["level"] = level
        else:
            accesses = self.world.accesses
            by_key = accesses.free.get(step)
            access = by_key.get(frame) if by_key is not None else None
            if access is None:
                fp = ((HEAP_KEY, True), (frame_key(frame), True))
                access = accesses.of(accesses.free, step, frame, fp)
            self._perform(access)
        live = memory.level.get(frame)
        if frame in memory.words and (live is None or memory.gen[frame] != ref.gen):
            self.ctx.fail(
                "double-free",
                f"CPU{self.cpu} {step}: free of frame {frame:#x} (an L{level} table),"
                f" which was already freed"
                + ("" if live is None else f" and is now reused as an L{live} table"),
                key=("double-free", step),
                detail={"stop": _STOP_FREE},
            )
        if live is None:
            self.ctx.fail(
                "bad-free",
                f"CPU{self.cpu} {step}: free of frame {frame:#x} as an L{level} table,"
                f" but it is {memory.kind(frame).value}",
                key=("bad-free", step),
                detail={"stop": _STOP_FREE},
            )
        if live != level:
            self.ctx.fail(
                "bad-free",
                f"CPU{self.cpu} {step}: free of frame {frame:#x} as an L{level} table,"
                f" but it is an L{live} table",
                key=("bad-free", step),
                detail={"stop": _STOP_FREE},
            )
        memory.free(frame, level)

    # -- locks ------------------------------------------------------------------------------
    def lock(self, name: Any, step: str) -> None:
        if name in self.held:
            self.ctx.fail(
                "deadlock",
                f"CPU{self.cpu} {step}: spin_lock({name}) while already holding it",
                key=("deadlock", step),
                detail={"stop": "the CPU spins on a lock it holds, for ever"},
            )
        self.ctx.lock(name).acquire(label=step)
        self.held.add(name)

    def unlock(self, name: Any, step: str) -> None:
        if name not in self.held:
            self.ctx.fail(
                "bug",
                f"CPU{self.cpu} {step}: BUG: unlock of {name}, which it does not hold",
                key=("bug", step),
                detail={"check": "BUG_ON", "stop": _STOP_BUG},
            )
        self.ctx.lock(name).release(label=step)
        self.held.discard(name)

    # -- flushes and BUGs ----------------------------------------------------------------------
    # -- interrupts -----------------------------------------------------------------------
    # flush_area_mask sends IPIs and waits until every other CPU has run them; a CPU
    # with interrupts off runs them only once it enables interrupts again.  A CPU's
    # interrupts-off stretch is modelled as holding the lock ("irqs-off", cpu), and
    # waiting for an acknowledgement as taking and dropping that lock: a CPU that
    # spins with interrupts off on a lock the flushing CPU holds is then a deadlock
    # (the fix's flush-IPI hazard), found like any other.
    def local_irq_disable(self) -> None:
        self.irqs_enabled = False
        if self.cpu in self.world.irqs_off_cpus:
            self.ctx.lock(irqs_off_lock(self.cpu)).acquire(label="local_irq_disable")

    def local_irq_enable(self) -> None:
        if self.cpu in self.world.irqs_off_cpus:
            self.ctx.lock(irqs_off_lock(self.cpu)).release(label="local_irq_enable")
        self.irqs_enabled = True

    def _wait_for_acks(self, step: str) -> None:
        for cpu in sorted(self.world.irqs_off_cpus):
            if cpu != self.cpu:
                ack = self.ctx.lock(irqs_off_lock(cpu))
                ack.acquire(label=f"{step}:IPI")
                ack.release(label=f"{step}:ack")

    def flush(self, va: int, flags: int, step: str, local: bool = False) -> None:
        world = self.world
        if not local:
            if world.irqs_off_cpus:
                self._wait_for_acks(step)
            if not self.detailed:
                self._perform(
                    world.accesses.of(world.accesses.flush, step, -1, world.all_tlb_footprint)
                )
                for tlb in world.tlbs:
                    tlb.flush(va, flags)
                return
            ev = self.ctx.event(world.all_tlb_footprint, step)
            for tlb in world.tlbs:
                tlb.flush(va, flags)
            cpus = list(range(world.ncpus))
        else:
            fp = ((tlb_key(self.cpu), True),)
            if not self.detailed:
                self._perform(world.accesses.of(world.accesses.flush, step, self.cpu, fp))
                world.tlbs[self.cpu].flush(va, flags)
                return
            ev = self.ctx.event(fp, step)
            world.tlbs[self.cpu].flush(va, flags)
            cpus = [self.cpu]
        ev.detail = {
            "op": "flush",
            "va": va,
            "flags": flags,
            "cpus": cpus,
            "function": self.function,
        }

    def bug(self, step: str, message: str) -> None:
        """A ``BUG``/``BUG_ON`` fired: fatal in every build."""
        self.ctx.fail(
            "bug",
            f"CPU{self.cpu} {step}: {message}",
            key=("bug", step),
            detail={"check": "BUG_ON", "stop": _STOP_BUG},
        )

    def assertion(self, step: str, message: str) -> None:
        """An ``ASSERT`` failed: a debug build panics, a release build goes on (and so
        does the execution, to show what happens next)."""
        self.ctx.report(
            "bug", f"CPU{self.cpu} {step}: {message}", key=("bug", step), detail={"check": "ASSERT"}
        )

    # -- the hardware ------------------------------------------------------------------------------
    def access(self, va: int) -> Translation | Fault:
        """A read through ``va``: a page walk, atomic like hardware's, filling the TLB.

        The walk is announced with the entries of the path as it stands; if another
        CPU changed the path before this CPU was scheduled, the walk is announced again
        along the new path, so its footprint always names what it read.
        """
        world = self.world
        memory, root, g, page1gb = self.memory, self.root, self.geometry, self.config.page1gb
        path = translate(memory, root, g, va, page1gb=page1gb).path
        while True:
            fp = tuple((pte_key(s.frame, s.offset), False) for s in path)
            ev = self.ctx.event((*fp, (tlb_key(self.cpu), True)), "HW")
            result = translate(memory, root, g, va, page1gb=page1gb)
            if [(s.frame, s.offset) for s in result.path] == [(s.frame, s.offset) for s in path]:
                break
            ev.detail = {"op": "walk-retry", "va": va, "function": "hardware walk"}
            path = result.path
        world.tlbs[self.cpu].fill(va, result)
        detail: dict[str, Any] = {
            "op": "access",
            "va": va,
            "level": result.level,
            "function": "hardware walk",
        }
        if isinstance(result, Translation):
            detail.update(mfn=result.mfn, flags=result.flags)
        else:
            detail["fault"] = result.reason
        ev.detail = detail
        return result


if TYPE_CHECKING:  # mypy checks that an explored CPU is a Machine

    def _is_a_machine(m: ExploredCPU) -> Machine[TableRef]:
        return m
