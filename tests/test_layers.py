"""The layer rule of docs/ARCHITECTURE.md: dependencies point down, never up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "pagerace"

# what each part may import from pagerace (besides itself, build, errors, userio and the
# version)
ALLOWED: dict[str, set[str]] = {
    "userio": set(),
    "build": set(),
    "explore": set(),
    "paging": set(),
    "machine": {"paging", "explore"},
    "xen": {"machine", "paging"},
    "checks": {"paging"},
    "scenario": {"paging", "checks", "xen", "explore"},
    "advisory": set(),
    "program": {"checks", "explore", "machine", "paging", "scenario", "xen"},
    "runner": {"checks", "explore", "machine", "paging", "program", "scenario", "xen"},
    "sequential": {"checks", "machine", "paging", "program", "runner", "scenario", "xen"},
    "report": {"paging", "xen"},
    "hunt": {"checks", "explore", "machine", "paging", "program", "runner", "scenario", "xen"},
    "testing": {"cli", "explore", "report", "runner", "scenario"},
    "pytest_plugin": {"report", "testing"},
    "cli": {
        "advisory",
        "checks",
        "explore",
        "hunt",
        "machine",
        "paging",
        "program",
        "report",
        "runner",
        "scenario",
        "sequential",
        "xen",
    },
}


def part_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def pagerace_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "pagerace" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if part_of(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    part = part_of(path)
    allowed = ALLOWED[part] | {part, "build", "errors", "userio"}
    bad = [(line, target) for line, target in pagerace_imports(path) if target not in allowed]
    assert bad == [], f"{path.relative_to(SRC)} imports {bad} (allowed: {sorted(allowed)})"


def test_every_part_of_the_package_is_placed_in_a_layer() -> None:
    parts = {part_of(p) for p in SRC.rglob("*.py")} - {"__init__", "__main__", "errors"}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


@pytest.mark.parametrize(
    "package", ["explore", "paging", "scenario", "checks", "advisory"], ids=str
)
def test_each_public_name_is_exported_once(package: str) -> None:
    import importlib

    module = importlib.import_module(f"pagerace.{package}")
    names = module.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("part", ["explore", "paging", "machine", "xen", "checks"])
def test_the_engine_layers_never_print(part: str) -> None:
    for path in (SRC / part).rglob("*.py"):
        tree = ast.parse(path.read_text())
        calls = [
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
        ]
        assert calls == [], f"{path} prints at lines {calls}"
