"""Exploration split into work units: the result does not depend on the executor or
the number of workers, ``dfs`` split so is exactly ``dfs``, and split ``dpor`` still
reaches every Mazurkiewicz trace."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from explore_programs import TraceForms, generated_program

from pagerace.explore import explore
from pagerace.explore.parallel import InlineExecutor, Search, explore_units, process_executor


def _ops(rng: random.Random, inner: bool) -> list[Any]:
    ops: list[Any] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.2 and not inner:
            ops.append(("lock", rng.choice("LM"), _ops(rng, True)))
        elif roll < 0.3:
            ops.append(("check", rng.choice("ab")))
        else:
            ops.append((rng.choice("rw"), rng.choice("abc")))
    return ops


@dataclass(frozen=True)
class Generated:
    """A picklable recipe: the generated program of ``seed``."""

    seed: int

    def __call__(self) -> Any:
        rng = random.Random(self.seed)
        return generated_program([_ops(rng, False) for _ in range(rng.randint(2, 3))])


def _summary(result: Any) -> tuple[Any, ...]:
    return (
        str(result.status),
        result.executions,
        result.traces,
        result.stats.events,
        [(f.kind, f.key, f.schedule, f.preemptions) for f in result.findings],
    )


@pytest.fixture(scope="module")
def pool() -> Any:
    executor = process_executor(2)
    yield executor
    executor.shutdown()


CONFIGS: list[tuple[str, Any, bool, int | None]] = [
    ("dpor", None, True, None),
    ("dpor", "iterative", True, None),
    ("dpor", "iterative", False, None),
    ("dfs", None, True, 300),
    ("dpor", None, True, 7),
]


@pytest.mark.parametrize("seed", range(8))
def test_the_result_does_not_depend_on_the_workers(seed: int, pool: Any) -> None:
    for strategy, bound, keep_going, budget in CONFIGS:
        search = Search(
            Generated(seed),
            strategy=strategy,
            keep_going=keep_going,
            max_executions=budget,
            count_traces=True,
        )
        one = explore_units(search, InlineExecutor(), preemption_bound=bound)
        two = explore_units(search, pool, preemption_bound=bound)
        assert _summary(one) == _summary(two), (seed, strategy, bound, keep_going, budget)


@pytest.mark.parametrize("seed", range(8))
def test_split_dfs_is_dfs(seed: int) -> None:
    program = Generated(seed)()
    whole = explore(program, strategy="dfs", keep_going=True, max_executions=400)
    split = explore_units(
        Search(Generated(seed), strategy="dfs", keep_going=True, max_executions=400),
        InlineExecutor(),
    )
    assert _summary(whole)[:2] == _summary(split)[:2]
    assert _summary(whole)[3:] == _summary(split)[3:]


@pytest.mark.parametrize("seed", range(10))
def test_split_dpor_reaches_every_trace(seed: int) -> None:
    program = Generated(seed)()
    forms = TraceForms()
    dfs = explore(program, strategy="dfs", keep_going=True, observers=[forms], max_executions=3000)
    if str(dfs.status) == "incomplete":
        pytest.skip("too many interleavings for dfs")
    split = explore_units(
        Search(Generated(seed), strategy="dpor", keep_going=True, count_traces=True),
        InlineExecutor(),
    )
    assert {f.kind for f in split.findings} == {f.kind for f in dfs.findings}
    if not dfs.findings:  # (a failing execution ends early: fewer traces to reach)
        assert split.traces == len(forms.forms)


class _Progress:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_progress(self, progress: Any) -> None:
        self.seen.append(progress)


def test_progress_after_each_unit() -> None:
    watch = _Progress()
    result = explore_units(
        Search(Generated(3), strategy="dpor", keep_going=True),
        InlineExecutor(),
        preemption_bound="iterative",
        observers=[watch],
    )
    assert watch.seen and result.stats.units == len(watch.seen)
    for p in watch.seen:
        assert p.units_done + p.units_left == p.units
        assert p.remaining_estimate >= 0 and p.executions <= result.executions
    last = watch.seen[-1]
    assert last.units_left == 0 and last.remaining_estimate == 0
    assert last.executions == result.executions
