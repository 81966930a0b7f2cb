"""How this pagerace was built: the modules compiled to C, and whether they are.

``setup.py`` compiles ``COMPILED`` with mypyc when the machine can (a C compiler and
the Python headers), and installs the source alone when it cannot or when
``PAGERACE_PURE_PYTHON=1``; both run the same code and give the same results, the
compiled build about 1.6x as fast (docs/scaling.md, "Compiled or pure Python").
This module imports nothing from pagerace, so that ``setup.py`` can read the list
before anything is built.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util

__all__ = ["COMPILED", "compiled_modules", "describe"]

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
    found = compiled_modules()
    if not found:
        return "pure Python"
    if len(found) == len(COMPILED):
        return f"compiled ({len(found)} modules)"
    missing = [name for name in COMPILED if name not in found]
    return f"partly compiled ({len(found)} of {len(COMPILED)}; not {', '.join(missing)})"
