"""The facade model code sees: ``ctx`` with cells, locks, events, notes and failures.

``program(ctx)`` is called once per execution and returns ``(thread_bodies, check)``.
Everything a thread shares with others goes through ``ctx.event`` (cells and locks use
it too), which is the one choke point where the explorer takes a scheduling decision.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from pagerace.errors import PageraceInputError
from pagerace.explore.events import ACQUIRE, EVENT, NOTE, RELEASE, Footprint, TraceEvent
from pagerace.explore.execution import CUT, Execution, FailSignal, Failure

__all__ = ["Access", "Cell", "Context", "Lock"]

#: What a cell made outside any execution refers to: no thread runs, nothing granted.
_IDLE = Execution(lambda *_: CUT)


class Context:
    """Handed to ``program(ctx)``; see the module docstring of ``pagerace.explore``."""

    __slots__ = ("_cell_class", "_cell_ex", "_ex", "_locks")

    def __init__(self) -> None:
        self._ex: Execution | None = None
        self._locks: dict[Hashable, Lock] = {}
        # what ``cell`` makes: cells of the running execution, recorded or quiet
        self._cell_ex = _IDLE
        self._cell_class: type[Cell] = Cell

    def _begin(self, ex: Execution) -> None:
        self._ex = ex
        if self._locks:  # (locks belong to one execution)
            self._locks = {}
        self._cell_ex = ex
        self._cell_class = Cell if ex.recording else _QuietCell

    @property
    def thread(self) -> int:
        """Id (0-based) of the running thread; -1 in ``program`` and in ``check``."""
        ex = self._ex
        return ex.running if ex is not None else -1

    @property
    def nthreads(self) -> int:
        """Number of threads of this execution (0 while ``program`` runs)."""
        ex = self._ex
        return ex.nthreads if ex is not None else 0

    # -- shared state ------------------------------------------------------------

    def cell(self, name: str, init: Any = None) -> Cell:
        """A shared variable with ``load``/``store``/``cas`` (events) and ``peek``."""
        try:
            accesses = _ACCESSES[name]
        except KeyError:
            if len(_ACCESSES) >= _MAX_ACCESSES:
                _ACCESSES.clear()
            accesses = _ACCESSES[name] = _accesses_of(name)
        except TypeError:  # an unhashable name: not shared across executions
            accesses = _accesses_of(name)
        return self._cell_class(self._cell_ex, accesses, name, init)

    def lock(self, name: Hashable) -> Lock:
        """The lock called ``name`` (the same object for the same name in one run)."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = Lock(self, name)
        return lock

    # -- the low-level API -------------------------------------------------------

    def wants_details(self) -> bool:
        """Whether this execution's trace will be read in full.  When it is not, model
        code may announce shared descriptors through ``performer()`` and leave event
        details out; the execution is then marked abridged, and if it fails the
        explorer runs it again, detailed, for the finding's trace."""
        ex = self._ex
        if ex is None or ex.detailed:
            return True
        ex.abridged = True
        return False

    def performer(self) -> Callable[[Access], None]:
        """``perform(access)`` of the running execution: announce the running thread's
        next event, an ``Access`` shared across executions (no event object per
        access), and return once it is chosen; outside thread bodies it returns at
        once.  The trace record, when recorded, is ``(thread, access, None)``."""
        ex = self._ex
        if ex is None:
            raise PageraceInputError("ctx.performer: no execution is running")
        return ex.perform

    def event(
        self, footprint: Footprint, label: str, detail: dict[str, Any] | None = None
    ) -> TraceEvent:
        """Announce the running thread's next event and return once it is chosen.

        The caller then performs the effect in plain Python; nothing else runs until
        its next ``event``/lock call or until it finishes.  The returned record is in
        the trace; the caller may set or update its ``detail``.
        """
        ex = self._ex
        tid = ex.running if ex is not None else -1
        if tid < 0 or ex is None:
            raise PageraceInputError("ctx.event: must be called from a thread body")
        ev = TraceEvent(tid, -1, label, footprint, detail)
        ex.announce(tid, ev)
        log = ex.log
        ev.index = len(log)
        log.append(ev)
        return ev

    def note(self, label: str, detail: dict[str, Any] | None = None) -> TraceEvent:
        """Append a trace record without a scheduling point (empty footprint)."""
        ex = self._ex
        if ex is None:
            raise PageraceInputError("ctx.note: no execution is running")
        ev = TraceEvent(ex.running, len(ex.log), label, (), detail, NOTE)
        ex.log.append(ev)
        return ev

    def fail(
        self,
        kind: str,
        message: str,
        key: Hashable | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """End the current execution with a finding of ``kind`` (never returns)."""
        raise FailSignal(kind, message, key, detail)

    def report(
        self,
        kind: str,
        message: str,
        key: Hashable | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record a finding of ``kind`` and return: the execution goes on, and every
        finding it records (and the one that ends it, if any) shares its schedule.

        For a problem after which the program can still run meaningfully (a check
        that lists everything wrong at the end, a fault a real system survives); use
        ``fail`` when what would follow makes no sense.  From a thread body or the
        check; the default key is ``fail``'s."""
        ex = self._ex
        if ex is None:
            raise PageraceInputError("ctx.report: no execution is running")
        tid = ex.running
        if tid < 0:
            ex.report(Failure(kind, message, key, detail, None, "check"))
        else:
            ex.report(Failure(kind, message, key, detail, tid, ""))

    def check(self, cond: object, message: str, key: Hashable | None = None) -> None:
        """``fail("assert", message)`` when ``cond`` is false; the message is part of
        the finding's key, so keep values out of it (or pass ``key=``)."""
        if not cond:
            raise FailSignal("assert", message, key if key is not None else ("assert", message))


class Access:
    """What a cell operation announces, shared by all its events (an execution's
    ``pending`` item): ``label``, ``footprint``, ``kind``.  The trace record of a cell
    access is the compact ``(thread, access, value)``; ``event`` makes the
    ``TraceEvent`` when the trace is read, with ``detail`` ``{name: value}`` (or
    ``value`` itself when ``name`` is None)."""

    __slots__ = ("footprint", "kind", "label", "name")

    def __init__(self, label: str, footprint: Footprint, name: str | None) -> None:
        self.label = label
        self.footprint = footprint
        self.kind = EVENT
        self.name = name

    def event(self, tid: int, index: int, value: Any) -> TraceEvent:
        detail = {self.name: value} if self.name is not None else value
        return TraceEvent(tid, index, self.label, self.footprint, detail)


#: cell name -> its (load, store, cas) descriptors, shared by all executions and
#: ``explore`` calls (they are immutable); bounded for programs that make up names.
_ACCESSES: dict[Any, tuple[Access, Access, Access]] = {}
_MAX_ACCESSES = 4096


def _accesses_of(name: Any) -> tuple[Access, Access, Access]:
    """The (load, store, cas) descriptors of the cell called ``name``."""
    key = ("cell", name)
    return (
        Access(f"load {name}", ((key, False),), "value"),
        Access(f"store {name}", ((key, True),), "value"),
        Access(f"cas {name}", ((key, True),), None),
    )


class Cell:
    """A shared variable; ``load``/``store``/``cas`` are events, ``peek`` is not.

    A cell belongs to the execution whose ``program(ctx)`` call made it.  Outside
    thread bodies (in ``program`` or ``check``) the operations act at once.
    """

    __slots__ = ("_cas", "_ex", "_load", "_store", "name", "value")

    def __init__(
        self, ex: Execution, accesses: tuple[Access, Access, Access], name: str, init: Any
    ) -> None:
        self._ex = ex
        self.name = name
        self.value = init
        self._load, self._store, self._cas = accesses

    def load(self) -> Any:
        ex = self._ex
        if ex.grant:  # ``Execution.announce``'s granted path, inlined (see there)
            ex.grant -= 1
            value = self.value
            ex.log.append((ex.running, self._load, value))
            return value
        tid = ex.running
        if tid < 0:
            return self.value
        access = self._load
        ex.announce(tid, access)
        value = self.value
        ex.log.append((tid, access, value))
        return value

    def store(self, value: Any) -> None:
        ex = self._ex
        if ex.grant:
            ex.grant -= 1
            self.value = value
            ex.log.append((ex.running, self._store, value))
            return
        tid = ex.running
        if tid < 0:
            self.value = value
            return
        access = self._store
        ex.announce(tid, access)
        self.value = value
        ex.log.append((tid, access, value))

    def cas(self, expected: Any, new: Any) -> bool:
        """Compare-and-swap (one write event); returns whether it stored ``new``."""
        ex = self._ex
        tid = ex.running
        if tid >= 0:
            ex.announce(tid, self._cas)
        old = self.value
        ok = old == expected
        if ok:
            self.value = new
        if tid >= 0 and ex.recording:
            ex.log.append((tid, self._cas, {"old": old, "new": new, "ok": ok}))
        return ok

    def peek(self) -> Any:
        """The value, without an event (for checks and assertions)."""
        return self.value

    def __repr__(self) -> str:
        return f"Cell({self.name!r}, {self.value!r})"


class _QuietCell(Cell):
    """A cell of an execution run without recording: no trace records."""

    __slots__ = ()

    def load(self) -> Any:
        ex = self._ex
        if ex.grant:
            ex.grant -= 1
            return self.value
        tid = ex.running
        if tid >= 0:
            ex.announce(tid, self._load)
        return self.value

    def store(self, value: Any) -> None:
        ex = self._ex
        if ex.grant:
            ex.grant -= 1
        else:
            tid = ex.running
            if tid >= 0:
                ex.announce(tid, self._store)
        self.value = value


class Lock:
    """A non-reentrant lock; a thread waiting for it is not runnable."""

    __slots__ = ("_acquire_label", "_ctx", "_footprint", "_release_label", "holder", "name")

    def __init__(self, ctx: Context, name: Hashable) -> None:
        self._ctx = ctx
        self.name = name
        self.holder = -1
        self._footprint: Footprint = ((("lock", name), True),)
        self._acquire_label = f"acquire {name}"
        self._release_label = f"release {name}"

    def acquire(self, label: str | None = None) -> None:
        ex = self._ctx._ex
        tid = ex.running if ex is not None else -1
        if tid < 0 or ex is None:
            raise PageraceInputError(f"lock {self.name!r}: acquire outside a thread body")
        ev = TraceEvent(tid, -1, label or self._acquire_label, self._footprint, None, ACQUIRE)
        ex.acquiring[tid] = self
        ex.announce_lock(tid, ev)

    def release(self, label: str | None = None) -> None:
        ex = self._ctx._ex
        tid = ex.running if ex is not None else -1
        if tid < 0 or ex is None:
            raise PageraceInputError(f"lock {self.name!r}: release outside a thread body")
        if self.holder != tid:
            raise RuntimeError(
                f"thread {tid} releases lock {self.name!r} held by "
                f"{'nobody' if self.holder < 0 else self.holder}"
            )
        ev = TraceEvent(tid, -1, label or self._release_label, self._footprint, None, RELEASE)
        ex.releasing[tid] = self
        ex.announce_lock(tid, ev)

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self.holder >= 0
