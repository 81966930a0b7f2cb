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


class PctStrategy:
    """PCT with depth ``depth`` and its own seeded RNG."""

    complete = False
    records = False

    def __init__(self, seed: int, depth: int = 3) -> None:
        self.rng = _random.Random(seed)
        self._random = self.rng.random
        self.depth = depth
        self.max_steps = 1
        self._priorities: list[int] = []
        self._points: list[int] = []
        self._next = 0

    def begin(self) -> Chooser | None:
        self._priorities = []  # drawn at the first decision, when n is known
        span = max(self.max_steps, self.depth)
        # d-1 distinct change points, uniformly (draws with rejection of repeats:
        # ``rng.sample`` costs ~3 us per execution)
        random = self._random
        points: list[int] = []
        while len(points) < self.depth - 1:
            point = int(random() * span) + 1
            if point not in points:
                points.append(point)
        points.sort()
        self._points = points
        self._next = 0  # index of the first change point not yet reached
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        priorities = self._priorities
        if not priorities:
            ranks = list(range(self.depth, self.depth + len(pending)))
            random = self._random
            for i in range(len(ranks) - 1, 0, -1):  # Fisher-Yates on rng.random()
                j = int(random() * (i + 1))
                ranks[i], ranks[j] = ranks[j], ranks[i]
            priorities.extend(ranks)
        step = len(ex.choices) + 1  # change points count steps from 1
        best = _highest(enabled, priorities)
        points = self._points
        j = self._next
        # Decisions come at least at every change point (grants end before them).
        while j < len(points) and points[j] < step:
            j += 1
        if j < len(points) and points[j] == step:
            priorities[best] = self.depth - 1 - j  # the j-th change point: drop it
            best = _highest(enabled, priorities)
            j += 1
        self._next = j
        ex.grant = points[j] - step - 1 if j < len(points) else GRANT_ALL
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
