"""Random and PCT find the lost increment quickly; they never claim ``clean``."""

from __future__ import annotations

import pytest
from explore_programs import locked_increments, racy_increments

from pagerace.explore import Status, explore


@pytest.mark.parametrize("strategy", ["random", "pct"])
@pytest.mark.parametrize("seed", range(10))
def test_sampling_finds_the_lost_increment_within_100_executions(strategy: str, seed: int) -> None:
    result = explore(racy_increments(2), strategy=strategy, seed=seed, max_executions=100)
    assert result.status is Status.FOUND
    assert result.findings[0].message == "lost increment"
    assert result.executions <= 100


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_sampling_a_correct_program_is_incomplete_not_clean(strategy: str) -> None:
    result = explore(locked_increments(2, 2), strategy=strategy, max_executions=30)
    assert result.status is Status.INCOMPLETE
    assert result.executions == 30


def test_pct_depth_is_an_option() -> None:
    result = explore(racy_increments(2), strategy="pct", pct_depth=1, max_executions=50)
    assert result.executions <= 50
