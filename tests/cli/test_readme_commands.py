"""The README's table of commands names only options that each command has, and
every option each command has (besides --help)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pagerace.cli.main import COMMANDS, cli

README = Path(__file__).resolve().parents[2] / "README.md"


def _table() -> dict[str, set[str]]:
    rows = re.findall(r"^\| `pagerace (\w+)([^`]*)` \|", README.read_text(), re.M)
    return {command: set(re.findall(r"--[a-z0-9-]+|-q\b", rest)) for command, rest in rows}


def _options(command: str) -> set[str]:
    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=1000).output
    found: set[str] = set()
    for line in shown.splitlines():
        if line.startswith("  -"):
            found.update(re.findall(r"(?<![\w-])(--[a-z0-9-]+|-q)\b", line.split("  ")[1]))
    # (-q is written for --quiet; --first-finding for its pair --until-expected)
    return found - {"--help", "--quiet", "--until-expected"}


def test_the_table_lists_every_command() -> None:
    assert set(_table()) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_table_gives_the_options_each_command_has(command: str) -> None:
    assert _table()[command] == _options(command)
