"""The build: the modules ``setup.py`` compiles are all compiled or none (a module
compiled without the others' shared library would not import), each is a module of
the source tree, and ``pagerace --version`` says which build is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pagerace.build import COMPILED, compiled_modules, describe

SRC = Path(__file__).parents[2] / "src"


def test_every_compiled_module_is_a_source_module() -> None:
    for name in COMPILED:
        assert (SRC / (name.replace(".", "/") + ".py")).is_file(), name
    assert len(set(COMPILED)) == len(COMPILED)


def test_all_compiled_or_none() -> None:
    found = compiled_modules()
    assert found in ([], list(COMPILED)), describe()
    if os.environ.get("PAGERACE_PURE_PYTHON", "") not in ("", "0"):
        assert not found  # (a pure build asked for and got)


def test_the_version_says_which_build() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pagerace", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("pagerace ") and out.rstrip().endswith(describe())
