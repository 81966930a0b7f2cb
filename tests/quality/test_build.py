"""The build: the modules ``setup.py`` compiles are all compiled or none (a module
compiled without the others' shared library would not import), each is a module of
the source tree, and ``pagerace --version`` says which build is installed; in a
source tree where one of them changed after it was compiled, or when a run asks
for pure Python, they are all imported from their sources."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagerace.build import COMPILED, compiled_modules, describe, stale_sources, use_sources

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


def _version(**env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pagerace --version``, with ``env`` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "pagerace", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )


def test_the_version_says_which_build() -> None:
    out = _version().stdout
    assert out.startswith("pagerace ") and out.rstrip().endswith(describe())


def test_a_run_asked_for_pure_python_imports_the_sources() -> None:
    out = _version(PAGERACE_PURE_PYTHON="1")
    assert out.stdout.rstrip().endswith(", pure Python") and not out.stderr


def _tree(root: Path, *, built_after: bool) -> Path:
    """A source tree (``pyproject.toml``, ``src/fakepkg``) with a module ``mod``
    whose extension beside it is no extension at all (importing it fails), built
    before or after its source was last changed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'fakepkg'\n")
    package = root / "src" / "fakepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    source = package / "mod.py"
    source.write_text("WHERE = 'source'\n")
    built = package / ("mod" + importlib.machinery.EXTENSION_SUFFIXES[0])
    built.write_bytes(b"not an extension module")
    os.utime(source, (1_000_000, 1_000_000))
    when = 1_000_100 if built_after else 999_900
    os.utime(built, (when, when))
    return package


def test_a_source_changed_after_its_module_was_compiled_is_stale(tmp_path: Path) -> None:
    fresh = _tree(tmp_path / "a", built_after=True)
    stale = _tree(tmp_path / "b", built_after=False)
    assert stale_sources(fresh, ["fakepkg.mod"]) == []
    assert stale_sources(stale, ["fakepkg.mod"]) == ["fakepkg.mod"]
    assert stale_sources(stale, ["fakepkg.absent"]) == []  # (no source: nothing to say)


@pytest.fixture
def fakepkg(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``fakepkg`` importable afresh, and whatever a test adds to the import system
    taken away after it."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [n for n in sys.modules if n == "fakepkg" or n.startswith("fakepkg.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_in_a_source_tree_a_stale_build_runs_every_compiled_module_from_source(
    tmp_path: Path, fakepkg: None, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _tree(tmp_path, built_after=False)
    sys.path.insert(0, str(package.parent))
    importlib.invalidate_caches()
    assert use_sources(package, ["fakepkg.mod"], environ={})
    assert importlib.import_module("fakepkg.mod").WHERE == "source"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "src/fakepkg/mod.py changed since" in err
    assert "pip install -e ." in err


def test_a_fresh_build_or_one_outside_a_source_tree_is_left_alone(
    tmp_path: Path, fakepkg: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = _tree(tmp_path / "a", built_after=True)
    assert not use_sources(fresh, ["fakepkg.mod"], environ={})
    stale = _tree(tmp_path / "b", built_after=False)
    (tmp_path / "b" / "pyproject.toml").unlink()  # (an installed copy, not a source tree)
    assert not use_sources(stale, ["fakepkg.mod"], environ={})
    sys.path.insert(0, str(stale.parent))
    importlib.invalidate_caches()
    with pytest.raises(ImportError):  # (the "extension" beside it is imported first)
        importlib.import_module("fakepkg.mod")
    assert capsys.readouterr().err == ""


def test_pure_python_asked_for_imports_the_sources_anywhere_and_silently(
    tmp_path: Path, fakepkg: None, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _tree(tmp_path, built_after=True)
    (tmp_path / "pyproject.toml").unlink()
    sys.path.insert(0, str(package.parent))
    importlib.invalidate_caches()
    assert use_sources(package, ["fakepkg.mod"], environ={"PAGERACE_PURE_PYTHON": "1"})
    assert importlib.import_module("fakepkg.mod").WHERE == "source"
    assert capsys.readouterr().err == ""
