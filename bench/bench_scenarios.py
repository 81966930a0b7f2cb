"""Scenario benchmark: executions/s of explored runs of the Xen model (a script, not a test).

    .venv/bin/python bench/bench_scenarios.py [--baseline PYTHON] [--executions N]
        [--repeat R] [--strategy S] [--bound K] [--split] [--only NAME]

Runs every bundled scenario and the bench scenarios of bench/scenarios/ (three and
four CPUs at 8 entries) on both variants, each for a fixed number of executions
(``--keep-going``, so that a finding does not end the run early), and prints
executions per CPU second of the run (the scenario's set-up and serial orders, timed
apart, taken out; CPU time rather than wall-clock time, since the machine may be
shared).  With ``--baseline PYTHON`` (the
interpreter of a second environment with another pagerace installed, e.g. an older
commit) each measurement runs in both,
alternately, in fresh processes, and the table shows both rates and their ratio; the
executions, events and findings of both are compared as well.  The machine's load
average is printed, since the figures drift when it is busy.

The ``executions`` column is this pagerace's count (a run that completes or stops
early runs fewer than asked).  The geometric mean of the ratios is printed over every
row and over the rows of at least ``LONG`` executions, where the executions
themselves dominate rather than the fixed costs of a run.

Both environments run a copy of each scenario without its ``[expect]`` table, which an
older pagerace may not be able to read (variants it does not know); with
``--keep-going`` it does not change the run.

``--bound K`` explores with preemption bound K (``iterative`` by default);
``--executions 0`` lifts the budget (a complete run).  ``--split`` also measures the
search split into work units (``pagerace run``'s default; ``jobs=1``: the units run
one after another in the measuring process) and shows its rate beside the single
search's, with the ratio split/single; a split ``dpor`` run may take more executions
than the single search (it explores every candidate at the scheduling points of the
units' prefixes), so its executions are shown too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_SCENARIOS = ROOT / "bench" / "scenarios"
#: Rows with at least this many executions measure the executions themselves; in a
#: shorter run the fixed costs of a run (a finding's detailed re-run, the first
#: executions' oracle work before the memos fill) weigh as much.
LONG = 100

# Run in a fresh interpreter of either environment: only API both have.
_MEASURE = """
import json, sys, time
from pagerace.runner import RunOptions, prepare, run_scenario
from pagerace.scenario import load_scenario
path, variant, n, strategy = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
bound, jobs = sys.argv[5], sys.argv[6:]  # (jobs: only given for a split run)
sc = load_scenario(path)
if strategy not in ("dpor", "dfs"):
    bound = None
elif bound != "iterative":
    bound = int(bound)
opts = RunOptions(strategy=strategy, preemption_bound=bound, max_executions=n or None,
                  keep_going=True, **({"jobs": int(jobs[0])} if jobs else {}))
if jobs:  # (imported before the clock starts, as the single search's modules are)
    import pagerace.explore.parallel
cpu = time.process_time()
prepare(sc, variant)  # (its time is taken out: the set-up and the serial orders)
setup = time.process_time() - cpu
start, cpu = time.perf_counter(), time.process_time()
run = run_scenario(sc, opts, variant=variant)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu - setup
r = run.result
print(json.dumps({"executions": r.executions, "events": r.stats.events,
                  "seconds": r.stats.seconds, "wall": wall, "cpu": cpu,
                  "findings": sorted([f.kind, f.schedule] for f in r.findings)}))
"""


def scenarios(only: str | None) -> list[Path]:
    bundled = sorted((ROOT / "src" / "pagerace" / "data" / "scenarios").glob("*.toml"))
    found = bundled + sorted(BENCH_SCENARIOS.glob("*.toml"))
    return [p for p in found if only is None or only in p.stem]


def without_expect(path: Path, into: Path) -> Path:
    """A copy of the scenario at ``path`` in ``into``, without its ``[expect]`` table."""
    kept = []
    skipping = False
    for line in path.read_text().splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            skipping = header == "[expect]" or header.startswith("[expect.")
        if not skipping:
            kept.append(line)
    copy = into / path.name
    copy.write_text("".join(kept))
    return copy


def measure(
    python: str, path: Path, variant: str, n: int, strategy: str, bound: str, split: bool = False
) -> dict | None:
    """The run's figures (``split``: of the search split into work units, run in the
    measuring process), or None when that pagerace cannot run the scenario (an older
    one may not know its operations)."""
    jobs = ["1"] if split else []
    out = subprocess.run(
        [python, "-c", _MEASURE, str(path), variant, str(n), strategy, bound, *jobs],
        capture_output=True,
        text=True,
        cwd="/",
    )
    if out.returncode:
        return None
    result: dict = json.loads(out.stdout)
    return result


_BUILD = """
try:
    from pagerace.build import describe
    print(describe())
except ImportError:
    print("pure Python (no pagerace.build)")
"""


def build_of(python: str) -> str:
    """Whether the pagerace of that interpreter is compiled (``pagerace.build``)."""
    out = subprocess.run([python, "-c", _BUILD], capture_output=True, text=True, cwd="/")
    return out.stdout.strip() or f"unknown ({out.stderr.strip().splitlines()[-1:]})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", metavar="PYTHON", help="interpreter of a second environment")
    ap.add_argument("--executions", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--strategy", default="dpor", choices=["dpor", "dfs", "random", "pct"])
    ap.add_argument("--bound", default="iterative", help="preemption bound: an int or iterative")
    ap.add_argument("--split", action="store_true", help="also measure the split search")
    ap.add_argument("--only", default=None, help="scenarios whose name contains this")
    args = ap.parse_args()
    if args.bound != "iterative" and not args.bound.isdigit():
        ap.error(f"--bound: an int or iterative; got {args.bound!r}")
    print(f"python {sys.version.split()[0]}; load average {os.getloadavg()}")
    print(f"this pagerace: {build_of(sys.executable)}")
    if args.baseline:
        print(f"baseline: {build_of(args.baseline)}")
    budget = f"{args.executions} executions per run" if args.executions else "complete runs"
    print(f"strategy {args.strategy}, bound {args.bound}; {budget}; median of {args.repeat}")
    head = f"{'scenario':28} {'variant':9} {'executions':>10} {'this /s':>9}"
    if args.baseline:
        head += f" {'baseline /s':>11} {'ratio':>6} same"
    if args.split:
        head += f" {'split /s':>9} {'split ex':>9} {'split/single':>12}"
    print(head)
    ratios = []
    long_ratios = []  # (rows of at least LONG executions)
    split_ratios = []
    copies = tempfile.TemporaryDirectory()
    for original in scenarios(args.only):
        path = without_expect(original, Path(copies.name))
        for variant in ("xen-4.14", "xsa-345"):
            mine: list[float] = []
            base: list[float] = []
            split: list[float] = []
            same = True
            run = (variant, args.executions, args.strategy, args.bound)
            for _ in range(args.repeat):
                a = measure(sys.executable, path, *run)
                if a is None:
                    raise SystemExit(f"{original}: this pagerace cannot run it ({variant})")
                mine.append(a["executions"] / a["cpu"])
                if args.split:
                    c = measure(sys.executable, path, *run, split=True)
                    if c is None:
                        raise SystemExit(f"{original}: split: this pagerace cannot run it")
                    split.append(c["executions"] / c["cpu"])
                if args.baseline:
                    b = measure(args.baseline, path, *run)
                    if b is None:
                        break
                    base.append(b["executions"] / b["cpu"])
                    keys = ("executions", "events", "findings")
                    same = same and all(a[k] == b[k] for k in keys)
            line = f"{path.stem:28} {variant:9} {a['executions']:10} {statistics.median(mine):9.0f}"
            if args.baseline and not base:
                line += f" {'-':>11} {'-':>6} (the baseline cannot run it)"
            elif args.baseline:
                ratio = statistics.median(mine) / statistics.median(base)
                ratios.append(ratio)
                if a["executions"] >= LONG:
                    long_ratios.append(ratio)
                line += f" {statistics.median(base):11.0f} {ratio:6.2f} {'yes' if same else 'NO'}"
            if args.split:
                ratio = statistics.median(split) / statistics.median(mine)
                split_ratios.append(ratio)
                line += f" {statistics.median(split):9.0f} {c['executions']:9} {ratio:12.2f}"
            print(line, flush=True)
    copies.cleanup()
    if ratios:
        print(f"geometric mean ratio {statistics.geometric_mean(ratios):.2f}")
    if long_ratios:
        print(
            f"geometric mean ratio of the {len(long_ratios)} rows of {LONG} executions or more"
            f" (fixed per-run costs aside) {statistics.geometric_mean(long_ratios):.2f}"
        )
    if split_ratios:
        print(f"geometric mean split/single {statistics.geometric_mean(split_ratios):.2f}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
