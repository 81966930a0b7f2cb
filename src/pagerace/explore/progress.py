"""Progress of a running search, for ``on_progress`` observers.

Every ``PROGRESS_SECONDS`` or so the explorer hands its ``on_progress`` observers a
``Progress``: the counters so far, the preemption bound being explored, the size of
the frontier (branches known and not yet taken) and an estimate of the share of the
current search tree (of the current bound, under iterative bounding) already done.

The estimate sizes the tree from the current path up: at each node with a choice,
the branches not taken yet are guessed to cost the mean of the branches it has
finished (their executions are counted, ``Frontier.sizes``) and of the current one
(itself estimated so from below); a node with no finished branch yet takes its
current branch as the measure, as Knuth's estimate of a backtracking tree does.  The
share done is the executions so far over that size.  Measured sibling sizes matter:
search trees are lopsided (the first branch of a node is often the biggest), and
counting the subtrees alike made the share of a 512-entry Xen scenario's work units
stay at 0.2 or less to their end.  For ``dpor`` branches appear as races are found,
so the estimate runs ahead of the truth; it is shown as an estimate.  A search below
a path prefix (a work unit) sizes only its own subtree: the nodes of the prefix,
whose other branches are other units, are left out.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pagerace.explore.frontier import Frontier
from pagerace.explore.results import Stats

__all__ = [
    "PROGRESS_SECONDS",
    "Progress",
    "frontier_of",
    "frontier_owner",
    "progress_of",
    "share_done",
]

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


def frontier_owner(strategy: Any) -> Any:
    """``strategy`` or the strategy it wraps that has a frontier (None: none has)."""
    seen = 0
    while strategy is not None and seen < 8:
        if isinstance(getattr(strategy, "frontier", None), Frontier):
            return strategy
        strategy = getattr(strategy, "current", None) or getattr(strategy, "inner", None)
        seen += 1
    return None


def frontier_of(strategy: Any) -> Frontier | None:
    """The frontier of ``strategy`` or of the strategy it wraps (None: it has none)."""
    owner = frontier_owner(strategy)
    return None if owner is None else owner.frontier


def share_done(
    frontier: Frontier, floor: int = 0, candidates: str = "enabled"
) -> tuple[int, float]:
    """(branches left, estimated share done) of the tree below the frontier's node
    ``floor`` (0: its root; a work unit's prefix is the nodes above its floor).
    ``candidates``: a node's branches, as ``Frontier.next_branch`` takes them --
    ``"enabled"`` (DFS) or ``"backtrack"`` (DPOR: those known so far)."""
    left = 0
    size = 1.0  # the executions of the current branch of the node below (a leaf: 1)
    unknown = 0.0  # the estimated executions of finished branches not counted
    by_enabled = candidates == "enabled"
    nodes = frontier.nodes
    sizes = frontier.sizes
    k = len(sizes) - 1
    previous = None
    for depth in range(len(nodes) - 1, floor - 1, -1):
        node = nodes[depth]
        while k >= 0 and sizes[k][0] > depth:
            k -= 1
        measured = sizes[k] if k >= 0 and sizes[k][0] == depth else None
        if node is previous and measured is None:
            continue  # (the nodes of a grant: one shared object, no choice)
        previous = node
        pool = node.enabled if by_enabled else node.backtrack
        branches = [t for t in pool if t in node.enabled and t not in node.sleep]
        if node.chosen not in branches:
            branches.append(node.chosen)
        finished = sum(1 for t in node.done if t in branches)
        waiting = len(branches) - finished - 1
        left += waiting
        if measured is None:
            # the current branch is the measure of the others (finished ones too:
            # a node read back from data has no counts; their executions are not
            # among those counted here either)
            unknown += size * finished
            size *= 1 + finished + waiting
        else:
            spent, finished = measured[2], measured[3]
            mean = (spent + size) / (finished + 1)
            size = spent + size + waiting * mean
    if len(nodes) <= floor:
        return left, 0.0
    done = frontier.finished + 1 + unknown  # (the last execution, on the path, too)
    return left, min(done / size, 1.0)


def progress_of(strategy: Any, stats: Stats) -> Progress:
    owner = frontier_owner(strategy)
    bound = getattr(strategy, "bound", None)
    if owner is None:
        return Progress(stats, bound, None, None)
    floor = getattr(owner, "floor", 0)
    left, done = share_done(owner.frontier, floor, getattr(owner, "candidates", "enabled"))
    return Progress(stats, bound, left, done)
