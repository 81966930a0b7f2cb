"""``pct``: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
Nagarakatte, ASPLOS 2010) with bug depth ``d``.

Each execution gives the n threads distinct random priorities d .. d+n-1 and picks d-1
change points among the k steps (k = the longest execution seen so far).  The enabled
thread with the highest priority runs; when step i is the j-th change point, the thread
about to run drops to priority d-1-j (below every initial priority).  A bug of depth d
is found with probability at least 1/(n k^(d-1)) per execution.

Between change points nothing changes the choice while the enabled set stays the same,
so each decision grants the chosen thread the steps up to the next change point
(``Execution.grant``).
"""

from __future__ import annotations

import random as _random

from pagerace.explore.events import Pending
from pagerace.explore.execution import GRANT_ALL, Chooser, Execution

__all__ = ["PctStrategy"]

#: "no further change point": a grant up to it lasts as long as ``GRANT_ALL``
_NEVER = GRANT_ALL + (1 << 40)


class PctStrategy:
    """PCT with depth ``depth`` and its own seeded RNG."""

    complete = False
    records = False

    def __init__(self, seed: int, depth: int = 3) -> None:
        self.rng = _random.Random(seed)
        self._random = self.rng.random
        self.depth = depth
        self.max_steps = 1
        self._nthreads = 0  # of the last execution (programs keep their thread count)
        self._priorities: list[int] | None = None
        self._points: list[int] = []
        self._next = 0  # index in ``_points`` of the next change point
        self._change_at = _NEVER  # the step of that change point

    def begin(self) -> Chooser | None:
        depth = self.depth
        span = self.max_steps if self.max_steps > depth else depth
        # d-1 distinct change points, uniformly (draws with rejection of repeats:
        # ``rng.sample`` costs ~3 us per execution)
        random = self._random
        points: list[int] = []
        drawn: set[int] = set()  # (a list's ``in`` made a depth of 20,000 take minutes)
        need = depth - 1
        while need:
            point = int(random() * span) + 1
            if point not in drawn:
                drawn.add(point)
                points.append(point)
                need -= 1
        points.sort()
        self._points = points
        self._next = 0
        self._change_at = points[0] if points else _NEVER
        # The priorities are the next draws; made here when the thread count is
        # known from the last execution, else at the first decision.
        self._priorities = self._draw_priorities(self._nthreads) if self._nthreads else None
        return self._choose

    def _draw_priorities(self, n: int) -> list[int]:
        """Priorities depth .. depth+n-1 in random order (Fisher-Yates on
        ``rng.random()``)."""
        ranks = list(range(self.depth, self.depth + n))
        random = self._random
        i = n - 1
        while i:
            j = int(random() * (i + 1))
            ranks[i], ranks[j] = ranks[j], ranks[i]
            i -= 1
        return ranks

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        priorities = self._priorities
        if priorities is None or self._nthreads != ex.nthreads:
            # (a program whose thread count changed gets the draws one execution late)
            self._nthreads = ex.nthreads
            priorities = self._priorities = self._draw_priorities(self._nthreads)
        step = len(ex.choices) + 1  # change points count steps from 1
        best = _highest(enabled, priorities)
        change = self._change_at
        # Decisions come at least at every change point (grants end before them).
        while change <= step:
            if change == step:  # the j-th change point: the running thread drops
                priorities[best] = self.depth - 1 - self._next
                best = _highest(enabled, priorities)
            self._next += 1
            points = self._points
            change = self._change_at = points[self._next] if self._next < len(points) else _NEVER
        ex.grant = change - step - 1  # up to the next change point (or for good)
        return best

    def end(self, execution: Execution) -> None:
        self.max_steps = max(self.max_steps, len(execution.choices))


def _highest(enabled: list[int], priorities: list[int]) -> int:
    """The enabled thread with the highest priority (priorities are distinct)."""
    best = enabled[0]
    top = priorities[best]
    for tid in enabled:
        if priorities[tid] > top:
            best = tid
            top = priorities[tid]
    return best
