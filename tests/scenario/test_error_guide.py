"""The error lines docs/scenarios.md shows, one per class of problem, are the lines
pagerace gives for such a file (word for word; a line the guide ends with '...' is
compared up to there)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pagerace.errors import ScenarioError
from pagerace.scenario import load_scenario, parse_scenario

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"

HEAD = 'name = "t"\nvariant = "xen-4.14"\n'
CPU = "[[cpus]]\nops = [ {op} ]\n"
MAP = 'op = "map", virt = "DIRECTMAP", mfn = 0, nr = 1, flags = "PAGE_HYPERVISOR"'
OK = HEAD + CPU.format(op="{ " + MAP + " }")


def _op(fields: str) -> str:
    return HEAD + CPU.format(op="{ " + fields + " }")


def _nr(expression: str) -> str:
    return _op(f'op = "populate", virt = "DIRECTMAP", nr = "{expression}"')


#: problem (the guide's first column) -> a file with that problem
FILES = {
    "TOML syntax": 'name = "t"\n\n[cpus\n',
    "unknown top-level key": "entires = 8\n" + OK,
    "missing required key": 'name = "t"\n' + CPU.format(op="{ " + MAP + " }"),
    "wrong type": "entries = true\n" + OK,
    "bad name": OK.replace('"t"', '"XSA345"'),
    "unknown variant": OK.replace('"xen-4.14"', '"xen-4.15"'),
    "bad `entries`": "entries = 100\n" + OK,
    "no CPUs": HEAD,
    "too many CPUs": HEAD + CPU.format(op="{ " + MAP + " }") * 9,
    "unknown key in a CPU": HEAD + "[[cpus]]\nopz = []\n",
    "unknown op": _op('op = "mapp"'),
    "unknown key in an op": _op(MAP + ", colour = 1"),
    "missing field": _op('op = "map", virt = "DIRECTMAP", mfn = 0, nr = 1'),
    "wrong type of field": _op('op = "lookup", virt = true'),
    "negative integer": _op(MAP.replace("mfn = 0", "mfn = -1")),
    "unexpected character": _nr("1 $ 2"),
    "unbalanced parentheses": _nr("(1 + 2"),
    "trailing garbage": _nr("1 2"),
    "missing operand": _nr("1 +"),
    "bad number": _nr("010"),
    "empty expression": _nr(""),
    "out of range": _nr("0 - 1"),
    "`nr` below 1": _nr("0"),
    "unknown name": _op('op = "lookup", virt = "DIRECTMAP + L3_SPN"'),
    "unaligned address": _op('op = "lookup", virt = "DIRECTMAP + 1"'),
    "non-canonical address": _op('op = "lookup", virt = 0x800000000000'),
    "range too long": _op('op = "populate", virt = 0x7ffffffff000, nr = 2'),
    "`e` not above `s`": _op('op = "destroy", s = "DIRECTMAP", e = "DIRECTMAP"'),
    "`e` out of range": "entries = 8\n" + _op('op = "destroy", s = "DIRECTMAP", e = "0x1001000"'),
    "frames too high": _op(MAP.replace("mfn = 0, nr = 1", "mfn = 0xffffff, nr = 2")),
    "flags with frame bits": _op(
        MAP.replace('"PAGE_HYPERVISOR"', '"PAGE_HYPERVISOR | _PAGE_PSE_PAT"')
    ),
    "unknown finding kind": OK + '[expect]\n"xen-4.14" = ["use-after-fre"]\n',
    "unknown variant in `[expect]`": OK + '[expect]\n"xen-4.15" = []\n',
    "kind listed twice": OK + '[expect]\n"xen-4.14" = ["leak", "leak"]\n',
    "forbid and allow together": OK + '[expect]\n"xsa-345" = { forbid = ["leak"], allow = [] }\n',
    "bad `[explore]` value": OK + '[explore]\nstrategy = "bfs"\n',
    "bad `[explore]` combination": OK
    + '[explore]\nstrategy = "pct"\npreemption_bound = "iterative"\n',
    "unknown `[explore]` key": OK + "[explore]\nsed = 1\n",
}


def _guide_lines() -> dict[str, str]:
    rows = re.findall(r"^\| (.+?) \| `(bad\.toml: .+)` \|$", GUIDE.read_text(), re.M)
    return {problem: line.replace("\\|", "|") for problem, line in rows}


def _matches(actual: str, documented: str) -> bool:
    if documented.endswith(", ..."):
        return actual.startswith(documented.removesuffix("..."))
    return actual == documented


@pytest.mark.parametrize("problem", FILES)
def test_the_guide_shows_the_line_pagerace_gives(problem: str) -> None:
    documented = _guide_lines()[problem]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(FILES[problem], "bad.toml")
    assert _matches(str(info.value), documented), (str(info.value), documented)


def test_the_guide_shows_the_line_for_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    documented = _guide_lines()["unreadable file"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(tmp_path / "bad.toml"))
    assert str(info.value).replace(str(tmp_path / "bad.toml"), "bad.toml") == documented


def test_the_guide_shows_the_line_for_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    documented = _guide_lines()["not UTF-8"]
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "tes\xe9"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    assert str(info.value).replace(str(path), "bad.toml") == documented
