"""pagerace.explore -- a generic stateless model checker for 1..8 simulated threads.

It runs a program many times, each time from fresh state, and at every shared event
lets a strategy decide which thread performs its pending event next.  It knows nothing
of page tables: events carry footprints, tuples of ``(key, is_write)`` pairs; two
events of different threads are dependent iff they share a key that one of them writes.

High-level API::

    def program(ctx):                    # called once per execution: fresh state
        x = ctx.cell("x", 0)
        lock = ctx.lock("L")
        def worker():
            with lock:
                x.store(x.load() + 1)
        def check():                     # at quiescence (all threads finished)
            ctx.check(x.peek() == 2, "lost increment")
        return [worker, worker], check

    result = explore(program, strategy="dpor", count_traces=True)
    result = explore(program, ExploreOptions(strategy="dfs", preemption_bound=2))

``explore(program, options=None, *, observers=(), stop_when=None, **fields)`` ->
``Result(status, executions, traces, findings, stats, strategy, coverage)``.
``options`` is an ``ExploreOptions`` (``pagerace.explore.options`` documents every
field: strategy, preemption_bound, fewest_first, max_executions, time_limit, seed,
keep_going, count_traces, schedule, pct_depth); keyword ``fields`` override it.
``strategy`` is ``dpor`` | ``dfs`` | ``random`` | ``pct`` | ``replay`` (with
``schedule=``); ``preemption_bound`` is None, an int K >= 0 (bounds 0, 1, ..., K in
turn on dpor/dfs; a cap per sampled execution on random/pct) or ``"iterative"`` (K =
0, 1, 2, ... until a finding or a bound that cuts nothing; dpor, dfs).
``result.coverage`` says why the search ended and, per bound, what it covered.
Ctrl-C raises ``Interrupted`` (a ``KeyboardInterrupt``) carrying the result so far.

Low-level API (what ``pagerace.machine`` builds on), all on ``ctx``:

* ``ctx.event(footprint, label, detail=None) -> TraceEvent`` -- from a thread body:
  announce the thread's next event and return once the strategy has chosen it.  The
  caller then performs the effect in plain Python; nothing else runs until this
  thread's next ``ctx.event`` or lock call, or until it finishes.  The returned record
  (``thread``, ``index``, ``label``, ``footprint``, ``detail``, ``kind``) is in the
  trace; the caller may set or update ``detail`` after the effect.
* ``ctx.note(label, detail=None) -> TraceEvent`` -- a trace record, no scheduling point.
* ``ctx.lock(name)`` -> lock with ``acquire(label=None)``, ``release(label=None)`` and
  the context manager; acquire/release write the key ``("lock", name)``; a thread
  waiting for a held lock is not runnable; all unfinished threads waiting is a
  ``deadlock`` finding.
* ``ctx.fail(kind, message, key=None, detail=None)`` -- from a thread body or the
  check: ends the execution with a finding (an ``ExecutionSignal``, a
  ``BaseException``, so ``except Exception`` in model code cannot swallow it).
  ``ctx.check(cond, message)`` is ``fail("assert", message)`` when ``cond`` is false.
* ``ctx.report(kind, message, key=None, detail=None)`` -- from a thread body or the
  check: records a finding and returns; the execution goes on.  All findings of one
  execution (its reports, then what ended it) share its schedule and trace
  (``Finding.at``: how much of the trace preceded a report).
  Any other exception in a thread body or check is a finding of kind ``exception``
  with its traceback in ``detail["traceback"]``.
* ``ctx.thread`` (running thread, 0-based; -1 outside thread bodies), ``ctx.nthreads``.
* ``ctx.cell(name, init)`` -> ``load``/``store``/``cas`` (events on key
  ``("cell", name)``) and ``peek`` (no event).
* ``explore(..., observers=[...])``: see ``pagerace.explore.observers``; nothing in
  this package prints.
"""

from pagerace.explore.canonical import canonical_form
from pagerace.explore.context import Access, Cell, Context, Lock
from pagerace.explore.events import Footprint, TraceEvent, dependent
from pagerace.explore.explorer import DEFAULT_SAMPLED_EXECUTIONS, STRATEGIES, explore
from pagerace.explore.frontier import Frontier, Node
from pagerace.explore.observers import ExecutionRecord, ExploreInfo
from pagerace.explore.options import EXHAUSTIVE, SAMPLING, ExploreOptions, OptionError
from pagerace.explore.progress import Progress
from pagerace.explore.results import (
    STOP_REASONS,
    BoundCoverage,
    Coverage,
    Finding,
    Result,
    Stats,
    Status,
)
from pagerace.explore.schedule import MAX_THREADS, Schedule

__all__ = [
    "DEFAULT_SAMPLED_EXECUTIONS",
    "EXHAUSTIVE",
    "MAX_THREADS",
    "SAMPLING",
    "STOP_REASONS",
    "STRATEGIES",
    "Access",
    "BoundCoverage",
    "Cell",
    "Context",
    "Coverage",
    "ExecutionRecord",
    "ExploreInfo",
    "ExploreOptions",
    "Finding",
    "Footprint",
    "Frontier",
    "Lock",
    "Node",
    "OptionError",
    "Progress",
    "Result",
    "Schedule",
    "Stats",
    "Status",
    "TraceEvent",
    "canonical_form",
    "dependent",
    "explore",
]
