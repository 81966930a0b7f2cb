"""``pagerace variants``: every variant with the Xen releases it stands for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pagerace.advisory.versions import fix_status, parse_xen_version
from pagerace.cli.variants import releases_of
from pagerace.scenario import KNOWN_VARIANTS
from pagerace.xen.versions import VERSIONS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", "variants", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_list_names_every_variant_with_its_releases() -> None:
    p = run()
    assert p.returncode == 0, p.stderr
    heads = [line.split(":")[0] for line in p.stdout.splitlines() if line and line[0] != " "]
    assert heads[: len(VERSIONS)] == list(VERSIONS)
    assert "releases: 4.20.0; 4.19.1" in p.stdout
    assert "4.12.0 to 4.12.3; 4.13.0 to 4.13.1; 4.14.0" in p.stdout


def test_the_json_list_is_the_same_data() -> None:
    p = run("--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["variants"]
    assert [r["variant"] for r in rows] == list(VERSIONS)
    assert [r["xsa345_fixed"] for r in rows] == [False, True, True, True, True]
    by = {r["variant"]: r for r in rows}
    assert by["xen-4.21"]["releases"][:3] == ["4.21.0", "4.19.2", "4.20.1"]
    assert by["xen-4.19"]["releases"] == ["4.19.0"]


def test_the_xsa345_releases_agree_with_the_advisory() -> None:
    # every release the fixed variant names as the first with the fix is fixed, and
    # the one before it is not, by the advisory's own verdict
    fixed = releases_of(VERSIONS["xsa-345"])
    firsts = [r.split(" ")[0] for r in fixed if " and later " in r]
    assert firsts == ["4.12.4", "4.13.2", "4.14.1"]
    for first in firsts:
        major, minor, patch = (int(x) for x in first.split("."))
        assert not fix_status(parse_xen_version(first)).vulnerable
        before = parse_xen_version(f"{major}.{minor}.{patch - 1}")
        assert fix_status(before).vulnerable
    vulnerable = releases_of(VERSIONS["xen-4.14"])
    assert vulnerable[0] == "every release from 3.2 to 4.11.x"
    assert vulnerable[1:] == ["4.12.0 to 4.12.3", "4.13.0 to 4.13.1", "4.14.0"]
    assert fix_status(parse_xen_version("4.11.4")).vulnerable


@pytest.mark.parametrize("command", ["run", "replay", "show", "hunt", "conform", "steps"])
def test_every_variant_option_names_every_variant(command: str) -> None:
    from click.testing import CliRunner

    from pagerace.cli.main import cli

    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=1000).output
    (line,) = [line for line in shown.splitlines() if line.lstrip().startswith("--variant")]
    assert all(variant in line for variant in KNOWN_VARIANTS), line
