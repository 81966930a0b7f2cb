"""pagerace hunt: what a time-limited hunt finds, how fast, and what --jobs buys.

    python bench/bench_hunt.py [--seconds 300] [--jobs 2] [--out /tmp/bench-hunt]
    python bench/bench_hunt.py --speedup [--scenarios 16]

The first form runs two hunts of --seconds each: on xen-4.14 (every kind the
vulnerable code can show, each minimised) and on xsa-345 with --disjoint (no
memory-safety finding, no BUG expected).  For each it prints the distinct
signatures and kinds, the time to the first finding of each kind, scenarios/s and
executions/s, the largest minimised counterexample of each kind (CPUs x ops per
CPU), and whether `pagerace run` reproduces each file.  The second form runs the
same --scenarios with --jobs 1 and --jobs 2 and prints the speed-up.  Numbers, not
pass/fail; on a shared machine they vary from run to run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from pagerace.hunt import GenOptions, HuntOptions, hunt, hunt_dict

KINDS = (
    "use-after-free",
    "double-free",
    "bad-free",
    "bug",
    "wild-write",
    "leak",
    "lost-update",
    "stale-tlb",
)
MEMORY = ("use-after-free", "double-free", "bad-free", "bug", "wild-write")


def campaign(variant: str, disjoint: bool, seconds: float, jobs: int, out: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    options = HuntOptions(
        gen=GenOptions(variant=variant, disjoint=disjoint), jobs=jobs, time_limit=seconds
    )
    result = hunt(options, out)
    data = hunt_dict(result)
    st = data["stats"]
    print(f"\n== {variant}{' --disjoint' if disjoint else ''}: {seconds:.0f} s, {jobs} jobs ==")
    print(
        f"{len(data['signatures'])} signatures, {len(data['kinds'])} kinds;"
        f" {st['scenarios']} scenarios ({st['scenarios_per_second']:.2f}/s),"
        f" {st['executions']:,} executions ({st['executions_per_second']:,.0f}/s),"
        f" {st['seconds']:.0f} s with minimising"
    )
    for kind in KINDS:
        sigs = [s for s in data["signatures"] if s["kind"] == kind]
        if not sigs:
            print(f"  {kind:15} -")
            continue
        best = min(sigs, key=lambda s: (s["cpus"] or 99, s["max_ops_per_cpu"] or 99))
        faults = sorted({s["fault"] for s in sigs})
        print(
            f"  {kind:15} first {data['kinds'][kind]:6.1f} s  {len(sigs):3} signatures"
            f"  smallest {best['cpus']} CPUs x {best['max_ops_per_cpu']} ops"
            f" ({'minimised' if best['minimised'] else 'not minimised'}, run: {best['run']})"
            f"  fault {'/'.join(faults)}"
        )
    if disjoint:
        bad = [s for s in data["signatures"] if s["kind"] in MEMORY]
        print(f"  memory-safety or BUG findings under --disjoint: {len(bad)}")
        for s in bad:
            print(f"    {s['signature']} ({s['scenario']})")


def speedup(scenarios: int) -> None:
    times = {}
    for jobs in (1, 2):
        out = f"/tmp/bench-hunt-speedup-{jobs}"
        shutil.rmtree(out, ignore_errors=True)
        options = HuntOptions(seed=1, jobs=jobs, time_limit=None, max_scenarios=scenarios)
        start = time.perf_counter()
        result = hunt(options, out)
        times[jobs] = time.perf_counter() - start
        minimised = sum(bool(r.result and r.result.minimised) for r in result.records)
        print(
            f"--jobs {jobs}: {scenarios} scenarios, {len(result.records)} signatures"
            f" ({minimised} minimised) in {times[jobs]:.1f} s"
        )
    print(f"speed-up of --jobs 2 over --jobs 1: {times[1] / times[2]:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="/tmp/bench-hunt")
    ap.add_argument("--speedup", action="store_true")
    ap.add_argument("--scenarios", type=int, default=16)
    args = ap.parse_args()
    if args.speedup:
        speedup(args.scenarios)
        return
    campaign("xen-4.14", False, args.seconds, args.jobs, args.out + "/xen-4.14")
    campaign("xsa-345", True, args.seconds, args.jobs, args.out + "/xsa-345-disjoint")


if __name__ == "__main__":
    main()
