"""Seeded generators of hostile inputs, and the checks every input must pass.

Used briefly by test_fuzz_inputs.py and at length by bench/fuzz_inputs.py.  Each
target takes a ``random.Random`` and returns an outcome: "accepted" or "refused";
anything else (an exception that is not the documented input error, a message that
is not one clean line, an input that takes too long) raises ``FuzzFailure``.

Inputs are mutations of real ones (the bundled scenarios, a published conformance
vector line, the `xl info` / `xl list -l` / host-file fixtures) with what an attacker
would try: other scripts' digits, huge and negative numbers, deep nesting, long and
control-character strings, wrong types, duplicated keys, truncation, random bytes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
SCENARIOS = ROOT / "src" / "pagerace" / "data" / "scenarios"
ADVISORY = ROOT / "tests" / "advisory" / "data"
VECTORS = ROOT / "tests" / "conformance" / "xen-sequential.jsonl"

#: The longest a single input may take (a hang is a failure).
MAX_SECONDS = 5.0
#: The longest one-line message accepted.
MAX_MESSAGE = 2000


class FuzzFailure(AssertionError):
    """An input broke a promise: its text says which input and how."""


HOSTILE_STRINGS = [
    "",
    " ",
    "\u00b2",
    "\u0661",
    "\uff11",
    "1\u200b",
    "\x1b[31mRED",
    "\x00",
    "a\nb",
    "\u202eevil",
    "[bold]x[/]",
    "zen2[/]",
    "9" * 5000,
    "-1",
    "0x" + "f" * 40,
    "x" * 100_000,
    "1e999",
    "nan",
    "\ud800",
    "'; rm -rf /",
]
HOSTILE_NUMBERS = [0, -1, 1, 2**63, 2**64 - 1, 2**64, -(2**63), 10**40, 2**26, 2**40, 5, 9]
HOSTILE_TOML_VALUES = [
    '"\u00b2"',
    '"\u0661"',
    "9" * 5000,
    "9" * 45,
    "-1",
    "[" * 600 + "]" * 600,
    "{a = " * 400 + "1" + "}" * 400,
    '"' + "A" * 100_000 + '"',
    '"\\u001b[31mRED"',
    '"a\\nb"',
    "[]",
    "{}",
    "true",
    "1.5",
    "nan",
    "inf",
    "1979-05-27",
    '"1 * ' * 1 + "1*" * 600 + '1"',
    '"' + "(" * 100 + "1" + ")" * 100 + '"',
    '"L3_PAGES - 1"',
    '"3 * L3_PAGES - 1"',
    '"DIRECTMAP + L4_SPAN"',
    '"~0"',
    '"INVALID_MFN"',
]
HOSTILE_JSON_VALUES: list[Any] = [
    None,
    True,
    [],
    {},
    [[]],
    "",
    "vuln",
    ["vuln"],
    {"op": "map"},
    *HOSTILE_NUMBERS,
    1.5,
    "\u0661",
    "x" * 10_000,
]


def check_message(message: str, where: str) -> None:
    if "\n" in message or "\r" in message:
        raise FuzzFailure(f"{where}: a message of several lines: {message[:300]!r}")
    if len(message) > MAX_MESSAGE:
        raise FuzzFailure(f"{where}: a message of {len(message):,} characters")


def guarded(where: str, call: Callable[[], Any], refusals: tuple[type, ...]) -> str:
    """Run ``call``: "accepted", or "refused" for a documented input error with a
    one-line message; FuzzFailure for anything else or for a slow input."""
    start = time.perf_counter()
    try:
        call()
        outcome = "accepted"
    except refusals as exc:
        check_message(str(exc), where)
        outcome = "refused"
    except Exception as exc:
        raise FuzzFailure(f"{where}: {type(exc).__name__}: {str(exc)[:300]}") from exc
    seconds = time.perf_counter() - start
    if seconds > MAX_SECONDS:
        raise FuzzFailure(f"{where}: took {seconds:.1f} s")
    return outcome


# -- text mutations --------------------------------------------------------------------
def mutate_text(rng: random.Random, text: str, values: list[str]) -> str:
    """One to three edits: replace a value, insert a hostile value or line, cut, flip."""
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        lines = text.split("\n")
        if not text:
            break
        k = rng.randrange(len(lines))
        if choice < 0.45 and "=" in lines[k]:
            key = lines[k].split("=", 1)[0]
            lines[k] = f"{key}= {rng.choice(values)}"
        elif choice < 0.6:
            lines.insert(
                k, f"{rng.choice(['x', 'name', 'entries', 'nr', 'virt'])} = {rng.choice(values)}"
            )
        elif choice < 0.7:
            lines.insert(k, lines[rng.randrange(len(lines))])  # duplicated line or key
        elif choice < 0.8:
            text = text[: rng.randrange(len(text) + 1)]
            continue
        elif choice < 0.9 and text:
            i = rng.randrange(len(text))
            text = (
                text[:i]
                + chr(rng.choice([0, 27, 0x661, 0xB2, ord("["), ord('"'), 10]))
                + text[i + 1 :]
            )
            continue
        else:
            i = rng.randrange(len(lines[k]) + 1)
            lines[k] = lines[k][:i] + rng.choice(HOSTILE_STRINGS[:12]) + lines[k][i:]
        text = "\n".join(lines)
    return text


def mutate_json(rng: random.Random, value: Any) -> Any:
    """A deep copy of ``value`` with one to three nodes replaced by hostile values."""
    value = json.loads(json.dumps(value))
    for _ in range(rng.randint(1, 3)):
        path: list[Any] = []
        node = value
        while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append(key)
            node = node[key]
        if not path:
            return _hostile_json(rng)
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.1:
            del parent[path[-1]]
        else:
            parent[path[-1]] = _hostile_json(rng)
    return value


def _hostile_json(rng: random.Random) -> Any:
    """A fresh copy of a hostile value (never shared between inputs)."""
    return json.loads(json.dumps(rng.choice(HOSTILE_JSON_VALUES)))


def json_text(rng: random.Random, value: Any) -> str:
    text = json.dumps(value)
    r = rng.random()
    if r < 0.05:
        return "[" * 5000 + "]" * 5000
    if r < 0.1:
        return text[: rng.randrange(len(text) + 1)]
    if r < 0.15 and text.startswith("{"):
        return '{"id": "dup", ' + text[1:]  # a duplicated key
    return text


# -- targets ---------------------------------------------------------------------------
def _scenario_texts() -> list[str]:
    return [p.read_text() for p in sorted(SCENARIOS.glob("*.toml"))]


def fuzz_scenario(rng: random.Random, texts: list[str] = _scenario_texts()) -> str:  # noqa: B008
    from pagerace.errors import PageraceInputError
    from pagerace.scenario import parse_scenario

    text = mutate_text(rng, rng.choice(texts), HOSTILE_TOML_VALUES)
    return guarded(
        "scenario " + repr(text[:200]),
        lambda: parse_scenario(text, "f.toml"),
        (PageraceInputError,),
    )


_TOKENS = [
    "1",
    "0",
    "0x10",
    "4096",
    "+",
    "-",
    "*",
    "|",
    "&",
    "~",
    "(",
    ")",
    "PAGE_SIZE",
    "L2_SPAN",
    "L3_PAGES",
    "DIRECTMAP",
    "_PAGE_NX",
    "INVALID_MFN",
    "\u00b2",
    "\u0661",
    "9" * 30,
    "x",
    " ",
    "0_1",
    "1__0",
    "08",
    "?",
    "\x00",
    "0x" + "f" * 17,
]


def fuzz_expression(rng: random.Random) -> str:
    from pagerace.scenario import evaluate
    from pagerace.scenario.expr import ExprError

    n = rng.choice([1, 2, 3, 5, 10, 40, 200, 700])
    text = "".join(rng.choice(_TOKENS) for _ in range(n))

    def call() -> None:
        value = evaluate(text)
        if not 0 <= value < 2**64:
            raise FuzzFailure(f"expression {text!r} gave {value}, outside 64 bits")

    return guarded("expression " + repr(text[:200]), call, (ExprError,))


_VECTOR_LINE = json.loads(VECTORS.read_text().split("\n", 1)[0])


def fuzz_vector_line(rng: random.Random) -> str:
    from pagerace.errors import VectorFileError
    from pagerace.xen.conformance import check_sequence, parse_vector_line

    text = json_text(rng, mutate_json(rng, _VECTOR_LINE))

    def call() -> None:
        seq = parse_vector_line(text, "v.jsonl:1")
        if rng.random() < 0.02:  # replaying is slow: now and then
            check_sequence(seq)

    return guarded("vector " + repr(text[:200]), call, (VectorFileError,))


_XL_INFOS = [p.read_text() for p in sorted(ADVISORY.glob("xlinfo-*.txt"))]
_XL_INFO_VALUES = [
    *HOSTILE_STRINGS[:14],
    ".1",
    ".0",
    "-unstable",
    ".1-pre",
    "4.15.0",
    "4.13.1",
    "",
    "hap",
    "pv hvm",
]


def fuzz_xl_info(rng: random.Random) -> str:
    from pagerace.advisory import assess, parse_xl_info, parse_xl_info_text
    from pagerace.errors import PageraceInputError

    lines = rng.choice(_XL_INFOS).split("\n")
    for _ in range(rng.randint(1, 3)):
        if not lines:
            break
        k = rng.randrange(len(lines))
        r = rng.random()
        if r < 0.5 and ":" in lines[k]:
            lines[k] = lines[k].split(":", 1)[0] + ": " + rng.choice(_XL_INFO_VALUES)
        elif r < 0.7:
            del lines[k]
        elif r < 0.85 and lines:
            lines.insert(k, lines[rng.randrange(len(lines))].replace("4", "5", 1))
        else:
            lines = lines[:k]
    text = "\n".join(lines)

    def call() -> None:
        facts = parse_xl_info(parse_xl_info_text(text))
        assess(facts, None)

    return guarded("xl info " + repr(text[:200]), call, (PageraceInputError,))


_XL_LISTS = [json.loads(p.read_text()) for p in sorted(ADVISORY.glob("xllist-*.json"))]


def fuzz_xl_list(rng: random.Random) -> str:
    from pagerace.advisory import XlListError, parse_xl_list

    text = json_text(rng, mutate_json(rng, rng.choice(_XL_LISTS)))
    return guarded("xl list " + repr(text[:200]), lambda: parse_xl_list(text), (XlListError,))


_HOST_FILES = [p.read_text() for p in sorted(ADVISORY.glob("host-*.toml"))]


def fuzz_host_file(rng: random.Random) -> str:
    from pagerace.advisory import assess, parse_host_file
    from pagerace.errors import PageraceInputError

    text = mutate_text(rng, rng.choice(_HOST_FILES), [*HOSTILE_TOML_VALUES, '"4.15"', '"pvh"'])

    def call() -> None:
        described = parse_host_file(text, "h.toml")
        assess(described.host, described.domains, count_dom0=rng.random() < 0.5)

    return guarded("host file " + repr(text[:200]), call, (PageraceInputError,))


def fuzz_schedule(rng: random.Random) -> str:
    from pagerace.errors import PageraceInputError
    from pagerace.explore.schedule import Schedule

    parts = []
    for _ in range(rng.choice([0, 1, 3, 10])):
        tid = rng.choice(["0", "1", "7", "8", "\u0661", "x", ""])
        count = rng.choice(
            ["", "x2", "x1", "x0", "x99999999", "x" + "9" * 5000, "x1000000000", "x-1", "x\u00b2"]
        )
        parts.append(tid + count)
    text = rng.choice(["v1:", "v2:", "", "v1"]) + ".".join(parts)

    def call() -> None:
        s = Schedule.parse(text)
        if Schedule.parse(str(s)) != s:
            raise FuzzFailure(f"schedule {text!r} does not round-trip")

    return guarded("schedule " + repr(text[:200]), call, (PageraceInputError,))


# -- the command line ------------------------------------------------------------------
def _paths(tmp: Path) -> dict[str, str]:
    fifo = tmp / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    (tmp / "empty.toml").write_text("")
    return {
        "dir": str(tmp),
        "fifo": str(fifo),
        "zero": "/dev/zero",
        "full": "/dev/full",
        "missing": str(tmp / "missing" / "out.json"),
        "empty": str(tmp / "empty.toml"),
        "long": "a" * 5000,
        "nul": "a\x00b",
        "blank": "",
    }


def cli_cases(rng: random.Random, tmp: Path) -> list[str]:
    """One command line that must be refused (exit 2, one line on stderr)."""
    p = _paths(tmp)
    bad_path = rng.choice(list(p.values()))
    bad_number = rng.choice(
        [
            "-1",
            "\u00b2",
            "\u0661",
            "9" * 5000,
            "nan",
            "inf",
            "1e9",
            "0",
            "",
            "x",
            "18446744073709551616",
        ]
    )
    forms = [
        ["show", bad_path],
        ["run", bad_path, "-q"],
        [
            "run",
            "xsa345-r1-small",
            "-q",
            "--json",
            rng.choice([p["dir"], p["missing"], p["full"], p["fifo"], p["zero"], ""]),
        ],
        ["run", "xsa345-r1-small", "-q", "--html", rng.choice([p["dir"], p["missing"], "-", ""])],
        ["run", "xsa345-r1-small", "-q", "--json", "same.json", "--html", "same.json"],
        _bad_number_option(rng, bad_number),
        [
            "replay",
            "xsa345-r1-small",
            rng.choice(["v1:0x1000000000", "v1:0x" + "9" * 5000, "v9:", "v1:8", "v1:\u0661", ""]),
        ],
        ["conform", bad_path],
        ["conform", str(VECTORS), "--jobs", bad_number],
        ["assess", "--xl-info", bad_path],
        ["assess", "--host", bad_path],
        ["assess", "--xl-info", str(ADVISORY / "xlinfo-4.14.0-intel.txt"), "--xl-list", bad_path],
        ["assess", "--cpu-vendor", rng.choice(HOSTILE_STRINGS[:12])],
        ["xsa345", "--json", rng.choice([p["dir"], p["missing"], p["full"], ""])],
        [rng.choice(["run", "show", "assess", "conform"]), "--no-such-option"],
        ["run", "xsa345-r1-small", "-q", "--dask", rng.choice(BAD_DASK + HOSTILE_STRINGS[:12])],
        ["hunt", "--out", p["dir"], "-q", "--dask", rng.choice(BAD_DASK)],
        [
            "run",
            "xsa345-r1-small",
            "-q",
            "--checkpoint",
            rng.choice([p["dir"], p["missing"], p["full"], p["fifo"], p["zero"], ""]),
        ],
        ["run", "xsa345-r1-small", "-q", "--json", "c.json", "--checkpoint", "./c.json"],
        ["resume", bad_path],
        ["resume", _damaged_checkpoint(rng, tmp)],
        ["check", bad_path],
        ["replay", bad_path, "v1:0"],
        ["steps", rng.choice(HOSTILE_STRINGS[:12])],
        ["hunt", "--max-scenarios", "1", "--out", rng.choice([p["empty"], p["zero"], "", "\x00"])],
    ]
    return rng.choice(forms)


#: --dask addresses that are refused before any connection is tried
BAD_DASK = [
    "tcp://",
    "tcp://host",
    "tcp://host:port",
    "tcp://:8786",
    "tcp://host:70000",
    "tcp://host:0",
    "local:",
    "local:0",
    "local:x",
    "local:99999",
    "local:\u0661",
    "host:8786",
]


def _damaged_checkpoint(rng: random.Random, tmp: Path) -> str:
    """A checkpoint file of the shape run --checkpoint writes, mutated (its hash is no
    scenario's, so even an intact one is refused)."""
    from pagerace.explore.checkpoint import FORMAT

    unit = {
        "executions": 39,
        "events": 2636,
        "cut": 0,
        "max_depth": 77,
        "deadlocks": 0,
        "bound_cut": True,
        "exhausted": False,
        "indices": [0, 0, 1],
        "findings": [
            {"kind": "leak", "message": "m", "key": "('leak', 'quiescence')", "schedule": "v1:0"}
        ],
        "above": [],
    }
    doc = {
        "pagerace-checkpoint": FORMAT,
        "about": {"scenario": "xsa345-r1-small", "variant": None, "until_expected": True},
        "hash": "0" * 64,
        "options": {
            "strategy": "dpor",
            "preemption_bound": 1,
            "fewest_first": True,
            "max_executions": 1000,
            "time_limit": 300.0,
            "seed": 0,
            "keep_going": True,
            "count_traces": False,
            "schedule": None,
            "pct_depth": 3,
            "fine_scans": False,
            "until_expected": True,
        },
        "levels": {"0": {"units": 1, "done": {"0": unit}}, "1": {"units": 2, "done": {}}},
    }
    path = tmp / "damaged.ckpt"
    path.write_text(json_text(rng, mutate_json(rng, doc)), encoding="utf-8", errors="replace")
    return str(path)


def _bad_number_option(rng: random.Random, bad_number: str) -> list[str]:
    option = rng.choice(
        ["--max-executions", "--seed", "--pct-depth", "--time-limit", "--preemption-bound"]
    )
    if bad_number == "0" and option in ("--seed", "--preemption-bound"):
        bad_number = "-1"  # 0 is a valid seed and bound (and so is -0, read as 0)
    return ["run", "xsa345-r1-small", "-q", option, bad_number]


def run_cli(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``pagerace argv`` in this process: (exit status, stdout, stderr)."""
    from pagerace.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code: Any = 0
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(old)
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def fuzz_cli(rng: random.Random, tmp: Path) -> str:
    argv = cli_cases(rng, tmp)
    start = time.perf_counter()
    try:
        code, _, err = run_cli(argv, tmp)
    except Exception as exc:
        raise FuzzFailure(f"pagerace {argv!r}: {type(exc).__name__}: {str(exc)[:300]}") from exc
    seconds = time.perf_counter() - start
    where = f"pagerace {' '.join(a[:60] for a in argv)!r}"
    lines = err.splitlines()
    if code != 2 or len(lines) != 1 or "Traceback" in err:
        raise FuzzFailure(f"{where}: exit {code}, stderr {err[:400]!r}")
    check_message(lines[0], where)
    if any(ch < " " for ch in lines[0]):
        raise FuzzFailure(f"{where}: a control character in {lines[0]!r}")
    if seconds > MAX_SECONDS:
        raise FuzzFailure(f"{where}: took {seconds:.1f} s")
    return "refused"


TARGETS: dict[str, Callable[[random.Random], str]] = {
    "scenario": fuzz_scenario,
    "expression": fuzz_expression,
    "vector": fuzz_vector_line,
    "xl-info": fuzz_xl_info,
    "xl-list": fuzz_xl_list,
    "host-file": fuzz_host_file,
    "schedule": fuzz_schedule,
}

sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
