"""Memory over a long run (a script, not a test).

    .venv/bin/python bench/bench_memory.py [--executions 1000000] [--scenario-executions 100000]

(a) a bare-cell program (two threads, shared cells, a lock) under ``random`` for
--executions executions, (b) a bundled Xen scenario (xsa345-r1-small, ``random``) for
--scenario-executions executions, (c) the same scenario split into work units with
``dpor`` (iterative bounding, budget --scenario-executions): the resident set size
(RSS, from /proc/self/statm) is sampled every tenth of the run.  Flat memory means
the last samples do not grow.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from pagerace.cli.options import load
from pagerace.explore import explore
from pagerace.runner import RunOptions, run_scenario

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


class Sampler:
    def __init__(self, total: int) -> None:
        self.every = max(total // 10, 1)
        self.samples: list[tuple[int, float]] = []

    def on_execution_end(self, index: int, stats: Any) -> None:
        if (index + 1) % self.every == 0:
            self.samples.append((index + 1, rss_mib()))

    def on_progress(self, p: Any) -> None:
        self.samples.append((p.executions, rss_mib()))

    def show(self, what: str, seconds: float) -> None:
        print(f"{what} ({seconds:.0f} s):")
        print("  " + "  ".join(f"{n:,}: {mib:.1f} MiB" for n, mib in self.samples))


def program(ctx: Any) -> Any:
    a, b = ctx.cell("a", 0), ctx.cell("b", 0)
    lock = ctx.lock("L")

    def t0() -> None:
        for _ in range(5):
            a.store(a.load() + 1)
        with lock:
            b.store(b.load() + 1)

    def t1() -> None:
        for _ in range(5):
            b.load()
        with lock:
            a.store(a.load() + 1)

    return [t0, t1], None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=1_000_000)
    ap.add_argument("--scenario-executions", type=int, default=100_000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}; RSS at start {rss_mib():.1f} MiB")
    s = Sampler(args.executions)
    start = time.perf_counter()
    explore(program, strategy="random", max_executions=args.executions, observers=[s])
    s.show(f"bare cells, random, {args.executions:,} executions", time.perf_counter() - start)
    n = args.scenario_executions
    sc = load("xsa345-r1-small")
    s = Sampler(n)
    start = time.perf_counter()
    run_scenario(
        sc, RunOptions(strategy="random", max_executions=n, keep_going=True), observers=[s]
    )
    s.show(f"xsa345-r1-small, random, {n:,} executions", time.perf_counter() - start)
    s = Sampler(n)
    start = time.perf_counter()
    run_scenario(
        sc,
        RunOptions(preemption_bound=None, max_executions=n, keep_going=True, jobs=1),
        observers=[s],
    )
    s.show(f"xsa345-r1-small, dpor split into units, {n:,} executions", time.perf_counter() - start)


if __name__ == "__main__":
    main()
