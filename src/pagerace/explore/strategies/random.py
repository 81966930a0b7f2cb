"""``random``: a uniformly random enabled thread at every step (seeded, own RNG).

Every step is an independent uniform choice among the enabled threads, but the RNG is
not asked at every step: after choosing thread t among m enabled threads, the number
g of further steps on which t would be chosen again is drawn at once (geometric,
P(g >= k) = m**-k) and granted (``Execution.grant``); the step after them, if t is
still running with the same m threads enabled, is a uniform choice among the *other*
threads.  A grant cut short (a lock or a finishing thread changes the enabled set)
is dropped and the next step is drawn afresh, which is exact since the geometric
distribution is memoryless.  Same seed, same schedules.
"""

from __future__ import annotations

import math
import random as _random

from pagerace.explore.events import Pending
from pagerace.explore.execution import GRANT_ALL, Chooser, Execution
from pagerace.explore.schedule import MAX_THREADS

__all__ = ["RandomStrategy"]

# -1 / ln(m): g = int(ln(1 - u) * _INV_LOG[m]) has P(g >= k) = m**-k
_INV_LOG = [0.0, 0.0] + [-1.0 / math.log(m) for m in range(2, MAX_THREADS + 1)]


class RandomStrategy:
    """Random walks; never complete, so the status is at best ``incomplete``."""

    complete = False
    records = False

    def __init__(self, seed: int) -> None:
        self.rng = _random.Random(seed)
        self._random = self.rng.random
        self._leave_at = -1  # the step at which the running thread's drawn run ends

    def begin(self) -> Chooser | None:
        self._leave_at = -1
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        m = len(enabled)
        if m == 1:
            ex.grant = GRANT_ALL
            self._leave_at = -1
            return enabled[0]
        random = self._random
        step = len(ex.choices)
        if step == self._leave_at and current in enabled:
            if m == 2:  # the other one (no draw needed)
                tid = enabled[1] if enabled[0] == current else enabled[0]
            else:
                i = int(random() * (m - 1))  # uniform among the others
                tid = enabled[i] if enabled[i] < current else enabled[i + 1]
        else:
            tid = enabled[int(random() * m)]
        stays = int(math.log(1.0 - random()) * _INV_LOG[m])
        ex.grant = stays
        self._leave_at = step + stays + 1
        return tid

    def end(self, execution: Execution) -> None:
        pass
