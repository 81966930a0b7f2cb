"""Fuzz every input of pagerace at length: scenario TOML, expressions, vector lines,
`xl info`, `xl list -l`, host files, schedule strings and bad command lines.

    python bench/fuzz_inputs.py [--inputs 100000] [--seed 1]

The generators and the promises checked are those of tests/fuzz/fuzz_inputs.py (run
briefly by the test suite): every input is accepted or refused with one clean line
(a documented input error; on the command line exit status 2 and one line on
stderr), never a traceback, and none takes longer than its time limit.  Prints the
inputs run per target, accepted/refused counts, the slowest input and every failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "fuzz"))

from fuzz_inputs import MAX_SECONDS, TARGETS, FuzzFailure, fuzz_cli

# share of the inputs per target (the command line runs in this process)
WEIGHTS = {
    "scenario": 25,
    "expression": 20,
    "vector": 10,
    "xl-info": 10,
    "xl-list": 10,
    "host-file": 10,
    "schedule": 10,
    "cli": 5,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = list(WEIGHTS)
    weights = [WEIGHTS[n] for n in names]
    counts: dict[str, Counter[str]] = {n: Counter() for n in names}
    failures: list[str] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.inputs):
            name = rng.choices(names, weights)[0]
            case_rng = random.Random(f"{args.seed}-{i}")
            t0 = time.perf_counter()
            try:
                if name == "cli":
                    outcome = fuzz_cli(case_rng, Path(tmp))
                else:
                    outcome = TARGETS[name](case_rng)
            except FuzzFailure as exc:
                outcome = "FAILED"
                failures.append(f"{name} #{i}: {exc}")
            seconds = time.perf_counter() - t0
            if seconds > slowest[0]:
                slowest = (seconds, f"{name} #{i}")
            counts[name][outcome] += 1
            if (i + 1) % 10_000 == 0:
                print(f"  {i + 1:,} inputs, {time.perf_counter() - start:.0f} s", flush=True)
    total = time.perf_counter() - start
    print(f"{args.inputs:,} generated inputs in {total:.1f} s (seed {args.seed})")
    print(f"{'target':<12}{'inputs':>9}{'accepted':>10}{'refused':>9}{'failed':>8}")
    for name in names:
        c = counts[name]
        print(
            f"{name:<12}{sum(c.values()):>9,}{c['accepted']:>10,}{c['refused']:>9,}"
            f"{c['FAILED']:>8,}"
        )
    print(f"slowest input: {slowest[1]} in {slowest[0]:.2f} s (limit {MAX_SECONDS:g} s)")
    print(f"failures (tracebacks, multi-line or slow messages, hangs): {len(failures)}")
    for line in failures[:50]:
        print("  " + line[:500])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
