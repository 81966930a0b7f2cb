"""Small programs for the explorer's tests (litmus tests and friends)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pagerace.explore import Context, canonical_form

Program = Callable[[Context], Any]


def locked_increments(nthreads: int, increments: int) -> Program:
    """Each thread increments one counter ``increments`` times under one lock."""

    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)
        lock = ctx.lock("L")

        def worker() -> None:
            for _ in range(increments):
                with lock:
                    x.store(x.load() + 1)

        def check() -> None:
            ctx.check(x.peek() == nthreads * increments, "lost increment")

        return [worker] * nthreads, check

    return program


def racy_increments(nthreads: int = 2) -> Program:
    """``x.store(x.load() + 1)`` in each thread, without a lock."""

    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def worker() -> None:
            x.store(x.load() + 1)

        def check() -> None:
            ctx.check(x.peek() == nthreads, "lost increment")

        return [worker] * nthreads, check

    return program


def own_cells(nthreads: int = 2, accesses: int = 2) -> Program:
    """Each thread writes and reads only its own cell."""

    def program(ctx: Context) -> Any:
        cells = [ctx.cell(f"c{t}", 0) for t in range(nthreads)]

        def body(t: int) -> Callable[[], None]:
            def run() -> None:
                cell = cells[t]
                for _ in range(accesses):
                    cell.store(cell.load() + 1)

            return run

        return [body(t) for t in range(nthreads)], None

    return program


def dining_philosophers(n: int = 3) -> Program:
    """Philosopher i takes fork i, then fork i+1 (mod n): can deadlock."""

    def program(ctx: Context) -> Any:
        forks = [ctx.lock(f"fork{i}") for i in range(n)]
        meals = ctx.cell("meals", 0)

        def philosopher(i: int) -> Callable[[], None]:
            def run() -> None:
                with forks[i], forks[(i + 1) % n]:
                    meals.store(meals.load() + 1)

            return run

        return [philosopher(i) for i in range(n)], None

    return program


def message_passing() -> Program:
    """Writer: data, then flag.  Reader: when it sees the flag, data must be there."""

    def program(ctx: Context) -> Any:
        data = ctx.cell("data", 0)
        flag = ctx.cell("flag", 0)

        def writer() -> None:
            data.store(42)
            flag.store(1)

        def reader() -> None:
            if flag.load() == 1:
                ctx.check(data.load() == 42, "reader saw the flag but not the data")

        return [writer, reader], None

    return program


class TraceForms:
    """Observer collecting the canonical forms and schedules of executions."""

    def __init__(self) -> None:
        self.forms: set[object] = set()
        self.schedules: list[str] = []

    def on_execution(self, record: Any) -> None:
        self.forms.add(canonical_form(record.trace))
        self.schedules.append(record.schedule)


def generated_program(spec: list[Any]) -> Any:
    """Threads running ops: ``("r", cell)``, ``("w", cell)``, ``("lock", L, ops)``,
    ``("event", ((cell, is_write), ...))`` (a ``ctx.event`` on those cells' keys),
    ``("note",)`` and ``("check", cell)`` (fails when the thread reads its own store)."""

    def program(ctx: Context) -> Any:
        cells = {name: ctx.cell(name, 0) for name in "abc"}
        locks = {name: ctx.lock(name) for name in "LM"}

        def run(ops: list[Any], tid: int) -> None:
            for op in ops:
                if op[0] == "r":
                    cells[op[1]].load()
                elif op[0] == "w":
                    cells[op[1]].store(tid)
                elif op[0] == "event":
                    ctx.event(tuple((("cell", key), w) for key, w in op[1]), "E")
                elif op[0] == "note":
                    ctx.note("n")
                elif op[0] == "check":
                    ctx.check(cells[op[1]].load() != tid, "saw its own store")
                else:
                    with locks[op[1]]:
                        run(op[2], tid)

        def body(tid: int) -> Any:
            return lambda: run(spec[tid], tid)

        return [body(t) for t in range(len(spec))], None

    return program


def _generated_ops(rng: random.Random, inner: bool) -> list[Any]:
    ops: list[Any] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.2 and not inner:
            ops.append(("lock", rng.choice("LM"), _generated_ops(rng, True)))
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
        return generated_program([_generated_ops(rng, False) for _ in range(rng.randint(2, 3))])


def summary(result: Any) -> tuple[Any, ...]:
    """What two searches that should be one compare: verdict, executions, traces,
    events, and each finding's kind, key, schedule and preemptions."""
    return (
        str(result.status),
        result.executions,
        result.traces,
        result.stats.events,
        [(f.kind, f.key, f.schedule, f.preemptions) for f in result.findings],
    )


def in_one_process_and_on(pool: Any, search: Any, **options: Any) -> tuple[Any, Any]:
    """``explore_units(search, ..., **options)`` run in this process, then on ``pool``."""
    from pagerace.explore.parallel import InlineExecutor, explore_units

    return explore_units(search, InlineExecutor(), **options), explore_units(
        search, pool, **options
    )
