"""The step table (pagerace.xen.steps): every label the model uses is described and
placed in mm.c, and every entry is well-formed."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from pagerace.xen import steps
from pagerace.xen.versions import VERSIONS

XEN = Path(__file__).parents[2] / "src" / "pagerace" / "xen"
LABEL = re.compile(r"^(?:[MVXQ]\d+(?:\.\d+)?|L3T_LOCK|L3T_UNLOCK)$")
COMMENT_LABEL = re.compile(r"\b([MVXQ]\d+(?:\.\d+)?)\b")
XEN_FUNCTIONS = set(steps.functions())


def _model_sources() -> list[Path]:
    return sorted(p for p in XEN.glob("*.py") if p.name not in ("steps.py", "conformance.py"))


def _is_m(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "m"


def _call_labels(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, label, enclosing function) of every string label passed to ``m.*(...)``
    or to a helper called with the machine ``m`` as its first argument."""
    found = []

    def visit(node: ast.AST, fn: str) -> None:
        if isinstance(node, ast.ClassDef):
            fn = "class " + node.name  # methods model macros, not Xen functions
        elif isinstance(node, ast.FunctionDef) and not fn.startswith("class "):
            fn = node.name
        if isinstance(node, ast.Call):
            f = node.func
            on_m = (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "m"
            )
            with_m = (
                bool(node.args) and isinstance(node.args[0], ast.Name) and node.args[0].id == "m"
            )
            if on_m or with_m:
                for a in node.args:
                    if (
                        isinstance(a, ast.Constant)
                        and isinstance(a.value, str)
                        and LABEL.match(a.value)
                    ):
                        found.append((node.lineno, a.value, fn))
        for child in ast.iter_child_nodes(node):
            visit(child, fn)

    visit(tree, "")
    return found


def _comment_labels(text: str) -> list[tuple[int, str]]:
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if "#" in line:
            found += [(n, m) for m in COMMENT_LABEL.findall(line.split("#", 1)[1])]
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node)
            if doc:
                found += [
                    (node.lineno if not isinstance(node, ast.Module) else 1, m)
                    for m in COMMENT_LABEL.findall(doc)
                ]
    return found


def test_the_scan_of_the_model_finds_its_labels() -> None:
    # guards the two scanners below against finding nothing
    text = (XEN / "map_pages.py").read_text()
    calls = {label for _, label, _ in _call_labels(ast.parse(text))}
    assert {"M1.1", "M7.3", "M9.6", "M3"} <= calls
    assert {"M6.2", "M4"} <= {label for _, label in _comment_labels(text)}


@pytest.mark.parametrize("path", _model_sources(), ids=lambda p: p.name)
def test_every_label_of_the_model_has_an_entry(path: Path) -> None:
    text = path.read_text()
    used = [(n, label) for n, label, _ in _call_labels(ast.parse(text))] + _comment_labels(text)
    missing = sorted({f"{path.name}:{n} {label}" for n, label in used if steps.step(label) is None})
    assert missing == []


@pytest.mark.parametrize("path", _model_sources(), ids=lambda p: p.name)
def test_labels_used_in_a_xen_function_belong_to_it(path: Path) -> None:
    wrong = []
    for n, label, fn in _call_labels(ast.parse(path.read_text())):
        entry = steps.step(label)
        assert entry is not None
        owners = {f.strip() for f in entry.function.split(",")}
        if fn in XEN_FUNCTIONS and fn not in owners:
            wrong.append(
                f"{path.name}:{n} {label} is used in {fn}, the table says {entry.function}"
            )
    assert wrong == []


def test_every_variant_of_the_model_has_a_column_of_lines() -> None:
    assert set(VERSIONS) <= set(steps.versions())
    for v in steps.versions():
        assert re.fullmatch(r"[0-9a-f]{40}", steps.commit_of(v) or ""), v


@pytest.mark.parametrize("label", list(steps.steps()), ids=str)
def test_an_entry_is_well_formed(label: str) -> None:
    entry = steps.steps()[label]
    assert LABEL.match(label)
    owners = [f.strip() for f in entry.function.split(",")]
    assert owners and all(f in XEN_FUNCTIONS for f in owners), entry.function
    for text in (entry.does, entry.reads, entry.writes):
        assert "\n" not in text and text == text.strip()
    assert entry.does.endswith((".", ")", "?")) and len(entry.does) > 10
    assert entry.sites
    for (caller, kind), per_version in entry.sites.items():
        assert kind in steps.EVENT_KEYS
        assert caller == "" or caller in owners
        assert caller != "" or len(owners) == 1, (
            "labels of several functions give lines per function"
        )
        where = caller or owners[0]
        for variant, lines in zip(steps.versions(), per_version):
            rng = steps.function_range(where, variant)
            if not lines:
                # a step is missing only where Xen has no such function (xen_map_to_mfn
                # before 4.19) or no l3t lock
                assert rng is None or (
                    label.startswith("L3T_") and steps.function_range("l3t_lock", variant) is None
                ), (label, variant)
                continue
            assert rng is not None, (label, variant)
            assert all(rng[0] < n <= rng[1] for n in lines), (label, kind, variant, lines, rng)
            assert list(lines) == sorted(set(lines))


def test_function_ranges_are_ordered_and_disjoint() -> None:
    for variant in steps.versions():
        ranges = sorted(r for f in steps.functions() if (r := steps.function_range(f, variant)))
        for (a0, a1), (b0, b1) in itertools.pairwise(ranges):
            assert a0 < a1 < b0 < b1, variant


def test_event_lines_follow_the_event_and_the_caller() -> None:
    # M8.1: the lock, the load and the two unlock sites (not present / superpage)
    assert steps.event_lines("M8.1", "lock", "xen-4.14") == (5344,)
    assert steps.event_lines("M8.1", "load", "xen-4.14") == (5346,)
    assert steps.event_lines("M8.1", "unlock", "xen-4.14") == (5354, 5361)
    # a flush's IPI and acknowledgement are the flush's line
    assert steps.event_lines("M7.4:IPI", "lock", "xsa-345") == steps.event_lines(
        "M7.4", "flush", "xsa-345"
    )
    # the l3t lock: the line depends on the function running, not on the label alone
    assert steps.event_lines("L3T_LOCK", "lock", "xsa-345", "map_pages_to_xen") == (5173,)
    assert steps.event_lines("L3T_LOCK", "lock", "xsa-345", "destroy_xen_mappings") == (5564,)
    assert steps.event_lines("L3T_LOCK", "lock", "xen-4.14", "map_pages_to_xen") == ()
    # unknown labels and variants have no line
    assert steps.event_lines("HW", "access", "xen-4.14") == ()
    assert steps.event_lines("M1.1", "load", "no-such-variant") == ()
    assert steps.step("M2.7") is not None and steps.step("M2.7:ack") == steps.step("M2.7")


def test_the_table_answers_what_xen_4_14_does_at_the_advisorys_steps() -> None:
    # spot checks, read off mm.c at a7f0831e58: V2.4 is the BUG_ON of virt_to_xen_l2e,
    # M9.6 the free of the coalesced L2 table
    v24 = steps.step("V2.4")
    m96 = steps.step("M9.6")
    assert v24 is not None and m96 is not None
    assert v24.function == "virt_to_xen_l2e" and v24.lines("xen-4.14") == (5022,)
    assert m96.function == "map_pages_to_xen" and m96.lines("xen-4.14") == (5430,)
    assert m96.lines("xen-4.21") == (5759,)


DOC = Path(__file__).parents[2] / "docs" / "xen-mapping-spec.md"
_EXTRA_KINDS = ("lock", "unlock", "alloc", "free", "scan", "bug")


def _cell(sites: dict[tuple[str, str], tuple[tuple[int, ...], ...]], caller: str, i: int) -> str:
    def fmt(lines: tuple[int, ...]) -> str:
        return ", ".join(map(str, lines)) if lines else "\u2013"

    parts = [fmt(sites[caller, "line"][i])] if (caller, "line") in sites else []
    for kind in _EXTRA_KINDS:
        if (caller, kind) in sites and sites[caller, kind][i]:
            parts.append(f"{kind} {fmt(sites[caller, kind][i])}")
    return "; ".join(parts)


def test_the_spec_page_gives_every_step_with_the_lines_of_the_table() -> None:
    rows: dict[tuple[str, str], list[str]] = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \|(.*)\|$", line)
        if m and LABEL.match(m.group(1)):
            cells = [c.strip() for c in m.group(2).split(" | ")]
            label = m.group(1)
            shared = "," in (steps.step(label) or steps.steps()["M1.1"]).function
            rows[label, cells[1] if shared else ""] = cells
    n = len(steps.versions())
    expected = {}
    for label, entry in steps.steps().items():
        sites = dict(entry.sites)
        callers = sorted({c for c, _ in sites}) if "," in entry.function else [""]
        for caller in callers:
            head = [entry.does, caller] if caller else [entry.does, entry.reads, entry.writes]
            expected[label, caller] = head + [_cell(sites, caller, i) for i in range(n)]
    assert rows == expected
