"""Speed-up of a split run with 1 and 2 worker processes (a script, not a test).

    .venv/bin/python bench/bench_parallel.py [--scenario PATH] [--variant V] [--bound K]
        [--repeat R] [--jobs N]

Runs one complete search (default: the four-CPU bench scenario on xsa-345, preemption
bounds 0-3, keep-going: 11,291 executions, about 3.5 s in one process -- a run of the
size for which one reaches for --jobs; at bounds 0-2, 1 s, the fixed costs of a split
run weigh more, see docs/scaling.md) split into work units with --jobs 1 and --jobs N
(default 2), alternately, and prints:

* wall-clock seconds of each (the median over the repetitions), the speed-up, each
  repetition's speed-up and their median (this machine's speed varies from one
  second to the next: single repetitions range widely), the speed-up of the fastest
  runs of each (other load only ever slows a run), and whether the results
  (executions, events, findings and their schedules, coverage, verdict) are
  identical;
* where the time goes, from CPU times, which do not depend on what else the machine
  runs: per bound the units, their summed and largest CPU time and the time to split
  (in the main process), the CPU time of the main process and of the workers;
* the **ideal speed-up** on N cores: the --jobs 1 CPU time over the makespan of the
  same units, with their measured CPU times, taken in order by N idle workers (the
  bounds one after another, splitting in between; and with each bound handed out
  while the last units of the one before still run, as the split search does) --
  what the run would reach on an otherwise idle machine with no cost per unit;
* the **worker overhead**: the workers' summed CPU time with --jobs N over that of the
  units with --jobs 1 (1.00: none), and how many units divided in each --jobs N run
  (a unit that the merge waits for hands out what is left of it when a worker idles;
  the ideal speed-up counts the units undivided).

Wall-clock time is meaningful only on a machine whose cores are otherwise idle (the load
average is printed before and after); the ideal and the overhead are meaningful on any.
Also runs the search unsplit (one ``explore`` call): under a preemption bound the split
search is that search (the same executions, findings and schedules), and the speed-up
over it is what a user gains.  The ideal speed-up takes the merged units in order as
if each were known to be needed from the start; in a bounded dpor search a unit is
known to be needed only once the units before it have told where the single search
branches, and guesses on idle workers fill the wait (their CPU time is in the
workers' total, not in the units').
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pagerace.explore import parallel
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def summary(run: Any) -> tuple[object, ...]:
    r = run.result
    findings = [(f.kind, f.key, f.schedule) for f in r.findings]
    return (str(r.status), r.executions, r.stats.events, findings, r.coverage, run.status)


class Units:
    """Observer: each merged unit's CPU time, per bound."""

    def __init__(self) -> None:
        self.cpu: dict[Any, list[float]] = defaultdict(list)
        self.divided = 0  # (units that paused to hand out what was left)

    def on_unit(self, bound: Any, index: int, result: Any) -> None:
        self.cpu[bound].append(result.cpu_seconds)
        self.divided += result.rest is not None


SPLITS: list[tuple[Any, float]] = []
_split = parallel.split


def timed_split(*args: Any, **kwargs: Any) -> Any:
    start = time.process_time()
    out = _split(*args, **kwargs)
    SPLITS.append((args[2], time.process_time() - start))
    return out


parallel.split = timed_split  # type: ignore[assignment]


def makespan(units: list[float], workers: int) -> float:
    """The units, in order, each to the worker that is free first."""
    free = [0.0] * workers
    for cpu in units:
        k = free.index(min(free))
        free[k] += cpu
    return max(free)


def cpu_now() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "bench/scenarios/four-cpus-small.toml"))
    ap.add_argument("--variant", default="xsa-345")
    ap.add_argument("--bound", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    n = args.jobs
    print(f"load average {os.getloadavg()}; {sc.name} on {args.variant}, bounds 0-{args.bound}")
    base = RunOptions(preemption_bound=args.bound, keep_going=True, time_limit=None)
    start = time.perf_counter()
    whole = run_scenario(sc, base, variant=args.variant)
    unsplit = time.perf_counter() - start
    print(f"unsplit: {whole.result.executions} executions, {unsplit:.2f} s")
    times: dict[int, list[float]] = {1: [], n: []}
    results: dict[int, Any] = {}
    detail: dict[int, tuple[Units, list[tuple[Any, float]], float, float]] = {}
    divided: list[int] = []  # per --jobs N run, the units divided
    for _ in range(args.repeat):
        for jobs in (1, n):
            options = RunOptions(preemption_bound=args.bound, keep_going=True, jobs=jobs)
            units = Units()
            SPLITS.clear()
            cpu0 = cpu_now()
            start = time.perf_counter()
            run = run_scenario(sc, options, variant=args.variant, observers=[units])
            times[jobs].append(time.perf_counter() - start)
            cpu1 = cpu_now()
            detail[jobs] = (units, list(SPLITS), cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
            if jobs == n:
                divided.append(units.divided)
            results.setdefault(jobs, summary(run))
            assert results[jobs] == summary(run), "not deterministic"
    one, many = statistics.median(times[1]), statistics.median(times[n])
    print(f"split: {results[1][1]} executions, {results[1][0]}, {results[1][5]}")

    units, splits, main_cpu, _ = detail[1]
    split_cpu = dict(splits)
    total = 0.0
    span = {k: 0.0 for k in (2, 4, 8, n)}
    print("where the time goes (CPU seconds, --jobs 1):")
    for bound, cpus in units.cpu.items():
        s = split_cpu.get(bound, 0.0)
        total += s + sum(cpus)
        for k in span:
            span[k] += s + makespan(cpus, k)
        print(
            f"  bound {bound}: {len(cpus)} units, {sum(cpus):.2f} s in all, largest"
            f" {max(cpus):.3f} s, split {s:.3f} s"
        )
    rest = max(main_cpu - total, 0.0)  # preparing, merging, Python start-up not counted
    print(f"  main process {main_cpu:.2f} s ({rest:.2f} s besides splitting and units)")
    ideal = {k: (total + rest) / (v + rest) for k, v in sorted(span.items())}
    print(
        "ideal speed-up (units in order on idle workers, bounds one after another): "
        + ", ".join(f"{k} workers {v:.2f}" for k, v in ideal.items())
    )
    every = [c for cpus in units.cpu.values() for c in cpus]
    splitting = sum(split_cpu.values())
    print(
        "  with each bound handed out while the last units of the one before run: "
        + ", ".join(
            f"{k} workers {(total + rest) / (makespan(every, k) + splitting + rest):.2f}"
            for k in sorted(span)
        )
        + f"; the largest unit alone allows {(total + rest) / (max(every) + rest):.2f}"
    )
    units_n, _, main_n, children_n = detail[n]
    worker_cpu = sum(sum(c) for c in units_n.cpu.values())
    unit_cpu = sum(sum(c) for c in units.cpu.values())
    print(
        f"--jobs {n}: main process {main_n:.2f} s CPU, workers {worker_cpu:.2f} s in units"
        f" ({children_n:.2f} s in all); worker overhead {worker_cpu / unit_cpu:.2f};"
        f" units divided per run: {' '.join(map(str, divided))}"
    )
    print(f"--jobs 1: {one:.2f} s  --jobs {n}: {many:.2f} s  speed-up {one / many:.2f}")
    pairs = sorted(a / b for a, b in zip(times[1], times[n], strict=True))
    print(
        f"  each repetition's speed-up (--jobs 1 then --jobs {n}), sorted: "
        + " ".join(f"{r:.2f}" for r in pairs)
        + f"; median {statistics.median(pairs):.2f}"
    )
    fast1, fast_n = min(times[1]), min(times[n])
    print(
        f"  the fastest runs (the least disturbed: other load only slows a run): --jobs 1"
        f" {fast1:.2f} s, --jobs {n} {fast_n:.2f} s, speed-up {fast1 / fast_n:.2f}"
    )
    print(f"--jobs {n} against the unsplit search: speed-up {unsplit / many:.2f}")
    print(f"same as the unsplit search: {summary(whole) == results[n]}")
    print(f"measured / ideal: {one / many / ideal[n]:.2f}")
    print(f"identical results: {results[1] == results[n]}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
