"""``pagerace check``: a scenario's operations in order, judged by the functional oracle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pagerace.cli.check import variant_names
from pagerace.cli.main import main

# Before 4.20 a destroy whose last L2 slots are empty never re-checks the L2 table.
EMPTY_L2 = """
name = "empty-l2"
variant = "xen-4.14"
entries = 8

[[setup]]
op = "map"
virt = "DIRECTMAP + 3 * PAGE_SIZE"
mfn = 3
nr = 1
flags = "PAGE_HYPERVISOR"

[[cpus]]
ops = [ { op = "destroy", s = "DIRECTMAP", e = "DIRECTMAP + L3_SPAN" } ]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["check", *args])
    code = exit_.value.code
    return code if isinstance(code, int) else 0, capsys.readouterr().out


@pytest.fixture
def empty_l2(tmp_path: Path) -> Path:
    path = tmp_path / "empty-l2.toml"
    path.write_text(EMPTY_L2)
    return path


def test_a_bundled_scenario_keeps_every_promise_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "xsa345-r2a-small")
    assert code == 0
    assert out == "xsa345-r2a-small on xen-4.14: 3 operations run in order, each as promised\n"


def test_a_broken_promise_names_the_operation_and_exits_1(
    capsys: pytest.CaptureFixture[str], empty_l2: Path
) -> None:
    code, out = run(capsys, str(empty_l2))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "empty-l2 on xen-4.14: 2 operations run in order, 1 finding"
    assert lines[1].startswith("  empty-table at cpus[0].ops[0]: after destroy_xen_mappings(")
    assert "the L2 table" in lines[1] and "every entry is zero" in lines[1]


def test_all_variants_runs_each_and_json_lists_them(
    capsys: pytest.CaptureFixture[str], empty_l2: Path
) -> None:
    code, out = run(capsys, str(empty_l2), "--all-variants", "--json", "-")
    assert code == 1
    results = json.loads(out)
    assert [r["variant"] for r in results] == variant_names()
    assert {r["status"] for r in results} <= {"clean", "found"}
    found = results[0]
    assert found["scenario"] == "empty-l2" and found["ops"] == 2
    assert [f["kind"] for f in found["findings"]] == ["empty-table"]
    assert found["findings"][0]["where"] == "cpus[0].ops[0]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "xen-9.9"], '--variant: unknown variant "xen-9.9"'),
        (["--variant", "xsa-345", "--all-variants"], "--variant and --all-variants"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "pagerace", "check", "xsa345-r1-small", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and message in p.stderr, p.stderr
