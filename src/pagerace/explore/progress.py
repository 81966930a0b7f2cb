"""Progress of a running search, for ``on_progress`` observers.

Every ``PROGRESS_SECONDS`` or so the explorer hands its ``on_progress`` observers a
``Progress``: the counters so far, the preemption bound being explored, the size of
the frontier (branches known and not yet taken) and an estimate of the share of the
current search tree (of the current bound, under iterative bounding) already done.

The estimate weighs each node of the current path as in Knuth's estimate of a
backtracking tree: the subtrees of a node's branches count alike, so the share done
is the sum over the path of the finished branches of a node times the weight of the
node (the product of ``1/branches`` above it).  For ``dpor`` branches appear as races
are found, so the estimate runs ahead of the truth; it is shown as an estimate.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pagerace.explore.frontier import Frontier
from pagerace.explore.results import Stats

__all__ = ["PROGRESS_SECONDS", "Progress", "frontier_of", "progress_of", "share_done"]

#: How often (seconds) ``on_progress`` observers hear from a running search.
PROGRESS_SECONDS = 0.5


class Progress(NamedTuple):
    """A snapshot of a running search (see the module docstring)."""

    stats: Stats
    #: the preemption bound being explored (None: not bounded)
    bound: int | None
    #: branches on the current path not yet explored (None: the strategy samples)
    frontier: int | None
    #: estimated share (0..1) of the current search tree done (None: sampling)
    done: float | None


def frontier_of(strategy: Any) -> Frontier | None:
    """The frontier of ``strategy`` or of the strategy it wraps (None: it has none)."""
    seen = 0
    while strategy is not None and seen < 8:
        frontier = getattr(strategy, "frontier", None)
        if isinstance(frontier, Frontier):
            return frontier
        strategy = getattr(strategy, "current", None) or getattr(strategy, "inner", None)
        seen += 1
    return None


def share_done(frontier: Frontier) -> tuple[int, float]:
    """(branches left, estimated share done) of the tree below the frontier's root."""
    left = 0
    done = 0.0
    weight = 1.0
    for node in frontier.nodes:
        pool = node.backtrack if len(node.backtrack) > 1 else node.enabled
        branches = [t for t in pool if t in node.enabled and t not in node.sleep]
        if node.chosen not in branches:
            branches.append(node.chosen)
        n = len(branches)
        finished = sum(1 for t in node.done if t in branches)
        left += n - finished - 1
        done += weight * finished / n
        weight /= n
    return left, min(done, 1.0)


def progress_of(strategy: Any, stats: Stats) -> Progress:
    frontier = frontier_of(strategy)
    bound = getattr(strategy, "bound", None)
    if frontier is None:
        return Progress(stats, bound, None, None)
    left, done = share_done(frontier)
    return Progress(stats, bound, left, done)
