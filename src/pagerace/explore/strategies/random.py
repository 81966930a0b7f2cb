"""``random``: a uniformly random enabled thread at every step (seeded, own RNG)."""

from __future__ import annotations

import random as _random

from pagerace.explore.events import Pending
from pagerace.explore.execution import Chooser, Execution

__all__ = ["RandomStrategy"]


class RandomStrategy:
    """Random walks; never complete, so the status is at best ``incomplete``."""

    complete = False

    def __init__(self, seed: int) -> None:
        self.rng = _random.Random(seed)
        self._random = self.rng.random

    def begin(self) -> Chooser | None:
        return self._choose

    def _choose(
        self, enabled: list[int], pending: list[Pending | None], current: int, pre: int
    ) -> int:
        if len(enabled) == 1:
            return enabled[0]
        return enabled[int(self._random() * len(enabled))]

    def end(self, execution: Execution) -> None:
        pass
