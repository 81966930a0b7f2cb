"""``dfs``: every interleaving, no reduction (for validation and small programs).

Depth-first over the tree of choices kept in a ``Frontier``; each execution replays the
path down to the deepest node with an untried enabled thread, then goes on with the
running thread where it can (fewest preemptions first).
"""

from __future__ import annotations

from pagerace.errors import PageraceInputError
from pagerace.explore.events import Pending
from pagerace.explore.execution import CUT, Chooser, Execution
from pagerace.explore.frontier import Frontier, Node

__all__ = ["DfsStrategy", "nondeterminism_message"]


def nondeterminism_message(step: int, tid: int, enabled: list[int]) -> str:
    return (
        f"program: not deterministic: replaying step {step}, thread {tid} is not runnable "
        f"(runnable: {enabled}); program(ctx) must build the same state on every call"
    )


class DfsStrategy:
    """Every interleaving, depth-first."""

    complete = True

    def __init__(self) -> None:
        self.frontier = Frontier()
        self._started = False
        self._step = 0
        self._error: str | None = None

    def begin(self) -> Chooser | None:
        if self._started and self.frontier.next_branch("enabled") is None:
            return None
        self._started = True
        self._step = 0
        return self._choose

    def _choose(
        self, enabled: list[int], pending: list[Pending | None], current: int, pre: int
    ) -> int:
        step = self._step
        self._step = step + 1
        nodes = self.frontier.nodes
        if step < len(nodes):
            tid = nodes[step].chosen
            if tid not in enabled:
                self._error = nondeterminism_message(step, tid, enabled)
                return CUT
            return tid
        tid = current if current in enabled else enabled[0]
        nodes.append(Node(list(enabled), tid))
        return tid

    def end(self, execution: Execution) -> None:
        if self._error is not None:
            raise PageraceInputError(self._error)
