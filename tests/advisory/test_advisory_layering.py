"""The advisory package imports nothing from pagerace except pagerace.errors and
pagerace.userio (the safe readers and one-line text)."""

from __future__ import annotations

import ast
from pathlib import Path

import pagerace.advisory

PACKAGE = Path(pagerace.advisory.__file__).parent


def test_advisory_modules_import_only_the_errors_module_and_themselves() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("pagerace"):
                    assert name in ("pagerace.errors", "pagerace.userio") or name.startswith(
                        "pagerace.advisory"
                    ), f"{path.name} imports {name}"
            assert not (isinstance(node, ast.Name) and node.id in {"eval", "exec"}), path.name
            assert not (isinstance(node, ast.Import) and "pickle" in names), path.name


def test_every_public_name_is_exported_once_and_exists() -> None:
    exported = pagerace.advisory.__all__
    assert len(exported) == len(set(exported))
    for name in exported:
        assert hasattr(pagerace.advisory, name), name
