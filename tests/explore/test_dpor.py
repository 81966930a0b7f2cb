"""DPOR against DFS on generated programs: same set of traces, one execution each."""

from __future__ import annotations

import random
from typing import Any

import pytest
from explore_programs import TraceForms

from pagerace.explore import Context, explore

Ops = list[Any]


def _ops(rng: random.Random, nested: bool) -> Ops:
    ops: Ops = []
    for _ in range(rng.randint(1, 2 if nested else 3)):
        if not nested and rng.random() < 0.25:
            ops.append(("lock", rng.choice("LM"), _ops(rng, True)))
        else:
            ops.append((rng.choice("rw"), rng.choice("abc")))
    return ops


def _program(spec: list[Ops]) -> Any:
    def program(ctx: Context) -> Any:
        cells = {name: ctx.cell(name, 0) for name in "abc"}
        locks = {name: ctx.lock(name) for name in "LM"}

        def run(ops: Ops, tid: int) -> None:
            for op in ops:
                if op[0] == "r":
                    cells[op[1]].load()
                elif op[0] == "w":
                    cells[op[1]].store(tid)
                else:
                    with locks[op[1]]:
                        run(op[2], tid)

        def body(tid: int) -> Any:
            return lambda: run(spec[tid], tid)

        return [body(t) for t in range(len(spec))], None

    return program


def _spec(seed: int) -> list[Ops]:
    rng = random.Random(seed)
    return [_ops(rng, False) for _ in range(rng.randint(2, 3))]


@pytest.mark.parametrize("seed", range(40))
def test_dpor_reaches_the_traces_of_dfs_on_a_generated_program(seed: int) -> None:
    program = _program(_spec(seed))
    dfs_forms = TraceForms()
    dfs = explore(program, strategy="dfs", keep_going=True, observers=[dfs_forms],
                  max_executions=3000)
    if dfs.status == "incomplete":
        pytest.skip("too many interleavings for dfs")
    dpor_forms = TraceForms()
    dpor = explore(program, strategy="dpor", keep_going=True, observers=[dpor_forms])
    assert dpor_forms.forms == dfs_forms.forms
    assert dpor.executions <= 1.1 * len(dfs_forms.forms)

