"""XSA-345 under the model checker: time to the first finding, time to completion.

    python bench/bench_xsa345.py [--repeat 3]

For each bundled race scenario: seconds until the expected finding on xen-4.14
(iterative preemption bounding), and seconds to explore xsa-345 completely (no
preemption bound at 8 entries; bound 2 at 512 entries, as the scenarios say).
Medians of --repeat runs.  Numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

SCENARIOS = Path(__file__).parents[1] / "src" / "pagerace" / "data" / "scenarios"


def measure(name: str, variant: str, options: RunOptions, repeat: int) -> tuple[float, object]:
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    times = []
    run = None
    for _ in range(repeat):
        start = time.perf_counter()
        run = run_scenario(sc, options, variant=variant)
        times.append(time.perf_counter() - start)
    return statistics.median(times), run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(
        f"{'scenario':<18} {'variant':<9} {'bound':<9} {'result':<8} {'finding':<15}"
        f" {'execs':>7} {'events':>8} {'seconds':>8} {'execs/s':>8}"
    )
    for race in ("xsa345-r1", "xsa345-r1b", "xsa345-r2a"):
        for name in (race, race + "-small"):
            small = name.endswith("-small")
            for variant, bound in (("xen-4.14", "iterative"), ("xsa-345", None if small else 2)):
                options = RunOptions(preemption_bound=bound)
                seconds, run = measure(name, variant, options, args.repeat)
                r = run.result  # type: ignore[attr-defined]
                kinds = ",".join(run.kinds) or "-"  # type: ignore[attr-defined]
                print(
                    f"{name:<18} {variant:<9} {bound!s:<9} {r.status!s:<8} {kinds:<15}"
                    f" {r.executions:>7} {r.stats.events:>8} {seconds:>8.3f}"
                    f" {r.executions / seconds:>8.0f}"
                )


if __name__ == "__main__":
    main()
