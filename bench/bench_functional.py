"""What the functional oracle costs in explored runs: each scenario explored with it
and without it (the tracker replaced by one that does nothing), CPU time, best of 3.

    python bench/bench_functional.py
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pagerace.runner as runner
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

SCENARIOS = Path(__file__).parents[1] / "src" / "pagerace" / "data" / "scenarios"
CASES = [
    ("xsa345-r1-small", "xen-4.14"),
    ("xsa345-r2a-small", "xen-4.14"),
    ("xsa345-r1b-small", "xen-4.14"),
    ("flush-ipi-deadlock-small", "xen-4.14"),
    ("xsa345-r1", "xen-4.14"),
    ("xsa345-r2a", "xen-4.14"),
    ("xsa345-r1b", "xen-4.14"),
]


class _Off:
    def start(self, cpu: int, op: Any) -> None:
        pass

    def begin(self, cpu: int, promise: Any) -> None:
        pass

    def finish(self, cpu: int, rc: int | None) -> None:
        pass


def main() -> None:
    with_oracle = runner.functional_oracle
    for name, variant in CASES:
        sc = load_scenario(SCENARIOS / f"{name}.toml")
        best: dict[bool, float] = {}
        executions = 0
        for on in (False, True) * 3:
            runner.functional_oracle = with_oracle if on else (lambda p, ctx, memory, **kw: _Off())
            t = time.process_time()
            options = RunOptions(preemption_bound=None, keep_going=True)
            run = run_scenario(sc, options, variant=variant)
            best[on] = min(best.get(on, 1e9), time.process_time() - t)
            executions = run.result.executions
        runner.functional_oracle = with_oracle
        print(
            f"{name:26s} {variant:9s} {executions:5d} executions"
            f"  without {best[False]:.3f} s  with {best[True]:.3f} s"
            f"  x{best[True] / best[False]:.2f}"
        )


if __name__ == "__main__":
    main()
