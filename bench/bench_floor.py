"""The floor of pagerace.explore's design: a stripped-down runtime, for comparison.

Runs bench_explore's ``independent`` program (2 threads x 25 accesses) the way the
explorer does -- thread 0 on the calling greenlet, thread 1 on a pooled greenlet
started at thread 0's first event, quiet cells that count granted events, a pct-like
decision (priorities, two change points) taken inline by the thread that announces or
finishes -- and nothing else: no strategy objects, budget, argument checks, locks,
failure handling, unwinding or statistics.  What ``explore(strategy="pct")`` costs
above this is the price of its generality.

Usage: .venv/bin/python bench/bench_floor.py [--executions N] [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from bench_explore import _DirectContext, make_program
from greenlet import getcurrent, greenlet

from pagerace.explore import explore


class _Run:
    __slots__ = (
        "bodies",
        "choices",
        "enabled",
        "grant",
        "granted",
        "greenlets",
        "main",
        "next_point",
        "points",
        "pool",
        "priorities",
        "running",
        "started",
    )
    bodies: list[Any]
    choices: list[int]
    enabled: list[int]
    grant: int
    granted: int
    greenlets: list[Any]
    main: Any
    next_point: int
    points: list[int]
    pool: list[Any]
    priorities: list[int]
    running: int
    started: int


class _Cell:
    __slots__ = ("run", "value")

    def __init__(self, run: _Run, value: Any) -> None:
        self.run = run
        self.value = value

    def load(self) -> Any:
        run = self.run
        if run.grant:
            run.grant -= 1
        else:
            _announce(run)
        return self.value

    def store(self, value: Any) -> None:
        run = self.run
        if run.grant:
            run.grant -= 1
        else:
            _announce(run)
        self.value = value


class _Context:
    run: _Run

    def cell(self, name: str, init: Any = None) -> _Cell:
        return _Cell(self.run, init)


def _decide(run: _Run) -> int:
    """pct: the enabled thread of highest priority; at a change point it drops."""
    used = run.granted - run.grant  # the granted steps taken: part of the schedule
    if used:
        run.choices.extend([run.running] * used)
    enabled = run.enabled
    priorities = run.priorities
    step = len(run.choices) + 1
    best = _highest(enabled, priorities)
    points = run.points
    if run.next_point < len(points) and points[run.next_point] == step:
        priorities[best] = -1 - run.next_point
        run.next_point += 1
        best = _highest(enabled, priorities)
    run.grant = points[run.next_point] - step - 1 if run.next_point < len(points) else 255
    run.granted = run.grant
    run.choices.append(best)
    return best


def _highest(enabled: list[int], priorities: list[int]) -> int:
    best = enabled[0]
    for tid in enabled:
        if priorities[tid] > priorities[best]:
            best = tid
    return best


def _announce(run: _Run) -> None:
    tid = run.running
    if run.started == 1:  # thread 0's first event: start thread 1
        run.started = 2
        g = run.pool.pop()
        run.greenlets[1] = g
        run.running = 1
        g.switch((run, 1))
        return
    choice = _decide(run)
    if choice != tid:
        run.running = choice
        run.greenlets[choice].switch()


def _finished(run: _Run, tid: int) -> Any:
    run.enabled.remove(tid)
    if not run.enabled:
        run.choices.extend([tid] * (run.granted - run.grant))
        return run.main
    choice = _decide(run)
    run.running = choice
    return run.greenlets[choice]


def _worker(task: tuple[_Run, int]) -> None:
    while True:
        run, tid = task
        run.bodies[tid]()
        task = _finished(run, tid).switch()


def run_once(program: Any, ctx: _Context, pool: list[Any], rng: random.Random, main: Any) -> None:
    run = _Run()
    run.grant = run.granted = 0
    run.running = 0
    run.started = 1
    run.choices = []
    run.enabled = [0, 1]
    run.main = main
    run.greenlets = [main, None]
    run.pool = pool
    draw = rng.random
    first, second = int(draw() * 50) + 1, int(draw() * 50) + 1
    run.points = [first, second] if first < second else [second, first]
    run.next_point = 0
    run.priorities = [2, 3] if draw() < 0.5 else [3, 2]
    ctx.run = run
    run.bodies, _check = program(ctx)
    run.bodies[0]()
    target = _finished(run, 0)
    if target is not main:
        target.switch()
    pool.append(run.greenlets[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.executions
    program = make_program(False)
    pool = [greenlet(_worker, getcurrent())]
    ctx = _Context()
    rng = random.Random(0)
    here = getcurrent()

    def best(measure: Any) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            measure()
            times.append((time.perf_counter() - start) / n)
        return min(times)

    def floor_runs() -> None:
        for _ in range(n):
            run_once(program, ctx, pool, rng, here)

    def direct_runs() -> None:
        direct_ctx = _DirectContext()
        for _ in range(n):
            bodies, _check = program(direct_ctx)
            for body in bodies:
                body()

    def pct_runs() -> None:
        explore(program, strategy="pct", max_executions=n)

    direct = best(direct_runs)
    floor = best(floor_runs)
    pct = best(pct_runs)
    print(f"direct run of the bodies        {direct * 1e6:6.1f} us")
    print(f"stripped-down pct-like runtime  {floor * 1e6:6.1f} us  x{floor / direct:.2f}")
    print(f"explore(strategy='pct')         {pct * 1e6:6.1f} us  x{pct / direct:.2f}")


if __name__ == "__main__":
    main()
