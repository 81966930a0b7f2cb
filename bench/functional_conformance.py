"""The functional oracle over the conformance sequences: every report, classified.

    python bench/functional_conformance.py tests/conformance/xen-sequential.jsonl [-j N] [-v]

Runs each sequence's operations on the sequential model (the line's own variant)
with the functional oracle after every operation, and prints how many reports of
each kind came from which kind of operation, and the sequences they came from.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import time

from pagerace.paging.geometry import Geometry
from pagerace.scenario import DestroyOp, MapOp, ModifyOp, PopulateOp
from pagerace.sequential import check_ops
from pagerace.xen.config import XenConfig
from pagerace.xen.conformance import FILE_VARIANTS, VectorOp, iter_vector_file


def scenario_op(op: VectorOp) -> object:
    a = op.args
    if op.op == "map":
        return MapOp(a["virt"], a["mfn"], a["nr"], a["flags"])
    if op.op == "populate":
        return PopulateOp(a["virt"], a["nr"])
    if op.op == "modify":
        return ModifyOp(a["s"], a["e"], a["nf"])
    return DestroyOp(a["s"], a["e"])


def run(seq):  # type: ignore[no-untyped-def]
    ops = [(f"op {i}", scenario_op(op)) for i, op in enumerate(seq.ops)]
    result = check_ops(ops, XenConfig(seq.variant, page1gb=seq.page1gb), Geometry(512))
    return seq.id, seq.variant, seq.page1gb, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("-j", type=int, default=1)
    ap.add_argument("-v", action="store_true", help="print every report")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    variants = dict(FILE_VARIANTS)
    seqs = list(iter_vector_file(args.file))[: args.limit]
    start = time.perf_counter()
    if args.j > 1:
        with multiprocessing.Pool(args.j) as pool:
            results = pool.map(run, seqs, chunksize=4)
    else:
        results = list(map(run, seqs))
    seconds = time.perf_counter() - start
    kinds: collections.Counter[str] = collections.Counter()
    by_seq: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    ops = 0
    for sid, variant, page1gb, r in results:
        ops += r.ops
        for f in r.findings:
            key = f"{variant} {f.kind} after {f.op.split('(')[0]}"
            kinds[key] += 1
            by_seq[key][sid] += 1
            if args.v:
                print(f"{sid} {variant} page1gb={page1gb} {f.where}: {f.kind}: {f.message}")
    print(f"{len(results)} sequences, {ops} operations judged in {seconds:.1f} s ({variants})")
    for key, n in sorted(kinds.items()):
        print(f"  {n:5d}  {key}  ({len(by_seq[key])} sequences)")
    if not kinds:
        print("  no reports")


if __name__ == "__main__":
    main()
