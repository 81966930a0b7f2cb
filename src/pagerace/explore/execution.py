"""One execution: threads as pooled greenlets, pending events, locks, the trace.

Threads run as greenlets.  A thread announces its next event (``Execution.announce``)
and blocks until the strategy picks it; the decision is made *inline*, in the greenlet
of the thread that just announced (or finished), which then switches straight to the
chosen thread -- no central scheduler greenlet, one switch per change of thread and
none when the same thread goes on.  At every decision all unfinished threads have a
pending event: before the first decision each thread runs up to its first event.

An execution ends when all threads have finished (``"done"``), when every unfinished
thread waits for a held lock (``"deadlock"``), when a thread fails (``"failed"``: a
``ctx.fail``, an ``ExecutionSignal`` or an exception), or when the strategy abandons it
(``"cut"``: redundant or not replayable).  Threads still parked are then unwound with
an internal ``BaseException`` so that their greenlets go back to the pool.

This module holds the state of one run only; the search state that outlives runs is in
``frontier.py`` and the strategies.
"""

from __future__ import annotations

import threading
import traceback
from bisect import insort
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from greenlet import GreenletExit, getcurrent, greenlet

from pagerace.errors import ExecutionSignal, InternalError
from pagerace.explore.events import ACQUIRE, EVENT, NOTE, RELEASE, Pending, TraceEvent

if TYPE_CHECKING:
    from pagerace.explore.context import Lock

__all__ = [
    "CUT",
    "GRANT_ALL",
    "Chooser",
    "Execution",
    "FailSignal",
    "Failure",
    "GreenletPool",
]

#: A chooser returns CUT to abandon the execution.
CUT = -1

#: ``chooser(enabled, pending, current, preemptions, execution) -> thread id or CUT``.
#: ``enabled`` lists runnable threads in ascending order, ``pending[t]`` is thread t's
#: announced event (None when t finished): it has ``footprint``, ``label`` and ``kind``
#: (a ``TraceEvent``, or a cell's shared access descriptor), ``current`` the thread
#: that performed the previous event (-1 at the start), ``preemptions`` the count so
#: far, ``execution`` the ``Execution`` (``len(execution.choices)`` is the index of
#: the step being decided).
#:
#: **Run grants.**  A chooser may set ``execution.grant = k`` (k >= 1) along with
#: returning thread t: t then performs its next k events of kind ``EVENT`` without the
#: chooser being asked, exactly as if the chooser had returned t at each of those
#: steps (a thread that goes on is never a preemption).  A grant along with a lock
#: acquire or release is ignored (it changes the enabled set).  The grant lapses at any
#: step that is not such an event -- a lock acquire or release, a thread finishing --
#: where the chooser is asked again (these are the only steps at which the enabled set
#: changes), so a chooser may grant "until something changes" with ``GRANT_ALL``.  The
#: step index (``len(execution.choices)``) tells a chooser how many granted steps ran.
#: A ``GRANT_ALL`` grant also goes on through a lock acquire or release that leaves
#: the enabled set as it is (a free lock nobody else waits for, a release nobody
#: waits for): a chooser that grants "until something changes" would have chosen the
#: same thread there, with the same grant.
#:
#: **Scripts.**  A chooser may set ``execution.script`` to the threads chosen at the
#: first steps (a replayed path): the runtime then takes those steps without asking,
#: granting each the rest of its thread's run in the script (lock steps included,
#: where the thread can take them), as long as the scripted thread is enabled (when
#: it is not, the chooser is asked at that step).  The chooser must be one that would
#: return at those steps what the script says, preemption bound and all.
Chooser = Callable[[list[int], list[Pending | None], int, int, "Execution"], int]

#: What an execution's per-thread lists are before ``run`` makes them (never mutated).
_NOTHING: Any = []

#: A grant that lasts until the enabled set may change (see ``Chooser``).
GRANT_ALL = 1 << 62

#: The runtime hands a grant out in chunks of at most this many events, so that the
#: counter stays a cached small int: ``grant -= 1`` on a larger int allocates a new
#: object (~40 ns, as much again as the rest of a granted cell access).
GRANT_CHUNK = 255


class FailSignal(ExecutionSignal):
    """Raised by ``ctx.fail``: ends the execution with a finding."""

    def __init__(
        self,
        kind: str,
        message: str,
        key: Hashable | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.key = key
        self.detail = detail


class _Unwind(ExecutionSignal):
    """Thrown into parked threads when an execution ends early."""


class Failure:
    """A finding of one execution, before explore turns it into a ``Finding``: what
    ended the execution (``Execution.failure``), or a problem recorded while it went
    on (``Execution.reports``, see ``Context.report``)."""

    __slots__ = ("detail", "index", "key", "kind", "label", "message", "thread")

    def __init__(
        self,
        kind: str,
        message: str,
        key: Hashable | None,
        detail: dict[str, Any] | None,
        thread: int | None,
        label: str,
        index: int | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.key = key
        self.detail = detail
        self.thread = thread
        self.label = label
        #: for a report, the length of the trace when it was made (the records before
        #: it led to it); None for what ended the execution (the whole trace)
        self.index = index


def failure_from_exception(exc: BaseException, thread: int | None, label: str) -> Failure:
    """A ``Failure`` for a signal or an exception raised by model code."""
    if isinstance(exc, FailSignal):
        return Failure(exc.kind, exc.message, exc.key, exc.detail, thread, label)
    if isinstance(exc, ExecutionSignal):
        kind = str(getattr(exc, "kind", "bug"))
        return Failure(kind, str(exc), None, None, thread, label)
    text = "".join(traceback.format_exception(exc))
    name = type(exc).__name__
    return Failure(
        "exception",
        f"{name}: {exc}",
        ("exception", label, name),
        {"traceback": text},
        thread,
        label,
    )


def _worker(task: tuple[Execution, int, Callable[[], object]]) -> None:
    """Run loop of a pooled greenlet: one thread body per task, forever."""
    while True:
        ex, tid, body = task
        try:
            body()
            target = ex.thread_finished(tid)
        except _Unwind:
            target = ex.thread_unwound(tid)
        except GreenletExit:
            raise
        except (ExecutionSignal, Exception) as exc:
            target = ex.thread_failed(tid, exc)
        task = target.switch()


class GreenletPool:
    """Idle worker greenlets, reused across executions (start ~0.9 us vs ~9 us)."""

    _local: ClassVar[threading.local] = threading.local()

    def __init__(self) -> None:
        self.idle: list[Any] = []
        #: the greenlet using the pool (its executions run thread 0 on it)
        self.main: Any = None

    @classmethod
    def take(cls) -> GreenletPool:
        """The calling OS thread's pool (a fresh one if it is in use: nested explore)."""
        pool = getattr(cls._local, "pool", None)
        if pool is None:
            pool = cls()
        else:
            cls._local.pool = None
        main = getcurrent()
        if pool.main is not main:  # a worker returns to the greenlet using the pool
            for g in pool.idle:
                g.parent = main
            pool.main = main
        return pool

    def give_back(self) -> None:
        self.idle = [g for g in self.idle if not g.dead]
        self._local.pool = self

    def get(self) -> Any:
        """An idle worker (its parent is ``main``: see ``take``), or a new one."""
        idle = self.idle
        if idle:
            return idle.pop()
        return greenlet(_worker, self.main)


class Execution:
    """The mutable state of one run: pending events, locks, trace, outcome.

    Hot path (see docs/explorer.md, "Performance"): a thread announces with
    ``announce(tid, item)``, where ``item`` is anything with ``footprint``, ``label``
    and ``kind`` -- a ``TraceEvent`` for ``ctx.event`` and locks, a shared per-cell
    descriptor for cell accesses, so that a cell access allocates no event object.
    The announcing thread appends its trace record itself once it has been chosen
    (nothing else runs in between), so ``log`` holds ``TraceEvent``s and compact cell
    records ``(thread, access, value)``; ``trace`` and ``steps`` turn the compact
    records into ``TraceEvent``s on first use.  ``choices`` lists the thread chosen
    at each step (the schedule).
    """

    __slots__ = (
        "abridged",
        "acquiring",
        "bodies",
        "choices",
        "choose",
        "current",
        "detailed",
        "enabled",
        "failure",
        "grant",
        "granted",
        "greenlets",
        "halt",
        "lasting",
        "launcher",
        "live",
        "log",
        "main",
        "nthreads",
        "outcome",
        "pending",
        "pool",
        "preemptions",
        "recording",
        "releasing",
        "reports",
        "rest",
        "running",
        "script",
        "scripted",
        "started",
        "starting",
    )

    def __init__(
        self,
        choose: Chooser,
        recording: bool = True,
        main: Any = None,
        detailed: bool = True,
    ) -> None:
        self.choose = choose
        #: Whether cell accesses append their records to ``log``.  Without it the log
        #: holds only ``ctx.event``/lock/note records, ``trace`` and ``steps`` cannot
        #: be read, and a failure's label is unknown (the explorer re-runs a failing
        #: execution with recording on to get them).
        self.recording = recording
        #: Whether the trace will be read in full (a finding's, an observer's): model
        #: code asks with ``ctx.wants_details()`` and may leave details out when not.
        self.detailed = detailed
        #: Set when model code left details out: a failing execution is then run
        #: again, detailed, for the finding's trace.
        self.abridged = False
        #: the greenlet that calls ``run`` (thread 0 runs on it)
        self.main: Any = main if main is not None else getcurrent()
        self.nthreads = 0
        # per-thread lists, made by ``run`` (empty until then)
        self.pending: list[Any] = _NOTHING
        self.acquiring: list[Lock | None] = _NOTHING
        self.releasing: list[Lock | None] = _NOTHING
        self.greenlets: list[Any] = _NOTHING
        self.enabled: list[int] = _NOTHING
        self.live = 0
        self.log: list[Any] = []
        self.choices: list[int] = []
        self.current = -1
        self.running = -1
        self.preemptions = 0
        self.outcome: str | None = None
        #: problems recorded by ``Context.report`` while the execution went on (None
        #: until the first): findings that share this execution's schedule
        self.reports: list[Failure] | None = None
        self.failure: Failure | None = None
        self.starting = True
        self.started = 0  # threads started so far
        self.bodies: Sequence[Callable[[], object]] = ()
        self.pool: Any = None
        #: while starting, the greenlet that started the newest thread
        self.launcher: Any = None
        #: ``starting or outcome is not None``: one test on the hot path.
        self.halt = True
        #: Events the running thread may still perform unasked (see ``Chooser``): a
        #: granted event costs ``grant -= 1`` and its log record, nothing else; the
        #: ``granted - grant`` steps it took are added to ``choices`` (and ``current``
        #: is the granted thread) before the chooser is next asked, and at the end.
        self.grant = 0
        self.granted = 0
        #: what is left of a grant beyond its current chunk (see ``GRANT_CHUNK``)
        self.rest = 0
        #: the grant is ``GRANT_ALL`` (it goes on through lock steps that change nothing)
        self.lasting = False
        #: the threads of the first steps, decided in advance (see ``Chooser``)
        self.script: Sequence[int] = ()
        #: the grant comes from the script (it goes on through lock steps)
        self.scripted = False

    # -- the record of the run ---------------------------------------------------

    @property
    def trace(self) -> list[TraceEvent]:
        """Every record of the run (events and notes) as ``TraceEvent``s, in order."""
        if not self.recording:
            raise InternalError("the trace of an execution run without recording")
        log = self.log
        for i, record in enumerate(log):
            if type(record) is tuple:
                tid, access, value = record
                log[i] = access.event(tid, i, value)
        return log

    @property
    def steps(self) -> list[TraceEvent]:
        """The scheduled events (the trace without notes)."""
        return [ev for ev in self.trace if ev.kind is not NOTE]

    def _finish(self, outcome: str) -> None:
        self._sync()
        self.outcome = outcome
        self.halt = True

    def _sync(self) -> None:
        """End the grant: add the steps it took to ``choices``."""
        granted = self.granted
        if granted:
            used = granted - self.grant
            if used:
                self.choices.extend([self.current] * used)
            self.granted = 0
        self.grant = 0
        self.rest = 0
        self.lasting = self.scripted = False

    def _next_chunk(self) -> None:
        """The chunk of a longer grant is used up: add its steps, start the next."""
        self.choices.extend([self.current] * self.granted)
        rest = self.rest
        chunk = rest if rest < GRANT_CHUNK else GRANT_CHUNK
        self.rest = rest - chunk
        self.grant = self.granted = chunk

    # -- driving one run (main greenlet) ---------------------------------------------

    def run(self, bodies: Sequence[Callable[[], object]], pool: GreenletPool) -> None:
        """Run the thread bodies to the end of the execution.

        Thread 0 runs on the calling greenlet itself (one greenlet fewer to start and
        switch to); once it is over, this greenlet only waits for the end.  Each thread,
        once it has announced its first event, starts the next one; the last one takes
        the first decision."""
        n = len(bodies)
        self.nthreads = n
        self.pending = [None] * n
        self.acquiring = [None] * n
        self.releasing = [None] * n
        main = self.main
        greenlets: list[Any] = [None] * n
        greenlets[0] = main
        self.greenlets = greenlets
        self.bodies = bodies
        self.pool = pool
        self.started = 1
        self.running = 0
        self.launcher = main
        try:
            try:
                bodies[0]()
                target = self.thread_finished(0)
            except _Unwind:
                target = main
            except (ExecutionSignal, Exception) as exc:
                target = self.thread_failed(0, exc)
            if target is not main:
                target.switch()  # back here at the end of the execution
            if self.starting and self.outcome is None:
                self._launch(main)  # thread 0 finished before its first event
        finally:
            self.running = -1
            if self.outcome != "done":  # "done": no thread is parked
                self._unwind_parked()
            # The bodies (closures over the program's cells, which refer to this
            # execution) would keep a reference cycle alive until the next collection.
            self.bodies = ()
            pool.idle.extend(greenlets[1 : self.started])
        if self.outcome is None:
            raise InternalError("execution returned to the explorer without an outcome")

    def _launch(self, me: Any) -> None:
        """While starting, in greenlet ``me`` (a thread parked on its first event, or
        the calling greenlet once thread 0 is over): start the remaining threads, and
        once all have started take the first decision.  Returns when ``me`` is chosen
        or the execution is over."""
        while self.starting and self.outcome is None:
            tid = self.started
            if tid < self.nthreads:
                self.started = tid + 1
                g = self.pool.get()
                self.greenlets[tid] = g
                self.running = tid
                self.launcher = me
                # Back here when ``me`` is chosen, when the execution is over, or when
                # the thread finished before announcing anything (start the next one).
                g.switch((self, tid, self.bodies[tid]))
                continue
            self.starting = self.halt = False
            self.running = -1
            self._start_enabled()
            target = self._decide(-1)  # the first decision
            if target is not me:
                target.switch()
            return

    def _start_enabled(self) -> None:
        """The runnable threads once every thread has announced its first event; from
        then on ``enabled`` is kept up to date by announce, perform and finish."""
        acquiring = self.acquiring
        enabled = []
        live = 0
        for tid, item in enumerate(self.pending):
            if item is not None:
                live += 1
                lock = acquiring[tid]
                if lock is None or lock.holder < 0:
                    enabled.append(tid)
        self.enabled = enabled
        self.live = live

    def _unwind_parked(self) -> None:
        if self.outcome is None:
            self._finish("aborted")
        main = self.main
        for tid, g in enumerate(self.greenlets):
            if g is not None and g is not main and self.pending[tid] is not None and not g.dead:
                self.running = tid
                g.throw(_Unwind)
        self.running = -1

    # -- the decision (runs in whichever greenlet announced or finished) ------------

    def _decide(self, current: int) -> Any:
        """The one place where the runtime decides who performs the next event: ask the
        chooser (``current`` ran the previous event, -1 before the first), count the
        preemption, start the grant or perform the lock step, and return the greenlet
        to switch to (the main greenlet when the execution is over)."""
        enabled = self.enabled
        if not enabled:
            if self.live:
                self.failure = self.deadlock_failure()
                self._finish("deadlock")
            else:
                self._finish("done")
            return self.main
        choices = self.choices
        granted = self.granted
        if granted:  # the grant ends (``_sync``; ``current`` was the granted thread)
            used = granted - self.grant
            if used:
                choices.extend([current] * used)
            self.grant = self.granted = self.rest = 0
        step = len(choices)
        script = self.script
        if step < len(script) and script[step] in enabled:
            # decided in advance: the step and the rest of its thread's run
            tid = script[step]
            end = len(script)
            j = step + 1
            while j < end and script[j] == tid:
                j += 1
            self.grant = j - step - 1
            self.scripted = True
        else:
            tid = self.choose(enabled, self.pending, current, self.preemptions, self)
            if tid < 0:
                self._finish("cut")
                return self.main
            self.scripted = False
        if tid != current and current in enabled:
            self.preemptions += 1
        item = self.pending[tid]
        if item.kind is EVENT:
            grant: int = self.grant  # the chooser's grant, in chunks (``GRANT_CHUNK``)
            self.lasting = grant >= GRANT_ALL
            if grant > GRANT_CHUNK:
                self.rest = grant - GRANT_CHUNK
                self.grant = grant = GRANT_CHUNK
            self.granted = grant
        else:
            self.grant = self.granted = 0  # the enabled set may change here: no grant
            self.lasting = self.scripted = False
            self._perform_lock(tid, item)
        choices.append(tid)
        self.current = self.running = tid
        return self.greenlets[tid]

    def _perform_lock(self, tid: int, ev: TraceEvent) -> None:
        acquiring = self.acquiring
        enabled = self.enabled
        if ev.kind is ACQUIRE:
            lock = acquiring[tid]
            assert lock is not None
            lock.holder = tid
            acquiring[tid] = None
            for other in range(self.nthreads):
                if acquiring[other] is lock and other in enabled:
                    enabled.remove(other)
        elif ev.kind is RELEASE:
            lock = self.releasing[tid]
            assert lock is not None
            lock.holder = -1
            self.releasing[tid] = None
            for other in range(self.nthreads):
                if acquiring[other] is lock and other not in enabled:
                    insort(enabled, other)

    # -- called from thread greenlets ------------------------------------------------

    def announce(self, tid: int, item: Any) -> None:
        """Thread ``tid`` (the running one) announces an event of kind ``EVENT``;
        returns once it is chosen.  The caller then appends its record to ``log``."""
        if self.grant:  # granted: it goes on (the grant is 0 while halted)
            self.grant -= 1
            return
        if self.rest:  # the next chunk of a long grant
            self._next_chunk()
            self.grant -= 1
            return
        self.pending[tid] = item
        if self.halt:  # starting (start the next thread), or the execution is over
            self._park_or_unwind(tid)
            return
        target = self._decide(tid)
        if target is not self.greenlets[tid]:
            target.switch()
        if self.outcome is not None:  # a CUT, or the end while thread 0 was parked
            self._unwind_main(tid)

    def perform(self, item: Any) -> None:
        """The running thread's next event is ``item`` (a shared descriptor with
        ``footprint``, ``label`` and ``kind`` ``EVENT``, and ``event(tid, index,
        value)``); returns once it is chosen, having appended the compact record
        ``(thread, item, None)`` when recording.  Outside thread bodies: at once."""
        if self.grant:  # ``announce``'s granted path, inlined
            self.grant -= 1
        else:
            tid = self.running
            if tid < 0:
                return
            self.announce(tid, item)
        if self.recording:
            self.log.append((self.running, item, None))

    def announce_lock(self, tid: int, ev: TraceEvent) -> None:
        """Like ``announce`` for an acquire or release (``acquiring``/``releasing``
        set by the caller); appends ``ev`` to the trace once it is chosen."""
        if (self.grant or self.rest) and self._goes_on(tid, ev):
            # the grant goes on through the lock step (see ``Chooser``)
            if not self.grant:
                self._next_chunk()
            self.grant -= 1
            self._perform_lock(tid, ev)
            log = self.log
            ev.index = len(log)
            log.append(ev)
            return
        self.pending[tid] = ev
        if self.halt:
            self._park_or_unwind(tid)
        else:
            if ev.kind is ACQUIRE:
                lock = self.acquiring[tid]
                if lock is not None and lock.holder >= 0:
                    self.enabled.remove(tid)
            target = self._decide(tid)
            if target is not self.greenlets[tid]:
                target.switch()
            if self.outcome is not None:  # e.g. a deadlock found by this very step
                self._unwind_main(tid)
        log = self.log
        ev.index = len(log)
        log.append(ev)

    def _goes_on(self, tid: int, ev: TraceEvent) -> bool:
        """Whether the grant of thread ``tid`` goes on through its lock step ``ev``: a
        scripted one wherever the thread can take the step (an acquire finds the lock
        free), a ``GRANT_ALL`` one where the step also leaves the enabled set as it is
        (no other thread waits for the lock)."""
        if not (self.scripted or self.lasting):
            return False
        acquiring = self.acquiring
        if ev.kind is ACQUIRE:
            lock = acquiring[tid]  # (``tid`` itself is one of its waiters)
            if lock is None or lock.holder >= 0:
                return False
            return self.scripted or acquiring.count(lock) == 1
        return self.scripted or not acquiring.count(self.releasing[tid])

    def _park_or_unwind(self, tid: int) -> None:
        """While starting: start the next thread; back here when ``tid`` is chosen (or
        the execution is over: then unwind)."""
        if self.outcome is None:
            self._launch(self.greenlets[tid])  # starting: start the next thread
        if self.outcome is not None:
            self._unwind_main(tid)

    def _unwind_main(self, tid: int) -> None:
        """Thread ``tid`` resumed although the execution is over: only thread 0, which
        runs on the calling greenlet, is resumed so (the others get ``_Unwind`` thrown
        in by ``_unwind_parked``); it unwinds itself."""
        self.pending[tid] = None
        raise _Unwind

    def thread_finished(self, tid: int) -> Any:
        """Thread ``tid`` returned; the greenlet to switch to."""
        self.pending[tid] = None
        if self.halt:
            # finished before announcing anything: back to the thread that started it
            return self.launcher if self.outcome is None else self.main
        self.enabled.remove(tid)
        self.live -= 1
        return self._decide(tid)

    def thread_unwound(self, tid: int) -> Any:
        self.pending[tid] = None
        return self.main

    def thread_failed(self, tid: int, exc: BaseException) -> Any:
        self.pending[tid] = None
        if self.outcome is None:
            label = self._last_label(tid) if self.recording else ""
            self.failure = failure_from_exception(exc, tid, label)
            self._finish("failed")
        return self.main

    def report(self, failure: Failure) -> None:
        """Record a finding; the execution goes on (``Context.report``)."""
        if failure.thread is not None and self.recording:
            failure.label = self._last_label(failure.thread)
        failure.index = len(self.log)
        reports = self.reports
        if reports is None:
            self.reports = [failure]
        else:
            reports.append(failure)

    def failures(self) -> list[Failure]:
        """Every finding of the run: its reports in order, then what ended it."""
        out = list(self.reports) if self.reports else []
        if self.failure is not None:
            out.append(self.failure)
        return out

    def _last_label(self, tid: int) -> str:
        """The label of thread ``tid``'s last event ("start" if none): a granted event
        does not update ``pending``, the log has them all."""
        log = self.log
        for j in range(len(log) - 1, -1, -1):
            record = log[j]
            if type(record) is tuple:
                if record[0] == tid:
                    label: str = record[1].label
                    return label
            elif record.thread == tid and record.kind is not NOTE:
                label = record.label
                return label
        return "start"

    def deadlock_failure(self) -> Failure:
        """The finding for an execution that ended in ``"deadlock"``."""
        parts = []
        labels = []
        for tid in range(self.nthreads):
            lock = self.acquiring[tid]
            ev = self.pending[tid]
            if lock is not None and ev is not None:
                parts.append(f"thread {tid} waits for lock {lock.name!r} held by {lock.holder}")
                labels.append(f"{tid}:{ev.label}")
        return Failure(
            "deadlock",
            "all unfinished threads are blocked: " + "; ".join(parts),
            ("deadlock", " ".join(labels)),
            None,
            None,
            " ".join(labels),
        )
