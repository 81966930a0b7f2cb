"""Serial results: the sweep over states against running every serial order (a
script, not a test).

    .venv/bin/python bench/bench_serial.py [--seeds N]

For the generated scenarios of the differential tests (2..4 CPUs, 1..2 operations
each, 8 entries), it
computes the lost-update oracle's acceptable translations both ways, checks that they
are equal, and prints the serial orders, the operations each way runs, and the CPU
seconds each way takes.  The machine's load average is printed: the times drift when
it is busy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runner"))

from scenario_gen import generated_toml

from pagerace.checks import acceptable_translations, translation_of
from pagerace.errors import XenBug
from pagerace.paging.dump import dump_state
from pagerace.paging.memory import MemoryFault
from pagerace.runner import ReleaseBuild, call_op, prepare
from pagerace.scenario import AccessOp, parse_scenario


def every_order(p, queues):  # type: ignore[no-untyped-def]
    runs = 0

    def run(order):  # type: ignore[no-untyped-def]
        nonlocal runs
        memory = p.memory.clone()
        m = ReleaseBuild(memory, p.root, p.config)
        position = [0] * len(queues)
        try:
            for cpu in order:
                op = queues[cpu][position[cpu]]
                position[cpu] += 1
                m.begin_op(op.irqs)
                runs += 1
                call_op(m, op)
        except (XenBug, MemoryFault):
            return None
        return translation_of(dump_state(memory, p.root, p.geometry), p.geometry)

    return acceptable_translations([len(q) for q in queues], run), runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(
        f"{'seed':>4} {'cpus':>4} {'orders':>7} {'runs(all)':>9} {'runs(sweep)':>11}"
        f" {'s(all)':>7} {'s(sweep)':>8} {'results':>7}"
    )
    tot_all = tot_sweep = 0.0
    for seed in range(args.seeds):
        sc = parse_scenario(generated_toml(seed))
        ncpus = len(sc.cpus)
        t0 = time.process_time()
        p = prepare(sc)
        t1 = time.process_time()
        queues = [[op for op in ops if not isinstance(op, AccessOp)] for ops in sc.cpus]
        full, runs = every_order(p, queues)
        t2 = time.process_time()
        same = (full or None) == p.acceptable
        assert same, f"seed {seed}: the sweep and the enumeration differ"
        tot_all += t2 - t1
        tot_sweep += t1 - t0
        print(
            f"{seed:>4} {ncpus:>4} {p.serial_orders:>7} {runs:>9} {p.serial_runs:>11}"
            f" {t2 - t1:>7.2f} {t1 - t0:>8.3f} {len(full):>7}"
        )
    print(f"total CPU seconds: every order {tot_all:.2f}, sweep (whole prepare) {tot_sweep:.2f}")
    print()
    print("n CPUs, each remapping two pages of its own (orders past 5,040 are not enumerated):")
    for n in (2, 4, 6, 8):
        t0 = time.process_time()
        p = prepare(parse_scenario(disjoint(n)))
        t1 = time.process_time()
        print(
            f"  {n} CPUs: {p.serial_orders:,} serial orders, {p.serial_runs:,} operation runs,"
            f" {t1 - t0:.2f} s, {len(p.acceptable or ())} result(s), skipped: {p.checks_skipped}"
        )


def disjoint(n: int) -> str:
    lines = [
        'name = "disjoint"',
        'variant = "xsa-345"',
        "entries = 8",
        "[[setup]]",
        'op = "map"',
        'virt = "DIRECTMAP"',
        "mfn = 0",
        'nr = "L3_PAGES"',
        'flags = "PAGE_HYPERVISOR"',
    ]
    for c in range(n):
        ops = ", ".join(
            f'{{ op = "map", virt = "DIRECTMAP + {2 * c + k} * PAGE_SIZE", mfn = {2 * c + k},'
            ' nr = 1, flags = "PAGE_HYPERVISOR_UC" }'
            for k in range(2)
        )
        lines += ["[[cpus]]", f"ops = [ {ops} ]"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
