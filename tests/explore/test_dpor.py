"""DPOR against DFS on generated programs: same set of traces, one execution each."""

from __future__ import annotations

import random
from typing import Any

import pytest
from explore_programs import TraceForms, generated_program

from pagerace.explore import explore

Ops = list[Any]


def _ops(rng: random.Random, nested: bool) -> Ops:
    ops: Ops = []
    for _ in range(rng.randint(1, 2 if nested else 3)):
        if not nested and rng.random() < 0.25:
            ops.append(("lock", rng.choice("LM"), _ops(rng, True)))
        else:
            ops.append((rng.choice("rw"), rng.choice("abc")))
    return ops


def _spec(seed: int) -> list[Ops]:
    rng = random.Random(seed)
    return [_ops(rng, False) for _ in range(rng.randint(2, 3))]


@pytest.mark.parametrize("seed", range(40))
def test_dpor_reaches_the_traces_of_dfs_on_a_generated_program(seed: int) -> None:
    program = generated_program(_spec(seed))
    dfs_forms = TraceForms()
    dfs = explore(
        program, strategy="dfs", keep_going=True, observers=[dfs_forms], max_executions=3000
    )
    if dfs.status == "incomplete":
        pytest.skip("too many interleavings for dfs")
    dpor_forms = TraceForms()
    dpor = explore(program, strategy="dpor", keep_going=True, observers=[dpor_forms])
    assert dpor_forms.forms == dfs_forms.forms
    assert dpor.executions <= 1.1 * len(dfs_forms.forms)
