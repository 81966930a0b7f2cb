"""Vector lines that are not what Xen's harness writes: one VectorFileError each,
never a TypeError, an IndexError, an OverflowError or a run that eats the memory."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pagerace.errors import VectorFileError
from pagerace.xen.conformance import check_file, check_sequence, parse_vector_line

VECTORS = Path(__file__).parents[1] / "conformance" / "xen-sequential.jsonl"
LINE = json.loads(VECTORS.read_text().splitlines()[0])


def mutated(change: Callable[[dict[str, Any]], None]) -> str:
    seq = copy.deepcopy(LINE)
    change(seq)
    return json.dumps(seq)


def first(kind: str) -> int:
    return next(i for i, op in enumerate(LINE["ops"]) if op["op"] == kind)


def set_path(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(seq: dict[str, Any]) -> None:
        target = seq
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def set_first_run(name: str, index: int, value: int) -> Callable[[dict[str, Any]], None]:
    def change(seq: dict[str, Any]) -> None:
        result = next(r for r in seq["results"] if r[name])
        result[name][0][index] = value

    return change


M = first("map")
D = first("modify")
CASES = {
    "variant-list": (set_path("variant", value=["vuln"]), "variant"),
    "op-list": (set_path("ops", 0, value=["map"]), "ops[0] must be an object"),
    "op-name-list": (set_path("ops", 0, "op", value=["map"]), "unknown op"),
    "leaf-level-0": (set_first_run("leaves", 1, 0), "level 0 is not 1..3"),
    "leaf-level-5": (set_first_run("leaves", 1, 5), "level 5 is not 1..3"),
    "table-level-9": (set_first_run("tables", 1, 9), "level 9 is not 2..4"),
    "count-2**63": (set_first_run("leaves", 4, 2**63), "elements once expanded"),
    "count-2**30": (set_first_run("leaves", 4, 2**30), "elements once expanded"),
    "count-0": (set_first_run("leaves", 4, 0), "a run of 0 elements"),
    "nr-2**64-1": (set_path("ops", M, "nr", value=2**64 - 1), "pages"),
    "nr-0": (set_path("ops", M, "nr", value=0), "is not 1.."),
    "result-op-differs": (set_path("results", M, "op", value="destroy"), "but ops["),
    "xen-flags-differ": (set_path("ops", M, "xen_flags", value=0x163), "disagrees with flags"),
    "xen-nf-differs": (set_path("ops", D, "xen_nf", value=0x7), "disagrees with nf"),
    "rc-huge": (set_path("results", 0, "rc", value=2**40), "not a C int"),
    "error-list": (set_path("results", 0, "error", value=[1]), "error must be null"),
    "op-after-crash": (
        set_path("results", 0, "error", value={"kind": "ASSERT", "expr": "x", "func": "f"}),
        "crashed in this op",
    ),
    "id-empty": (set_path("id", value=""), "id must be a string"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_field_is_one_vector_file_error(name: str) -> None:
    change, reason = CASES[name]
    with pytest.raises(VectorFileError) as info:
        parse_vector_line(mutated(change), "v.jsonl:1")
    assert reason is not None and reason in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"id": ' + "9" * 5000 + "}", "digits"),
        ("[" * 10_000 + "]" * 10_000, "nested deeper"),
        ('{"id": "a", "id": "b"}', "appears twice"),
    ],
    ids=["5000-digits", "deep", "dup-key"],
)
def test_json_that_python_cannot_parse_safely_is_one_error(text: str, reason: str) -> None:
    with pytest.raises(VectorFileError, match=reason):
        parse_vector_line(text, "v.jsonl:1")


def test_the_published_line_still_parses_and_matches() -> None:
    assert check_sequence(parse_vector_line(json.dumps(LINE), "v.jsonl:1")).matches


def test_a_device_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VectorFileError, match="a device"):
        list(check_file("/dev/zero"))
    with pytest.raises(VectorFileError, match="directory"):
        list(check_file(str(tmp_path)))


def test_ctrl_c_stops_conform_with_one_line_and_no_worker_tracebacks() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "pagerace", "conform", str(VECTORS), "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)
    assert child.poll() is None, "conform ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert err == "pagerace: interrupted\n"
