"""Paths no file can have, given where a command takes a file or a directory: one
line and exit status 2, before any work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["hunt", "--max-scenarios", "1", "--out", ""], "--out: an empty directory name"),
        (
            ["hunt", "--max-scenarios", "1", "--out", "a\x00b"],
            "--out: a directory name with a NUL character",
        ),
        (["resume", "a\x00b"], "a\\x00b: a file name with a NUL character"),
    ],
)
def test_a_path_no_file_can_have_is_one_line(
    args: list[str], line: str, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    from pagerace.cli.main import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert capsys.readouterr().err == f"pagerace: {line}\n"
    assert list(tmp_path.iterdir()) == []  # (nothing written)
