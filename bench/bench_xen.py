"""Benchmark of the sequential Xen model (a script, not a test).

    .venv/bin/python bench/bench_xen.py [--repeat 3] [--vectors PATH]

Measures
  (a) the whole conformance vector file through pagerace.xen.conformance.check_file,
      with jobs=1 and jobs=2 (one run each, seconds);
  (b) one map_pages_to_xen of 262144 4 KiB pages with MAP_SMALL_PAGES at 512 entries
      (a fresh hypervisor per run; median of --repeat runs);
  (c) one populate_pt_range of 131072 pages at 512 entries (same).
and prints a small table with the load average, since the figures drift when the
machine is busy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pagerace.xen.conformance import check_file
from pagerace.xen.hypervisor import Hypervisor

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "conformance" / "xen-sequential.jsonl"
DIRECTMAP = 0xFFFF_8300_0000_0000  # DIRECTMAP_VIRT_START at 512 entries
PAGE_HYPERVISOR = 0x8000_0000_0000_0163
MAP_SMALL_PAGES = 0x200


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conform(path: Path, jobs: int) -> None:
    reports = list(check_file(str(path), jobs=jobs))
    bad = [r.id for r in reports if not r.matches]
    if bad:
        raise SystemExit(f"conformance mismatches in {len(bad)} sequences: {bad[:5]}")


def map_small_pages() -> None:
    hv = Hypervisor(entries=512)
    r = hv.map(DIRECTMAP, 0x100000, 262144, PAGE_HYPERVISOR | MAP_SMALL_PAGES)
    assert r.rc == 0 and r.pt_alloc == 514, r


def populate() -> None:
    hv = Hypervisor(entries=512)
    r = hv.populate(DIRECTMAP, 131072)
    assert r.rc == 0 and r.pt_alloc == 1 + 1 + 256, r


def median_of(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = [timed(fn) for _ in range(repeat)]
    return statistics.median(runs), runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--vectors", type=Path, default=VECTORS)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    rows: list[tuple[str, str, str]] = []
    for jobs in (1, 2):
        secs = timed(lambda jobs=jobs: conform(args.vectors, jobs))
        rows.append((f"check_file({args.vectors.name}), jobs={jobs}", f"{secs:.2f}", "1 run"))
    med, runs = median_of(map_small_pages, args.repeat)
    rows.append(("map 262144 x 4K, MAP_SMALL_PAGES, 512 entries", f"{med:.3f}", _runs(runs)))
    med, runs = median_of(populate, args.repeat)
    rows.append(("populate 131072 pages, 512 entries", f"{med:.3f}", _runs(runs)))
    load_after = os.getloadavg()

    width = max(len(r[0]) for r in rows)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{'measurement':<{width}}  {'seconds':>8}  runs")
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:>8}  {note}")
    print(
        "load average (1/5/15 min): before "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in load_after)
    )
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1) * 0.5:
        print("note: the machine was loaded by other work; figures are pessimistic")
    return 0


def _runs(runs: list[float]) -> str:
    return "median of " + ", ".join(f"{r:.3f}" for r in runs)


if __name__ == "__main__":
    sys.exit(main())
