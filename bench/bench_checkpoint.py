"""kill -9 and resume, many times (a script, not a test; the suite does a few).

    .venv/bin/python bench/bench_checkpoint.py [--kills 20] [--seed 0]

Runs xsa345-r1-small (--keep-going, preemption bound 2) once without interruption,
then --kills times: a checkpointed run with two workers, SIGKILLed (with its workers)
at a random moment after its checkpoint first appears, then ``pagerace resume``.
Prints, per kill, the delay and whether the resumed result (verdict, executions,
events, findings with their schedules) equals the uninterrupted one.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cli"))

from test_checkpoint import ARGS, RUN, _result, kill_and_resume  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import subprocess

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full = folder / "full.json"
        subprocess.run([*RUN, "run", *ARGS, "--jobs", "1", "--json", str(full)], check=False)
        expected = _result(full)
        print(f"uninterrupted: {expected['status']}, {expected['executions']} executions")
        same = 0
        for k in range(args.kills):
            delay = rng.uniform(0.0, 2.5)
            got = kill_and_resume(folder, folder / "run.checkpoint", delay)
            ok = got == expected
            same += ok
            print(f"kill {k + 1:2}: after {delay:.2f} s -> {'identical' if ok else 'DIFFERENT'}")
        print(f"{same}/{args.kills} resumed runs identical to the uninterrupted one")


if __name__ == "__main__":
    main()
