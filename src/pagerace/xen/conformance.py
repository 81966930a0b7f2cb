"""Replay Xen's conformance vectors against the model and compare every field.

A vector file (tests/conformance/README.md) holds one JSON object per line: a
sequence of operations on an empty ``idle_pg_table`` and, for each, what Xen's own
code produced (rc, flush calls, allocations, frees, live tables and the canonical
state dump).  ``check_sequence`` replays one line on the sequential model;
``check_file`` does the whole file, optionally on several processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pagerace.errors import VectorFileError
from pagerace.paging.dump import (
    encode_flushes,
    expand_flushes,
    expand_leaves,
    expand_nonpresent,
    expand_tables,
)
from pagerace.paging.flush import describe_flush
from pagerace.paging.pte import describe_flags, get_pte_flags
from pagerace.xen.hypervisor import Hypervisor, OpResult

__all__ = [
    "FILE_VARIANTS",
    "Mismatch",
    "SequenceReport",
    "VectorOp",
    "VectorSequence",
    "check_file",
    "check_sequence",
    "iter_vector_file",
    "parse_vector_line",
]

# the vector files' variant names -> the model's
FILE_VARIANTS = {
    "vuln": "xen-4.14",
    "fixed": "xsa-345",
    "4.19": "xen-4.19",
    "4.20.0": "xen-4.20.0",
    "4.21": "xen-4.21",
}

_U64 = (1 << 64) - 1
_OP_FIELDS = {
    "map": ("virt", "mfn", "nr", "flags"),
    "populate": ("virt", "nr"),
    "modify": ("s", "e", "nf"),
    "destroy": ("s", "e"),
}
_INT_FIELDS = ("rc", "pt_alloc", "pt_free", "live_pt")
_LIST_FIELDS = ("flushes", "leaves", "tables", "nonpresent")
_RESULT_FIELDS = ("op", "rc", "error", *_INT_FIELDS[1:], *_LIST_FIELDS)
_RUN_WIDTH = {"flushes": 3, "leaves": 5, "tables": 4, "nonpresent": 4}


@dataclass(frozen=True, slots=True)
class VectorOp:
    op: str
    args: dict[str, int]


@dataclass(frozen=True, slots=True)
class VectorSequence:
    id: str
    line: int
    variant: str  # the model's variant name
    page1gb: bool
    ops: tuple[VectorOp, ...]
    results: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Mismatch:
    op_index: int
    op: str
    field: str
    detail: str  # the first differing element, decoded


@dataclass(frozen=True, slots=True)
class SequenceReport:
    id: str
    ops: int
    ops_matched: int
    mismatches: tuple[Mismatch, ...] = field(default=())

    @property
    def matches(self) -> bool:
        return not self.mismatches


# -- reading -----------------------------------------------------------------------
def _fail(where: str, reason: str) -> VectorFileError:
    return VectorFileError(f"{where}: {reason}")


def _u64(value: object, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"{name} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= _U64:
        raise _fail(where, f"{name} = {value} is out of range (unsigned 64-bit)")
    return value


def _run_list(value: object, where: str, name: str) -> list[list[int]]:
    if not isinstance(value, list):
        raise _fail(where, f"{name} must be a list of runs")
    width = _RUN_WIDTH[name]
    for k, run in enumerate(value):
        if not isinstance(run, list) or len(run) != width:
            raise _fail(where, f"{name}[{k}] must be a list of {width} integers")
        for x in run:
            _u64(x, where, f"{name}[{k}]")
    return value


def parse_vector_line(text: str, where: str, variant: str | None = None) -> VectorSequence:
    """One line of a vector file -> a validated ``VectorSequence``."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise _fail(where, "each line must be a JSON object")
    for key in ("id", "variant", "page1gb", "ops", "results"):
        if key not in obj:
            raise _fail(where, f"missing field {key!r}")
    seq_id = obj["id"]
    if not isinstance(seq_id, str):
        raise _fail(where, "id must be a string")
    where = f"{where} ({seq_id})"
    if obj["variant"] not in FILE_VARIANTS:
        raise _fail(where, f"variant {obj['variant']!r} is not one of {sorted(FILE_VARIANTS)}")
    if not isinstance(obj["page1gb"], bool):
        raise _fail(where, "page1gb must be true or false")
    ops, results = obj["ops"], obj["results"]
    if not isinstance(ops, list) or not isinstance(results, list):
        raise _fail(where, "ops and results must be lists")
    if len(ops) != len(results):
        raise _fail(where, f"{len(ops)} ops but {len(results)} results")
    parsed_ops = []
    for i, op in enumerate(ops):
        at = f"ops[{i}]"
        if not isinstance(op, dict) or op.get("op") not in _OP_FIELDS:
            name = op.get("op") if isinstance(op, dict) else op
            raise _fail(where, f"{at}: unknown op {name!r} (known: {', '.join(_OP_FIELDS)})")
        args = {}
        for name in _OP_FIELDS[op["op"]]:
            if name not in op:
                raise _fail(where, f"{at}: missing field {name!r}")
            args[name] = _u64(op[name], where, f"{at}.{name}")
        parsed_ops.append(VectorOp(op["op"], args))
    for i, res in enumerate(results):
        at = f"results[{i}]"
        if not isinstance(res, dict):
            raise _fail(where, f"{at} must be an object")
        for name in _RESULT_FIELDS:
            if name not in res:
                raise _fail(where, f"{at}: missing field {name!r}")
        if res["rc"] is not None and (
            isinstance(res["rc"], bool) or not isinstance(res["rc"], int)
        ):
            raise _fail(where, f"{at}.rc must be an integer or null")
        for name in _INT_FIELDS[1:]:
            _u64(res[name], where, f"{at}.{name}")
        for name in _LIST_FIELDS:
            _run_list(res[name], where, name)
    chosen = variant or FILE_VARIANTS[obj["variant"]]
    return VectorSequence(seq_id, 0, chosen, obj["page1gb"], tuple(parsed_ops), tuple(results))


def iter_vector_file(path: str, variant: str | None = None) -> Iterator[VectorSequence]:
    """Every sequence of a vector file, validated; raises VectorFileError."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError as exc:
        raise VectorFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise VectorFileError(f"{path}: not a UTF-8 text file") from None
    count = 0
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        seq = parse_vector_line(text, f"{path}:{n}", variant)
        count += 1
        yield VectorSequence(seq.id, n, seq.variant, seq.page1gb, seq.ops, seq.results)
    if count == 0:
        raise VectorFileError(f"{path}: no sequences in the file")


# -- replaying -----------------------------------------------------------------------
def _apply(hv: Hypervisor, op: VectorOp) -> OpResult:
    a = op.args
    if op.op == "map":
        return hv.map(a["virt"], a["mfn"], a["nr"], a["flags"])
    if op.op == "populate":
        return hv.populate(a["virt"], a["nr"])
    if op.op == "modify":
        return hv.modify(a["s"], a["e"], a["nf"])
    return hv.destroy(a["s"], a["e"])


def check_sequence(seq: VectorSequence) -> SequenceReport:
    """Replay one sequence; stop at the first op whose fields differ."""
    hv = Hypervisor(512, seq.variant, page1gb=seq.page1gb)
    for index, (op, expected) in enumerate(zip(seq.ops, seq.results)):
        result = _apply(hv, op)
        mismatches = []
        if result.error is not None or expected["error"] is not None:
            if result.error != expected["error"]:
                mismatches.append(
                    Mismatch(
                        index, op.op, "error", f"model: {result.error}; Xen: {expected['error']}"
                    )
                )
        state = hv.dump() if result.error is None else None
        got: dict[str, Any] = {
            "rc": result.rc,
            "pt_alloc": result.pt_alloc,
            "pt_free": result.pt_free,
            "flushes": encode_flushes(result.flushes),
        }
        if state is not None:
            got.update(
                live_pt=state.live_pt,
                leaves=state.leaves,
                tables=state.tables,
                nonpresent=state.nonpresent,
            )
        for name in ("rc", "pt_alloc", "pt_free", "live_pt"):
            if name in got and got[name] != expected[name]:
                mismatches.append(
                    Mismatch(index, op.op, name, f"model {got[name]}, Xen {expected[name]}")
                )
        for name in _LIST_FIELDS:
            if name in got and got[name] != expected[name]:
                mismatches.append(
                    Mismatch(index, op.op, name, _first_difference(name, got[name], expected[name]))
                )
        if mismatches:
            return SequenceReport(seq.id, len(seq.ops), index, tuple(mismatches))
    return SequenceReport(seq.id, len(seq.ops), len(seq.ops))


_EXPAND = {
    "flushes": expand_flushes,
    "leaves": expand_leaves,
    "tables": expand_tables,
    "nonpresent": expand_nonpresent,
}


def _first_difference(name: str, got: list[list[int]], want: list[list[int]]) -> str:
    a, b = _EXPAND[name](got), _EXPAND[name](want)
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"element {k}: model {_decode(name, x)}; Xen {_decode(name, y)}"
    k = min(len(a), len(b))
    if len(a) > len(b):
        return f"element {k}: model has {len(a) - k} more, first {_decode(name, a[k])}"
    return f"element {k}: model lacks {len(b) - k}, first expected {_decode(name, b[k])}"


def _decode(name: str, element: Sequence[int]) -> str:
    if name == "flushes":
        return describe_flush(element[0], element[1])
    va, level = element[0], element[1]
    where = f"va {va:#x} L{level}"
    if name == "leaves":
        return (
            f"[{where} leaf mfn {element[2]:#x} {describe_flags(get_pte_flags(element[3]), level)}]"
        )
    if name == "tables":
        return f"[{where} table {describe_flags(get_pte_flags(element[2]), level)}]"
    return f"[{where} raw {element[2]:#018x}]"


def check_file(path: str, variant: str | None = None, jobs: int = 1) -> Iterator[SequenceReport]:
    """Reports for every sequence of ``path``, in file order.

    The whole file is validated before anything is replayed, so a malformed file
    fails fast with ``VectorFileError``.
    """
    if variant is not None:
        from pagerace.xen.versions import VERSIONS

        if variant not in VERSIONS:
            raise VectorFileError(f"--variant {variant!r}: unknown (known: {', '.join(VERSIONS)})")
    sequences = list(iter_vector_file(path, variant))
    if jobs <= 1 or len(sequences) < 4:
        yield from map(check_sequence, sequences)
        return
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(check_sequence, sequences, chunksize=2)
