"""Memory over a long run (a script, not a test).

    .venv/bin/python bench/bench_memory.py [--executions 1000000]
        [--scenario-executions 1000000] [--split-executions 200000]
        [--split-sample-seconds 20] [--parts abc] [--json FILE]

(a) a bare-cell program (two threads, shared cells, a lock) under ``random`` for
--executions executions, (b) a bundled Xen scenario (xsa345-r1-small, ``random``) for
--scenario-executions executions, (c) the four-CPU bench scenario split into work
units with ``dpor`` (no bound, on every core, budget --split-executions), (d) the same
under preemption bounds 0, 1, ... (``BOUNDED_CAP``; ``pagerace run``'s way: the units
merged in the single search's order, each unit's notes of where it branches kept until
the merge passes it), budget --split-executions.  At twenty
points of each run it samples the resident set size (RSS, /proc/self/statm) and the
peak RSS so far (VmHWM in /proc/self/status) of this process; (c) and (d) are sampled every
--split-sample-seconds instead (its units finish unevenly), with the summed RSS of
the worker processes too.  Flat memory means the last samples do not grow; the report
prints the growth from the middle sample to the last.  ``--json`` writes every
sample.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pagerace.cli.options import load
from pagerace.explore import explore
from pagerace.explore.parallel import default_jobs
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

PAGE = os.sysconf("SC_PAGE_SIZE")
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = 20
#: (d) explores bounds 0 to this (the budget ends it first)
BOUNDED_CAP = 8


def rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE / 2**20
    except OSError:  # (a worker that just ended)
        return 0.0


def peak_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def workers_mib() -> float:
    """The summed RSS of this process's children (the worker processes)."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(rss_mib(pid) for pid in children)
    return total


class Sampler:
    def __init__(self, total: int, workers: bool = False) -> None:
        self.every = max(total // SAMPLES, 1)
        self.next = self.every
        self.workers = workers
        self.samples: list[dict[str, float]] = []

    def sample(self, executions: int) -> None:
        s = {"executions": executions, "rss_mib": rss_mib(), "peak_rss_mib": peak_mib()}
        if self.workers:
            s["workers_rss_mib"] = workers_mib()
        self.samples.append(s)

    def on_execution_end(self, index: int, stats: Any) -> None:
        if index + 1 >= self.next:
            self.next += self.every
            self.sample(index + 1)

    def on_progress(self, p: Any) -> None:  # (a split run: the executions so far)
        if hasattr(p, "units"):
            self.executions = p.executions

    def every_seconds(self, seconds: float) -> threading.Event:
        """Sample on a timer (a split run, whose units finish unevenly) until the
        returned event is set."""
        self.executions = 0
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(seconds):
                self.sample(self.executions)

        threading.Thread(target=loop, daemon=True).start()
        return stop

    def report(self, what: str, seconds: float, executions: int) -> dict[str, Any]:
        print(f"{what}: {executions:,} executions in {seconds:.0f} s")
        for s in self.samples:
            extra = f", workers {s['workers_rss_mib']:.1f}" if "workers_rss_mib" in s else ""
            print(
                f"  {s['executions']:>11,}: RSS {s['rss_mib']:.1f} MiB,"
                f" peak {s['peak_rss_mib']:.1f} MiB{extra}"
            )
        growth = None
        if len(self.samples) >= 2:
            mid, last = self.samples[len(self.samples) // 2], self.samples[-1]
            growth = last["rss_mib"] - mid["rss_mib"]
            print(f"  RSS growth over the second half: {growth:+.1f} MiB")
        return {
            "run": what,
            "executions": executions,
            "seconds": round(seconds, 1),
            "samples": self.samples,
            "second_half_growth_mib": growth,
        }


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
    ap.add_argument("--scenario-executions", type=int, default=1_000_000)
    ap.add_argument("--split-executions", type=int, default=200_000)
    ap.add_argument("--split-sample-seconds", type=float, default=20.0)
    ap.add_argument("--parts", default="abcd", help="which runs (a, b, c, d); default all")
    ap.add_argument("--json", default=None, help="write every sample to this file")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}; RSS at start {rss_mib():.1f} MiB")
    runs = []
    if "a" in args.parts:
        n = args.executions
        s = Sampler(n)
        start = time.perf_counter()
        r = explore(program, strategy="random", max_executions=n, observers=[s])
        runs.append(s.report("bare cells, random", time.perf_counter() - start, r.executions))
    if "b" in args.parts:
        n = args.scenario_executions
        s = Sampler(n)
        start = time.perf_counter()
        run = run_scenario(
            load("xsa345-r1-small"),
            RunOptions(strategy="random", max_executions=n, time_limit=None, keep_going=True),
            observers=[s],
        )
        elapsed = time.perf_counter() - start
        runs.append(s.report("xsa345-r1-small, random", elapsed, run.result.executions))
    if "c" in args.parts:
        runs.append(split_run(args.split_executions, args.split_sample_seconds, None))
    if "d" in args.parts:
        runs.append(split_run(args.split_executions, args.split_sample_seconds, BOUNDED_CAP))
    print(f"load average {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs}, indent=1) + "\n")


def split_run(n: int, seconds: float, bound: int | None) -> dict[str, Any]:
    sc = load_scenario(ROOT / "bench/scenarios/four-cpus-small.toml")
    s = Sampler(n, workers=True)
    start = time.perf_counter()
    stop = s.every_seconds(seconds)
    run = run_scenario(
        sc,
        RunOptions(
            preemption_bound=bound,
            max_executions=n,
            time_limit=None,
            keep_going=True,
            jobs=default_jobs(),
        ),
        observers=[s],
    )
    stop.set()
    s.sample(run.result.executions)
    elapsed = time.perf_counter() - start
    what = f"four-cpus-small, dpor split into work units on {default_jobs()} processes" + (
        f", bounds 0-{bound} in turn" if bound is not None else ", no bound"
    )
    return s.report(what, elapsed, run.result.executions)


if __name__ == "__main__":
    main()
