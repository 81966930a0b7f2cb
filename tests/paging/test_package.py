"""The paging layer's surface and its place at the bottom of the layers."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pagerace.paging as paging

SOURCES = sorted(Path(paging.__file__).parent.glob("*.py"))
MODULES = [p.stem for p in SOURCES if p.stem != "__init__"]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_paging_imports_only_the_standard_library_errors_and_itself() -> None:
    for path in SOURCES:
        for name in _imports(path):
            if name.startswith("pagerace"):
                assert name == "pagerace.errors" or name.startswith("pagerace.paging"), (
                    f"{path.name} imports {name}"
                )
            else:
                top = name.split(".")[0]
                assert top in {
                    "__future__",
                    "array",
                    "sys",
                    "collections",
                    "dataclasses",
                    "enum",
                    "functools",
                    "itertools",
                    "typing",
                }, f"{path.name} imports {name}"


def test_nothing_in_paging_prints_or_exits() -> None:
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "exit", "quit"}, path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) != ("sys", "exit"), path.name


def test_the_package_re_exports_every_public_name_of_its_modules_exactly_once() -> None:
    exported = list(paging.__all__)
    assert len(exported) == len(set(exported))
    union: list[str] = []
    for name in MODULES:
        module = importlib.import_module(f"pagerace.paging.{name}")
        union.extend(module.__all__)
        for public in module.__all__:
            assert getattr(paging, public) is getattr(module, public), public
    assert sorted(union) == sorted(exported)
    assert len(union) == len(set(union)), "a name is exported by two modules"
