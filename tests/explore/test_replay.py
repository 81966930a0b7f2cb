"""Replay and determinism: every finding's schedule reproduces it."""

from __future__ import annotations

from typing import Any

import pytest
from explore_programs import (
    TraceForms,
    dining_philosophers,
    locked_increments,
    racy_increments,
)

from pagerace.errors import PageraceInputError
from pagerace.explore import Context, Status, explore


def _crashing(ctx: Context) -> Any:
    x = ctx.cell("x", 0)

    def divider() -> None:
        x.store(0)

    def reader() -> None:
        value = x.load()
        if value == 0:
            raise ZeroDivisionError("x was zero")

    ctx_cell = ctx.cell("y", 1)

    def setter() -> None:
        ctx_cell.store(2)
        x.store(1)

    return [setter, divider, reader], None


FINDING_PROGRAMS = [
    ("racy increments", racy_increments(2)),
    ("racy increments x3", racy_increments(3)),
    ("philosophers", dining_philosophers(3)),
    ("exception", _crashing),
]


@pytest.mark.parametrize("strategy", ["dpor", "dfs", "random", "pct"])
@pytest.mark.parametrize(
    ("name", "program"), FINDING_PROGRAMS, ids=[n for n, _ in FINDING_PROGRAMS]
)
def test_replaying_a_findings_schedule_reproduces_the_same_finding(
    strategy: str, name: str, program: Any
) -> None:
    result = explore(program, strategy=strategy, keep_going=True, max_executions=200)
    assert result.findings
    for finding in result.findings:
        again = explore(program, strategy="replay", schedule=finding.schedule)
        assert again.executions == 1
        (replayed,) = again.findings
        assert (replayed.kind, replayed.message, replayed.key) == (
            finding.kind,
            finding.message,
            finding.key,
        )
        assert replayed.schedule == finding.schedule
        assert replayed.preemptions == finding.preemptions
        assert [(e.thread, e.label) for e in replayed.trace] == [
            (e.thread, e.label) for e in finding.trace
        ]


def test_replaying_a_clean_schedule_gives_a_clean_single_execution() -> None:
    result = explore(locked_increments(2, 1), strategy="replay", schedule="v1:0x4.1x4")
    assert result.status is Status.CLEAN
    assert result.executions == 1


@pytest.mark.parametrize(
    ("schedule", "message"),
    [("v1:1x3", "not runnable"), ("v1:0x2", "ends after"), ("v1:0x2.1x2.0", "ended after")],
)
def test_a_schedule_that_does_not_fit_the_program_is_an_input_error(
    schedule: str, message: str
) -> None:
    with pytest.raises(PageraceInputError, match=f"schedule: .*{message}"):
        explore(racy_increments(2), strategy="replay", schedule=schedule)


@pytest.mark.parametrize("strategy", ["dpor", "dfs", "random", "pct"])
def test_the_same_seed_gives_the_same_executions_in_the_same_order(strategy: str) -> None:
    runs = []
    for _ in range(2):
        forms = TraceForms()
        explore(
            locked_increments(3, 2),
            strategy=strategy,
            seed=7,
            max_executions=50,
            observers=[forms],
        )
        runs.append(forms.schedules)
    assert runs[0] == runs[1]
    assert len(runs[0]) == 50


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_different_seeds_give_different_executions(strategy: str) -> None:
    runs = []
    for seed in (1, 2):
        forms = TraceForms()
        explore(
            locked_increments(3, 2),
            strategy=strategy,
            seed=seed,
            max_executions=20,
            observers=[forms],
        )
        runs.append(forms.schedules)
    assert runs[0] != runs[1]
