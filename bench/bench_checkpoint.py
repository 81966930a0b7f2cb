"""kill -9 and resume, many times (a script, not a test; the suite does a few).

    .venv/bin/python bench/bench_checkpoint.py [--kills 20] [--seed 0] [--long]
        [--max-executions N]

Runs xsa345-r1-small (--keep-going, preemption bound 3) once without interruption,
then --kills times: a checkpointed run with two workers, SIGKILLed (with its workers)
at a random moment after its checkpoint first appears (within the uninterrupted
run's time), then ``pagerace resume``.  Prints, per kill, the delay, whether the run
was still running when killed, and whether the resumed result (verdict, executions,
events, findings with their schedules) equals the uninterrupted one.

``--long``: the same on the 512-entry xsa345-r1 (about 40 s on one core), whose big
units run for many seconds, killed 2 s or more in; each line also gives the executions
that running units had kept in their search states (FILE.units) at the kill, and the
wall-clock seconds of the resumed run against those of the uninterrupted one.

``--max-executions N``: the runs have that budget, so that the search ends inside a
bound (where the merge cuts a unit short) rather than at its end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cli"))

from test_checkpoint import ARGS, RUN, _result, kill_and_resume  # noqa: E402

LONG_ARGS = ["xsa345-r1", "--keep-going", "--preemption-bound", "2", "-q"]


def kept(units: Path) -> int:
    """The executions that the running units' search states hold."""
    total = 0
    for path in units.glob("*.json"):
        total += json.loads(path.read_text())["state"]["executions"]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long", action="store_true", help="xsa345-r1, killed 2 s or more in")
    ap.add_argument("--max-executions", type=int, default=None, help="the runs' budget")
    args = ap.parse_args()
    import subprocess

    run_args = LONG_ARGS if args.long else ARGS
    if args.max_executions is not None:
        run_args = [*run_args, "--max-executions", str(args.max_executions)]

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full = folder / "full.json"
        started = time.monotonic()
        command = [*RUN, "run", *run_args, "--jobs", "2", "--json", str(full)]
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        whole = time.monotonic() - started
        expected = _result(full)
        print(
            f"uninterrupted (two workers): {expected['status']}, {expected['executions']}"
            f" executions, {whole:.1f} s"
        )
        same = hit = 0
        # (after the checkpoint first appears, some way into the run: within its time)
        low, high = (2.0, 0.9 * whole) if args.long else (0.0, 0.8 * whole)
        checkpoint = folder / "run.checkpoint"
        units = checkpoint.with_name(checkpoint.name + ".units")
        for k in range(args.kills):
            delay = rng.uniform(low, high)
            at_kill: list[Any] = []

            def killed() -> None:
                at_kill.extend([time.monotonic(), kept(units)])  # noqa: B023

            got, running = kill_and_resume(folder, checkpoint, delay, run_args, killed)
            resumed = time.monotonic() - at_kill[0]
            ok = got == expected
            same += ok
            hit += running
            line = (
                f"kill {k + 1:2}: after {delay:.2f} s"
                f" {'(running)' if running else '(the run had ended)'}"
                f" -> {'identical' if ok else 'DIFFERENT'}"
            )
            if args.long:
                line += f"; units' states held {at_kill[1]} executions; resumed in {resumed:.1f} s"
            print(line, flush=True)
        print(
            f"{same}/{args.kills} resumed runs identical to the uninterrupted one;"
            f" {hit} of the kills hit a running run"
        )


if __name__ == "__main__":
    main()
