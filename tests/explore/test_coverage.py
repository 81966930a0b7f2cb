"""Searches that end and say what they covered: keep-going under iterative bounding
stops widening, ``Coverage`` per bound, progress snapshots, and Ctrl-C."""

from __future__ import annotations

from typing import Any

import pytest
from explore_programs import locked_increments, racy_increments

from pagerace.errors import Interrupted
from pagerace.explore import Context, Status, explore
from pagerace.explore.frontier import Frontier, Node
from pagerace.explore.progress import Progress, share_done


def _many_races(ctx: Context) -> Any:
    """Three threads, each two unlocked increments: bounds keep cutting for long,
    and every finding (one key) is found at bound 1."""
    x = ctx.cell("x", 0)

    def worker() -> None:
        for _ in range(2):
            x.store(x.load() + 1)

    def check() -> None:
        ctx.check(x.peek() == 6, "lost increment")

    return [worker, worker, worker], check


def test_keep_going_under_iterative_bounding_stops_widening_when_a_bound_adds_nothing() -> None:
    result = explore(_many_races, preemption_bound="iterative", keep_going=True)
    cov = result.coverage
    assert result.status is Status.FOUND
    assert cov.stopped_by == "nothing new"
    assert not cov.complete
    assert [b.bound for b in cov.bounds] == [0, 1, 2]
    assert [b.new_findings for b in cov.bounds] == [0, 1, 0]
    assert all(b.complete for b in cov.bounds)
    assert sum(b.executions for b in cov.bounds) == result.executions


def test_a_search_that_finishes_is_complete_and_says_so_per_bound() -> None:
    result = explore(locked_increments(2, 1), strategy="dfs", preemption_bound="iterative")
    assert result.status is Status.CLEAN
    assert result.coverage.stopped_by == "complete"
    assert result.coverage.complete
    assert result.coverage.bounds[-1].complete


def test_a_budget_cut_says_which_limit_and_leaves_the_last_bound_incomplete() -> None:
    result = explore(_many_races, preemption_bound="iterative", keep_going=True, max_executions=7)
    cov = result.coverage
    assert cov.stopped_by == "max_executions"
    assert not cov.complete
    assert not cov.bounds[-1].complete
    assert all(b.complete for b in cov.bounds[:-1])
    timed = explore(locked_increments(4, 3), strategy="dfs", time_limit=0.05)
    assert timed.coverage.stopped_by == "time_limit"


def test_the_first_finding_and_sampling_are_named_as_such() -> None:
    assert explore(racy_increments(2)).coverage.stopped_by == "finding"
    sampled = explore(locked_increments(2, 1), strategy="random", max_executions=5)
    assert sampled.status is Status.INCOMPLETE
    assert sampled.coverage.stopped_by == "max_executions"


def test_ctrl_c_raises_interrupted_carrying_the_findings_so_far() -> None:
    class CtrlC:
        def on_finding(self, finding: Any) -> None:
            self.found = True

        def on_execution_end(self, index: int, stats: Any) -> None:
            if getattr(self, "found", False):
                raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        explore(_many_races, keep_going=True, observers=[CtrlC()])
    result = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert result.coverage.stopped_by == "interrupted"
    assert result.status is Status.FOUND
    assert result.findings[0].message == "lost increment"
    # the explorer is usable again afterwards
    assert explore(racy_increments(2)).status is Status.FOUND


def test_progress_snapshots_carry_the_bound_the_frontier_and_an_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pagerace.explore.explorer as explorer

    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    seen: list[Progress] = []

    class Watch:
        def on_progress(self, progress: Progress) -> None:
            seen.append(progress)

    explore(
        locked_increments(3, 2), strategy="dfs", preemption_bound="iterative", observers=[Watch()]
    )
    assert seen
    assert {p.bound for p in seen} >= {1, 2}
    assert all(p.frontier is not None and p.frontier >= 0 for p in seen)
    assert all(p.done is not None and 0 <= p.done <= 1 for p in seen)
    assert [p.stats.executions for p in seen] == sorted(p.stats.executions for p in seen)


def _dfs_shares(tree: list[Any]) -> list[float]:
    """The share done after each execution of a depth-first walk over ``tree`` (a
    node: the list of its children; a leaf: [])."""
    frontier = Frontier()

    def descend(sub: list[Any]) -> None:
        while sub:
            frontier.nodes.append(Node(list(range(len(sub))), 0, [0]))
            sub = sub[0]

    descend(tree)
    shares = [share_done(frontier)[1]]
    while (depth := frontier.next_branch("enabled")) is not None:
        sub = tree
        for node in frontier.nodes[: depth + 1]:
            sub = sub[node.chosen]
        descend(sub)
        shares.append(share_done(frontier)[1])
    return shares


def test_the_share_done_of_a_regular_tree_is_exact() -> None:
    leaf: list[Any] = []
    assert _dfs_shares([[leaf, leaf], [leaf, leaf], [leaf, leaf]]) == pytest.approx(
        [k / 6 for k in range(1, 7)]
    )


def test_the_share_done_learns_the_sizes_of_finished_branches() -> None:
    # a lopsided tree: the first branch of the root holds 8 of its 10 leaves
    leaf: list[Any] = []
    big = [[leaf, leaf], [leaf, leaf], [leaf, leaf], [leaf, leaf]]
    shares = _dfs_shares([big, leaf, leaf])
    assert len(shares) == 10 and shares[-1] == 1.0  # the last branch: exact
    # before the big branch is finished, its remaining two siblings' nodes measure it:
    assert shares[0] == pytest.approx(1 / 24)  # (2 x 4 leaves, times 3 at the root)
    # once it is, the branch left is sized by the mean of it and the current one
    assert shares[8] == pytest.approx(9 / (8 + 1 + (8 + 1) / 2))
    assert all(0 < s <= 1 for s in shares)


def test_the_share_done_of_a_unit_leaves_its_prefix_out_and_dpor_counts_its_backtrack_set() -> None:
    # nodes read back from data (no counts): the current branch measures the others
    frontier = Frontier([Node([0, 1], 1, [0, 1], [0]), Node([0, 1, 2], 1, [0, 1, 2], [0])])
    assert share_done(frontier) == (1, pytest.approx(5 / 6))
    # below a prefix of one node: only the second node's branches
    assert share_done(frontier, floor=1) == (1, pytest.approx(2 / 3))
    assert share_done(Frontier()) == (0, 0.0)
    # dpor: a node's branches are its backtrack set, not every enabled thread
    frontier = Frontier([Node([0, 1, 2], 0, [0], []), Node([0, 1], 1, [0, 1], [0])])
    assert share_done(frontier, candidates="backtrack") == (0, pytest.approx(1.0))
    assert share_done(frontier, candidates="enabled") == (2, pytest.approx(2 / 6))


def test_a_capped_keep_going_search_explores_every_bound_up_to_its_cap() -> None:
    result = explore(_many_races, preemption_bound=2, keep_going=True)
    assert [b.bound for b in result.coverage.bounds] == [0, 1, 2]
    assert result.coverage.stopped_by == "complete"  # within bound 2
    capped = explore(_many_races, preemption_bound=3, keep_going=True)
    assert [b.bound for b in capped.coverage.bounds] == [0, 1, 2, 3]
