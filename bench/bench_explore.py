"""Microbenchmarks of pagerace.explore (numbers, not pass/fail).

Programs of 2 threads x 25 accesses each (alternating load and store):
``independent`` (each thread its own cell), ``shared`` (both threads on two shared
cells: ``a`` only loaded, ``b`` only stored), and ``model-shaped independent``
(``independent`` with each access made through a call chain of depth 4, the way model
code reaches memory).

How the numbers are measured (wall clock, ``time.perf_counter``; the fastest of
--repeat runs, as timeit advises):

* executions/s of one ``explore`` call = ``Result.executions / Result.stats.seconds``
  (``random``, ``pct``, ``dfs``, ``dpor`` with ``max_executions``);
* executions/s of repeated calls ("calls" rows) = executions / wall time of N whole
  ``explore`` calls (``replay`` of ``v1:0x25.1x25``; ``dpor``, which on the
  independent programs is one execution per call) -- this includes each call's set-up;
* ``replay``: the same N replay calls, each timed by its own ``Stats.seconds``: one
  explored execution with a single scheduling decision, without the call's set-up;
* overhead ratio = (seconds per explored execution) / (seconds per direct run), where a
  direct run calls the same ``program`` on a direct-mode context whose cells are plain
  Python objects (``load``/``store`` are attribute accesses) and runs the same thread
  bodies one after the other: the same accesses, no explorer.
* floor: an execution of 2 empty threads (start and finish a pooled greenlet, one
  ``program`` call, the explorer's loop), to show the fixed cost per execution.

Usage: .venv/bin/python bench/bench_explore.py [--repeat N] [--executions N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from collections.abc import Callable
from typing import Any

from pagerace.explore import explore

ACCESSES = 25


class _DirectCell:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def load(self) -> Any:
        return self.value

    def store(self, value: Any) -> None:
        self.value = value


class _DirectContext:
    """What the model code would see in direct (sequential) mode."""

    def cell(self, name: str, init: Any = None) -> _DirectCell:
        return _DirectCell(init)


def make_program(shared: bool) -> Callable[[Any], Any]:
    def program(ctx: Any) -> Any:
        if shared:
            cells = [ctx.cell("a", 0), ctx.cell("b", 0)]
        else:
            cells = [ctx.cell("t0", 0), ctx.cell("t1", 0)]

        def body(tid: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(ACCESSES):
                    cell = cells[i % 2] if shared else cells[tid]
                    if i % 2:
                        cell.store(i)
                    else:
                        cell.load()

            return run

        return [body(0), body(1)], None

    return program


def make_model_program() -> Callable[[Any], Any]:
    """``independent`` with each access made the way model code makes it: through a
    call chain of depth 4 (operation -> walk -> entry -> cell), the shape for which
    the performance notes measure ~139 ns per plain access."""

    def program(ctx: Any) -> Any:
        cells = [ctx.cell("t0", 0), ctx.cell("t1", 0)]

        def entry(cell: Any, i: int) -> Any:
            if i % 2:
                cell.store(i)
                return i
            return cell.load()

        def walk(cell: Any, i: int) -> Any:
            return entry(cell, i)

        def operation(tid: int, i: int) -> Any:
            return walk(cells[tid], i)

        def body(tid: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(ACCESSES):
                    operation(tid, i)

            return run

        return [body(0), body(1)], None

    return program


def direct_seconds_per_execution(program: Callable[[Any], Any], n: int) -> float:
    ctx = _DirectContext()
    start = time.perf_counter()
    for _ in range(n):
        bodies, _check = program(ctx)
        for body in bodies:
            body()
    return (time.perf_counter() - start) / n


def sampled(program: Callable[[Any], Any], strategy: str, n: int) -> float:
    """Seconds per execution of one explore call running n executions."""
    result = explore(program, strategy=strategy, max_executions=n)
    assert result.executions == n, result
    return result.stats.seconds / n


def repeated_calls(program: Callable[[Any], Any], n: int, **options: Any) -> float:
    """Seconds per execution over n whole explore calls (each 1 execution here)."""
    start = time.perf_counter()
    executions = 0
    for _ in range(n):
        executions += explore(program, **options).executions
    return (time.perf_counter() - start) / executions


def replay_execution(program: Callable[[Any], Any], n: int) -> float:
    """Seconds of the replayed execution itself: n ``replay`` calls, each timed by its
    own ``Stats.seconds`` (the exploration loop, without the call's argument checks
    and result)."""
    seconds = 0.0
    for _ in range(n):
        seconds += explore(program, strategy="replay", schedule=REPLAY).stats.seconds
    return seconds / n


def empty_program(ctx: Any) -> Any:
    return [_nothing, _nothing], None


def _nothing() -> None:
    pass


REPLAY = f"v1:0x{ACCESSES}.1x{ACCESSES}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--executions", type=int, default=20000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    n = args.executions

    def best(measure: Callable[..., float], *margs: Any, **options: Any) -> float:
        """The fastest of --repeat runs (as timeit advises: slower runs measure the
        machine's other load, not the code)."""
        return min(measure(*margs, **options) for _ in range(args.repeat))

    if args.profile:
        program = make_program(False)
        profiler = cProfile.Profile()
        profiler.enable()
        explore(program, strategy="random", max_executions=n)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return

    explore(make_program(False), strategy="pct", max_executions=n)  # warm up
    rows = []
    programs = (
        ("independent", make_program(False)),
        ("shared", make_program(True)),
        ("model-shaped independent", make_model_program()),
    )
    # The direct runs are short and sensitive to what the collector has to scan: each is
    # measured before and after all explorations, after a collection, and the faster
    # figure is kept.
    gc.collect()
    directs = {name: best(direct_seconds_per_execution, program, n) for name, program in programs}
    for name, program in programs:
        results: dict[str, float] = {}
        for strategy in ("random", "pct", "dfs"):
            results[strategy] = best(sampled, program, strategy, n)
        if name == "shared":
            results["dpor"] = best(sampled, program, "dpor", n)
        else:
            results["dpor calls"] = best(repeated_calls, program, n // 4)
        results["replay calls"] = best(
            repeated_calls, program, n // 4, strategy="replay", schedule=REPLAY
        )
        results["replay"] = best(replay_execution, program, n // 4)
        rows.append((name, results))
    floor = best(sampled, empty_program, "random", n)
    gc.collect()
    for name, program in programs:
        directs[name] = min(directs[name], best(direct_seconds_per_execution, program, n))

    print(
        f"{ACCESSES} accesses x 2 threads; best of {args.repeat} runs of {n} executions"
        f" ({n // 4} calls for the replay and dpor-calls rows)"
    )
    print(f"floor: execution of 2 empty threads {floor * 1e6:.1f} us ({1 / floor:,.0f}/s)")
    for name, results in rows:
        direct = directs[name]
        print(f"\n{name}: direct run of the bodies {direct * 1e6:.1f} us/execution")
        for label, per in results.items():
            rate = 1 / per
            print(
                f"  {label:13s} {rate:10,.0f} executions/s  {per * 1e6:6.1f} us/execution"
                f"  overhead x{per / direct:.2f}"
            )


if __name__ == "__main__":
    main()
