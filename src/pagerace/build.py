"""How this pagerace was built: the modules compiled to C, and whether they are.

``setup.py`` compiles ``COMPILED`` with mypyc when the machine can (a C compiler and
the Python headers), and installs the source alone when it cannot or when
``PAGERACE_PURE_PYTHON=1``; both run the same code and give the same results, the
compiled build about 1.6x as fast (docs/scaling.md, "Compiled or pure Python").
This module imports nothing from pagerace, so that ``setup.py`` can read the list
before anything is built.

A compiled module is imported in preference to its ``.py``.  In a source tree built
in place (``pip install -e .``) an edit to one of them would then change nothing, or
worse, change the modules that are not compiled and not the others; so when any of
them changed after it was compiled, every one of them is imported from its source
instead (pure Python, slower, the code as it stands), with a one-line warning
(``use_sources``, called as the package is imported).  ``PAGERACE_PURE_PYTHON=1`` in
the environment of a run does the same, silently, for any install.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["COMPILED", "compiled_modules", "describe", "stale_sources", "use_sources"]

#: The modules compiled: an explored execution's hot path -- the runtime, the
#: search strategies it runs every execution, the explored machine, the Xen model
#: and the oracles.  (What they may not do, compiled: docs/ARCHITECTURE.md.)
COMPILED: tuple[str, ...] = (
    "pagerace.paging.pte",
    "pagerace.paging.tlb",
    "pagerace.paging.memory",
    "pagerace.paging.walk",
    "pagerace.paging.flush",
    "pagerace.paging.dump",
    "pagerace.explore.execution",
    "pagerace.explore.context",
    "pagerace.explore.events",
    "pagerace.explore.strategies.dfs",
    "pagerace.explore.strategies.dpor",
    "pagerace.explore.frontier",
    "pagerace.explore.bounding",
    "pagerace.machine.explored",
    "pagerace.xen.map_pages",
    "pagerace.xen.pagetable",
    "pagerace.xen.modify",
    "pagerace.xen.lookup",
    "pagerace.xen.versions",
    "pagerace.xen.config",
    "pagerace.xen.variants",
    "pagerace.checks.op_tracker",
    "pagerace.checks.memo",
    "pagerace.checks.functional",
    "pagerace.checks.final_state",
    "pagerace.checks.memory_safety",
    "pagerace.checks.tlb",
    "pagerace.program",
)


def compiled_modules() -> list[str]:
    """The modules of ``COMPILED`` that load from a compiled extension here."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = []
    for name in COMPILED:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None and spec.origin.endswith(suffixes):
            found.append(name)
    return found


def describe() -> str:
    """``compiled (28 modules)``, ``pure Python``, or what is wrong with a partial
    build (some modules compiled, others not: rebuild)."""
    if _stale:
        return f"pure Python (the compiled modules are older than {_stale[0]}: reinstall)"
    found = compiled_modules()
    if not found:
        return "pure Python"
    if len(found) == len(COMPILED):
        return f"compiled ({len(found)} modules)"
    missing = [name for name in COMPILED if name not in found]
    return f"partly compiled ({len(found)} of {len(COMPILED)}; not {', '.join(missing)})"


#: the sources found newer than their compiled modules (``use_sources``)
_stale: list[str] = []


def _stem(package: Path, name: str) -> str:
    """Module ``name``'s path in ``package`` without its suffix (a string: this runs as
    the package is imported)."""
    return os.path.join(package, *name.split(".")[1:])


def stale_sources(package: Path, names: Sequence[str] = COMPILED) -> list[str]:
    """The modules among ``names`` whose source in ``package`` (the directory of the
    top package) was changed after the extension module beside it was built (none
    where no extension module lies beside the source)."""
    stale = []
    for name in names:
        stem = _stem(package, name)
        try:
            changed = os.stat(stem + ".py").st_mtime
        except OSError:
            continue
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            try:
                built = os.stat(stem + suffix).st_mtime
            except OSError:
                continue
            if changed > built:
                stale.append(name)
            break
    return stale


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the modules ``names`` from their ``.py`` in ``package``."""

    def __init__(self, package: Path, names: Sequence[str]) -> None:
        self.package = package
        self.names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        source = _stem(self.package, fullname) + ".py"
        if not os.path.isfile(source):
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def use_sources(package: Path, names: Sequence[str] = COMPILED, environ: Any = None) -> bool:
    """Import every module of ``names`` from its source from now on, if the run asks
    for pure Python (``PAGERACE_PURE_PYTHON``) or if ``package`` lies in a source tree
    (``src/`` beside a ``pyproject.toml``: an editable install) where one of them
    changed after it was compiled (then say so on stderr, once).  Whether it did."""
    env = os.environ if environ is None else environ
    asked = env.get("PAGERACE_PURE_PYTHON", "") not in ("", "0")
    stale: list[str] = []
    if not asked:
        tree = package.parent
        if tree.name != "src" or not (tree.parent / "pyproject.toml").is_file():
            return False
        stale = stale_sources(package, names)
        if not stale:
            return False
    if any(name in sys.modules for name in names):
        return False  # (too late: one is imported already, compiled or not)
    sys.meta_path.insert(0, _Sources(package, names))
    if stale:
        shown = os.path.relpath(_stem(package, stale[0]) + ".py", package.parent.parent)
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        _stale[:] = [shown]
        print(
            f"pagerace: {shown}{more} changed since the hot modules were compiled; running"
            " them all from source as pure Python (slower); `pip install -e .` compiles"
            " them again",
            file=sys.stderr,
        )
    return True
