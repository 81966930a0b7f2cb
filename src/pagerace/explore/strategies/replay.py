"""``replay``: run exactly one execution, the one a schedule string describes."""

from __future__ import annotations

from bisect import bisect_right
from itertools import compress
from operator import ne

from pagerace.errors import PageraceInputError
from pagerace.explore.events import Pending
from pagerace.explore.execution import CUT, Chooser, Execution
from pagerace.explore.schedule import Schedule

__all__ = ["ReplayStrategy"]


class ReplayStrategy:
    """Follows ``schedule`` step by step; a step that does not fit is an input error.

    At each step it is asked it grants the rest of the schedule's run of the chosen
    thread (``Execution.grant``), so a run ``0x25`` costs one decision."""

    complete = True
    records = False

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._done = False
        self._pos = 0
        self._error: str | None = None
        # where a run of one thread ends and the next begins (C-level iteration)
        steps = schedule.steps
        self._boundaries = list(compress(range(1, len(steps)), map(ne, steps, steps[1:])))

    def begin(self) -> Chooser | None:
        if self._done:
            return None
        self._done = True
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        pos = len(ex.choices)
        steps = self.schedule.steps
        if pos >= len(steps):
            self._error = (
                f"schedule: ends after {len(steps)} steps but threads {enabled} can still run"
            )
            return CUT
        tid = steps[pos]
        if tid not in enabled:
            self._error = (
                f"schedule: step {pos} chooses thread {tid}, which is not runnable "
                f"(runnable: {enabled})"
            )
            return CUT
        boundaries = self._boundaries
        j = bisect_right(boundaries, pos)
        end = boundaries[j] if j < len(boundaries) else len(steps)
        ex.grant = end - pos - 1  # the rest of tid's run
        return tid

    def end(self, execution: Execution) -> None:
        if self._error is None:
            self._pos = len(execution.choices)
            if self._pos < len(self.schedule.steps):
                self._error = (
                    f"schedule: has {len(self.schedule.steps)} steps but the execution "
                    f"ended after {self._pos}"
                )
        if self._error is not None:
            raise PageraceInputError(self._error)
