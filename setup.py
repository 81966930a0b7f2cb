"""Build: the hot modules compiled to C with mypyc, when this machine can.

The explorer re-runs the Xen model millions of times; compiled, the modules that
``pagerace.build.COMPILED`` lists run it about 1.6x as fast.  They stay plain Python
source (they read side by side with Xen's mm.c), and the package works the same
without compilation: when mypyc or a C compiler is missing, or when
PAGERACE_PURE_PYTHON=1, the build installs the source alone and says so.
docs/scaling.md, "Compiled or pure Python".
"""

from __future__ import annotations

import ast
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _compiled_paths() -> list[str]:
    """``pagerace.build.COMPILED`` as source paths (read as data: nothing is built yet)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "src", "pagerace", "build.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "COMPILED":
            names = ast.literal_eval(node.value)
            return ["src/" + name.replace(".", "/") + ".py" for name in names]
    raise RuntimeError("src/pagerace/build.py: no COMPILED list")


def _say(message: str) -> None:
    print(f"pagerace build: {message}", file=sys.stderr)


class _AllOrNothing(build_ext):
    """Build every compiled module or none: a module compiled without the shared
    library it calls into would not import, so on any failure the source alone is
    installed."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler or header, a mypyc error
            _say(f"compilation failed ({exc}); installing pure Python")
            for ext in self.extensions:
                path = self.get_ext_fullpath(ext.name)
                if os.path.exists(path):
                    os.remove(path)
            self.extensions = []


def _extensions() -> list:
    if os.environ.get("PAGERACE_PURE_PYTHON", "") not in ("", "0"):
        _say("PAGERACE_PURE_PYTHON is set: installing pure Python")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not available: installing pure Python")
        return []
    try:
        return mypycify(_compiled_paths(), opt_level="3", group_name="pagerace_native")
    except (Exception, SystemExit) as exc:  # a type error mypyc refuses
        _say(f"mypyc failed ({exc}); installing pure Python")
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": _AllOrNothing})
