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
import signal
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
from pagerace.userio import (
    StructuredTextError,
    UserFileError,
    load_json,
    one_line,
    read_user_text,
)
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
#: A vector file larger than this is refused (the published ones are about 4 MiB).
MAX_VECTOR_FILE_BYTES = 256 << 20
#: Pages one op may map or populate: the vectors' window is 4 GiB (2**20 pages); a
#: larger op would run for minutes on the sequential model.
MAX_OP_PAGES = 1 << 22
#: Elements one expanded list of one result may hold (runs are expanded to compare).
MAX_EXPANDED = 1 << 22
_LEVELS = {"flushes": None, "leaves": (1, 3), "tables": (2, 4), "nonpresent": (1, 4)}


def _fail(where: str, reason: str) -> VectorFileError:
    return VectorFileError(f"{where}: {reason}")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _u64(value: object, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"{name} must be an integer, not {_type_name(value)}")
    if not 0 <= value <= _U64:
        raise _fail(where, f"{name} = {one_line(value, 40)} is out of range (unsigned 64-bit)")
    return value


def _run_list(value: object, where: str, name: str) -> list[list[int]]:
    """A run-length list: every run of the right width, its level valid, its count
    at least 1, and the whole expansion bounded."""
    if not isinstance(value, list):
        raise _fail(where, f"{name} must be a list of runs, not {_type_name(value)}")
    width = _RUN_WIDTH[name]
    levels = _LEVELS[name]
    total = 0
    for k, run in enumerate(value):
        if not isinstance(run, list) or len(run) != width:
            raise _fail(where, f"{name}[{k}] must be a list of {width} integers")
        for x in run:
            _u64(x, where, f"{name}[{k}]")
        if levels is not None and not levels[0] <= run[1] <= levels[1]:
            raise _fail(where, f"{name}[{k}]: level {run[1]} is not {levels[0]}..{levels[1]}")
        count = run[-1]
        if count < 1:
            raise _fail(where, f"{name}[{k}]: a run of {count} elements (at least 1)")
        total += count
        if total > MAX_EXPANDED:
            raise _fail(where, f"{name}: more than {MAX_EXPANDED:,} elements once expanded")
    return value


def _error(value: object, where: str) -> None:
    """``error`` is null, a message, or Xen's {"kind", "expr", "func"}."""
    if value is None or isinstance(value, str):
        return
    if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in _ERROR_KEYS):
        return
    raise _fail(where, 'error must be null, a string or {"kind", "expr", "func"} strings')


_ERROR_KEYS = ("kind", "expr", "func")
# a redundant field -> (the field it restates, how): they must agree
_REDUNDANT = {"xen_flags": "flags", "xen_nf": "nf"}


def _op(op: object, where: str, at: str) -> VectorOp:
    if not isinstance(op, dict):
        raise _fail(where, f"{at} must be an object, not {_type_name(op)}")
    kind = op.get("op")
    if not isinstance(kind, str) or kind not in _OP_FIELDS:
        raise _fail(
            where,
            f"{at}: unknown op {one_line(json.dumps(kind), 40)} (known: {', '.join(_OP_FIELDS)})",
        )
    args = {}
    for name in _OP_FIELDS[kind]:
        if name not in op:
            raise _fail(where, f"{at}: missing field {name!r}")
        args[name] = _u64(op[name], where, f"{at}.{name}")
    for name, source in _REDUNDANT.items():
        if name in op and source in args:
            value = _u64(op[name], where, f"{at}.{name}")
            if value != get_pte_flags(args[source]):
                raise _fail(
                    where,
                    f"{at}.{name} = {value:#x} disagrees with {source} = {args[source]:#x}"
                    f" (get_pte_flags gives {get_pte_flags(args[source]):#x})",
                )
    if "nr" in args and not 1 <= args["nr"] <= MAX_OP_PAGES:
        raise _fail(where, f"{at}.nr = {args['nr']} is not 1..{MAX_OP_PAGES:,} pages")
    if "s" in args and args["e"] - args["s"] > MAX_OP_PAGES << 12:
        raise _fail(where, f"{at}: s..e spans more than {MAX_OP_PAGES:,} pages")
    return VectorOp(kind, args)


def parse_vector_line(text: str, where: str, variant: str | None = None) -> VectorSequence:
    """One line of a vector file -> a validated ``VectorSequence``."""
    try:
        obj = load_json(text)
    except StructuredTextError as exc:
        raise _fail(where, exc.reason + (f" at {exc.where}" if exc.where else "")) from None
    if not isinstance(obj, dict):
        raise _fail(where, "each line must be a JSON object")
    for key in ("id", "variant", "page1gb", "ops", "results"):
        if key not in obj:
            raise _fail(where, f"missing field {key!r}")
    seq_id = obj["id"]
    if not isinstance(seq_id, str) or not seq_id or len(seq_id) > 200:
        raise _fail(where, "id must be a string of 1 to 200 characters")
    where = f"{where} ({one_line(seq_id, 60)})"
    file_variant = obj["variant"]
    if not isinstance(file_variant, str) or file_variant not in FILE_VARIANTS:
        raise _fail(
            where,
            f"variant {one_line(json.dumps(file_variant), 40)} is not one of"
            f" {sorted(FILE_VARIANTS)}",
        )
    if not isinstance(obj["page1gb"], bool):
        raise _fail(where, "page1gb must be true or false")
    ops, results = obj["ops"], obj["results"]
    if not isinstance(ops, list) or not isinstance(results, list):
        raise _fail(where, "ops and results must be lists")
    if len(ops) != len(results):
        raise _fail(where, f"{len(ops)} ops but {len(results)} results")
    parsed_ops = [_op(op, where, f"ops[{i}]") for i, op in enumerate(ops)]
    for i, res in enumerate(results):
        at = f"results[{i}]"
        if not isinstance(res, dict):
            raise _fail(where, f"{at} must be an object")
        for name in _RESULT_FIELDS:
            if name not in res:
                raise _fail(where, f"{at}: missing field {name!r}")
        if res["op"] != parsed_ops[i].op:
            raise _fail(
                where,
                f"{at}.op = {one_line(json.dumps(res['op']), 40)} but ops[{i}].op ="
                f" {parsed_ops[i].op!r}",
            )
        rc = res["rc"]
        if rc is not None and (isinstance(rc, bool) or not isinstance(rc, int)):
            raise _fail(where, f"{at}.rc must be an integer or null")
        if rc is not None and not -(1 << 31) <= rc < 1 << 31:
            raise _fail(where, f"{at}.rc = {rc} is not a C int")
        _error(res["error"], f"{where}: {at}")
        if res["error"] is not None and i != len(results) - 1:
            raise _fail(
                where,
                f"{at}.error: the hypervisor crashed in this op, so ops[{i + 1}] and later"
                " cannot have run",
            )
        for name in _INT_FIELDS[1:]:
            _u64(res[name], where, f"{at}.{name}")
        for name in _LIST_FIELDS:
            _run_list(res[name], f"{where}: {at}", name)
    chosen = variant or FILE_VARIANTS[file_variant]
    return VectorSequence(seq_id, 0, chosen, obj["page1gb"], tuple(parsed_ops), tuple(results))


def iter_vector_file(path: str, variant: str | None = None) -> Iterator[VectorSequence]:
    """Every sequence of a vector file, validated; raises VectorFileError."""
    try:
        text = read_user_text(path, limit=MAX_VECTOR_FILE_BYTES)
    except UserFileError as exc:
        raise VectorFileError(str(exc)) from None
    count = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        seq = parse_vector_line(line, f"{path}:{n}", variant)
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
        from pagerace.xen.versions import VERSIONS, unknown_variant

        if variant not in VERSIONS:
            raise VectorFileError("--variant: " + unknown_variant(variant))
    sequences = list(iter_vector_file(path, variant))
    if jobs <= 1 or len(sequences) < 4:
        yield from map(check_sequence, sequences)
        return
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    # Ctrl-C reaches every process of the terminal's group: the workers ignore it
    # (no traceback from each), the parent stops and terminates them.
    with ctx.Pool(jobs, initializer=_ignore_sigint) as pool:
        yield from pool.imap(check_sequence, sequences, chunksize=2)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
