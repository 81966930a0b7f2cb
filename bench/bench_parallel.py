"""Speed-up of a split run with 1 and 2 worker processes (a script, not a test).

    .venv/bin/python bench/bench_parallel.py [--scenario PATH] [--variant V] [--bound K]
        [--repeat R]

Runs one complete search (default: the four-CPU bench scenario on xsa-345, preemption
bound 2) with --jobs 1 and --jobs 2, alternately, and prints wall-clock seconds, the
speed-up, and whether the results (executions, events, findings and their schedules,
verdict) are identical.  Also runs the same search unsplit (one ``explore`` call) for
the number of executions that splitting adds.  Wall-clock time: the speed-up is only
meaningful on a machine whose two cores are otherwise idle (load average printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def summary(run: object) -> tuple[object, ...]:
    r = run.result  # type: ignore[attr-defined]
    findings = [(f.kind, f.schedule) for f in r.findings]
    return (str(r.status), r.executions, r.stats.events, findings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "bench/scenarios/four-cpus-small.toml"))
    ap.add_argument("--variant", default="xsa-345")
    ap.add_argument("--bound", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    print(f"load average {os.getloadavg()}; {sc.name} on {args.variant}, bound {args.bound}")
    base = RunOptions(preemption_bound=args.bound, keep_going=True)
    start = time.perf_counter()
    whole = run_scenario(sc, base, variant=args.variant)
    print(f"unsplit: {whole.result.executions} executions, {time.perf_counter() - start:.2f} s")
    times: dict[int, list[float]] = {1: [], 2: []}
    results = {}
    for _ in range(args.repeat):
        for jobs in (1, 2):
            options = RunOptions(preemption_bound=args.bound, keep_going=True, jobs=jobs)
            start = time.perf_counter()
            run = run_scenario(sc, options, variant=args.variant)
            times[jobs].append(time.perf_counter() - start)
            results.setdefault(jobs, summary(run))
            assert results[jobs] == summary(run), "not deterministic"
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"split: {results[1][1]} executions, {results[1][0]}")
    print(f"--jobs 1: {one:.2f} s  --jobs 2: {two:.2f} s  speed-up {one / two:.2f}")
    print(f"identical results: {results[1] == results[2]}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
