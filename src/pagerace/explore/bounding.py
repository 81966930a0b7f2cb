"""Wrappers that add bounds and budgets to any strategy.

* ``PreemptionBound(inner, k)``: once an execution has made ``k`` preemptions (a switch
  away from a thread that could have gone on), only the running thread may be chosen
  while it is runnable.  ``cut`` records whether this ever excluded a choice.
* ``IterativeBound(make_inner, max_bound=None)``: bounds 0, 1, 2, ... (up to
  ``max_bound``) with a fresh inner strategy each;
  moves to the next bound only when the current one is exhausted and cut something, so
  the first finding has the fewest preemptions that any finding needs.
* ``Budget(inner, max_executions, time_limit)``: stops handing out executions when the
  budget is spent (``exhausted``).  It is the only place that reads the clock.

None of them is known to the runtime, which sees only ``Strategy``.  Run grants
(``Execution.grant``) pass through, except that ``PreemptionBound`` drops a grant
whose steps it would have filtered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pagerace.explore.events import Pending
from pagerace.explore.execution import Chooser, Execution
from pagerace.explore.strategies.base import Strategy

__all__ = ["Budget", "IterativeBound", "PreemptionBound"]


class PreemptionBound:
    """At most ``bound`` preemptions per execution."""

    def __init__(self, inner: Strategy, bound: int) -> None:
        self.inner = inner
        self.bound = bound
        self.cut = False
        self.complete = inner.complete
        self.records = inner.records
        self._choose_inner: Chooser | None = None

    def begin(self) -> Chooser | None:
        chooser = self.inner.begin()
        if chooser is None:
            return None
        self._choose_inner = chooser
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        assert self._choose_inner is not None
        if pre >= self.bound and len(enabled) > 1 and current in enabled:
            self.cut = True
            return self._choose_inner([current], pending, current, pre, ex)
        tid = self._choose_inner(enabled, pending, current, pre, ex)
        if ex.grant and len(enabled) > 1:
            # The granted steps would see only [tid] once the bound is reached (and
            # set ``cut``): ask at each of them instead.
            if tid != current and current in enabled:
                pre += 1
            if pre >= self.bound:
                ex.grant = 0
        return tid

    def end(self, execution: Execution) -> None:
        self.inner.end(execution)


class IterativeBound:
    """Preemption bounds 0, 1, 2, ... until a bound cuts nothing (or the caller stops).

    ``widen()``, asked when a bound that cut something is finished, may refuse the next
    bound (``stopped_widening`` then tells so)."""

    def __init__(
        self,
        make_inner: Callable[[], Strategy],
        max_bound: int | None = None,
        widen: Callable[[], bool] | None = None,
    ) -> None:
        self.make_inner = make_inner
        self.max_bound = max_bound
        self.widen = widen
        self.stopped_widening = False
        self.current = PreemptionBound(make_inner(), 0)
        self.complete = self.current.complete
        self.records = self.current.records

    @property
    def bound(self) -> int:
        return self.current.bound

    @property
    def cut(self) -> bool:
        return self.current.cut

    def begin(self) -> Chooser | None:
        while True:
            chooser = self.current.begin()
            if chooser is not None:
                return chooser
            if not self.current.cut:
                return None
            if self.max_bound is not None and self.current.bound >= self.max_bound:
                return None  # complete within the largest bound asked for
            if self.widen is not None and not self.widen():
                self.stopped_widening = True
                return None
            self.current = PreemptionBound(self.make_inner(), self.current.bound + 1)

    def end(self, execution: Execution) -> None:
        self.current.end(execution)


class Budget:
    """Stops after ``max_executions`` executions or ``time_limit`` seconds."""

    def __init__(
        self, inner: Strategy, max_executions: int | None, time_limit: float | None
    ) -> None:
        self.inner = inner
        self.max_executions = max_executions
        self.time_limit = time_limit
        self.complete = inner.complete
        self.records = inner.records
        self.exhausted = False
        #: what ended the search when ``exhausted``: "max_executions" or "time_limit"
        self.reason = ""
        self.executions = 0
        self._limit = max_executions if max_executions is not None else float("inf")
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the budget was created."""
        return time.perf_counter() - self._start

    def begin(self) -> Chooser | None:
        chooser = self.inner.begin()
        if chooser is None:
            return None
        if self.executions >= self._limit:
            self.reason = "max_executions"
        elif self.time_limit is not None and self.elapsed() >= self.time_limit:
            self.reason = "time_limit"
        if self.reason:
            # Something is left to explore: the budget, not the search, ends here.  The
            # inner strategy has already moved to that branch, so a resumed search
            # starts there.
            self.exhausted = True
            return None
        self.executions += 1
        return chooser

    def end(self, execution: Execution) -> None:
        self.inner.end(execution)
