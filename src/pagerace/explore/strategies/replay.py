"""``replay``: run exactly one execution, the one a schedule string describes."""

from __future__ import annotations

from pagerace.errors import PageraceInputError
from pagerace.explore.events import Pending
from pagerace.explore.execution import CUT, Chooser, Execution
from pagerace.explore.schedule import Schedule

__all__ = ["ReplayStrategy"]


class ReplayStrategy:
    """Follows ``schedule`` step by step; a step that does not fit is an input error."""

    complete = True

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._done = False
        self._pos = 0
        self._error: str | None = None

    def begin(self) -> Chooser | None:
        if self._done:
            return None
        self._done = True
        return self._choose

    def _choose(
        self, enabled: list[int], pending: list[Pending | None], current: int, pre: int
    ) -> int:
        pos = self._pos
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
        self._pos = pos + 1
        return tid

    def end(self, execution: Execution) -> None:
        if self._error is None and self._pos < len(self.schedule.steps):
            self._error = (
                f"schedule: has {len(self.schedule.steps)} steps but the execution ended "
                f"after {self._pos}"
            )
        if self._error is not None:
            raise PageraceInputError(self._error)
