"""``stop_when`` ends a keep-going search early; an int ``preemption_bound`` caps
iterative bounding."""

from __future__ import annotations

from typing import Any

from pagerace.explore import explore


def racy(ctx: Any) -> Any:
    x = ctx.cell("x", 0)
    y = ctx.cell("y", 0)

    def a() -> None:
        x.store(x.load() + 1)
        y.store(y.load() + 1)

    def check() -> None:
        ctx.check(x.peek() == 2, "lost x")
        ctx.check(y.peek() == 2, "lost y")

    return [a, a], check


def test_keep_going_without_stop_when_finds_both_lost_updates() -> None:
    r = explore(racy, keep_going=True)
    assert {f.message for f in r.findings} == {"lost x", "lost y"}


def test_stop_when_ends_the_search_once_it_returns_true() -> None:
    full = explore(racy, keep_going=True)
    r = explore(racy, keep_going=True, stop_when=lambda fs: len(fs) >= 1)
    assert len(r.findings) == 1
    assert r.executions < full.executions


def fork_chain(ctx: Any) -> Any:
    # thread 1 finds x == 3 only if it runs between thread 0's stores: 2 preemptions
    x = ctx.cell("x", 0)

    def t0() -> None:
        x.store(1)
        x.store(2)
        x.store(3)
        x.store(4)

    def t1() -> None:
        ctx.check(x.load() != 3, "saw 3")

    return [t0, t1], None


def test_a_cap_below_the_needed_preemptions_finds_nothing_and_reports_the_cut() -> None:
    r = explore(fork_chain, preemption_bound=0)
    assert r.findings == ()
    assert r.stats.bound_cut


def test_a_cap_that_allows_the_bug_finds_it_with_the_fewest_preemptions() -> None:
    r = explore(fork_chain, preemption_bound=3)
    assert [f.message for f in r.findings] == ["saw 3"]
    uncapped = explore(fork_chain, preemption_bound="iterative")
    assert r.findings[0].preemptions == uncapped.findings[0].preemptions
