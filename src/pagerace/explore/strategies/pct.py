"""``pct``: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
Nagarakatte, ASPLOS 2010) with bug depth ``d``.

Each execution gives the n threads distinct random priorities d .. d+n-1 and picks d-1
change points among the k steps (k = the longest execution seen so far).  The enabled
thread with the highest priority runs; when step i is the j-th change point, the thread
about to run drops to priority d-1-j (below every initial priority).  A bug of depth d
is found with probability at least 1/(n k^(d-1)) per execution.
"""

from __future__ import annotations

import random as _random

from pagerace.explore.events import Pending
from pagerace.explore.execution import Chooser, Execution

__all__ = ["PctStrategy"]


class PctStrategy:
    """PCT with depth ``depth`` and its own seeded RNG."""

    complete = False

    def __init__(self, seed: int, depth: int = 3) -> None:
        self.rng = _random.Random(seed)
        self.depth = depth
        self.max_steps = 1
        self._priorities: list[int] = []
        self._changes: dict[int, int] = {}
        self._step = 0

    def begin(self) -> Chooser | None:
        self._priorities = []
        span = max(self.max_steps, self.depth)
        points = self.rng.sample(range(1, span + 1), self.depth - 1)
        self._changes = {step: j for j, step in enumerate(sorted(points))}
        self._step = 0
        return self._choose

    def _choose(
        self, enabled: list[int], pending: list[Pending | None], current: int, pre: int
    ) -> int:
        priorities = self._priorities
        if not priorities:
            ranks = list(range(self.depth, self.depth + len(pending)))
            self.rng.shuffle(ranks)
            priorities.extend(ranks)
        self._step += 1
        best = max(enabled, key=priorities.__getitem__)
        change = self._changes.get(self._step)
        if change is not None:
            priorities[best] = self.depth - 1 - change
            best = max(enabled, key=priorities.__getitem__)
        return best

    def end(self, execution: Execution) -> None:
        self.max_steps = max(self.max_steps, len(execution.choices))
