"""``pagerace steps``: step labels explained, with their mm.c lines."""

from __future__ import annotations

import subprocess
import sys

from pagerace.xen.steps import steps


def pagerace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args], capture_output=True, text=True, timeout=120
    )


def test_a_label_is_explained_with_its_lines_at_every_version() -> None:
    p = pagerace("steps", "M8.1", "V2.4")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith("M8.1  map_pages_to_xen\n")
    assert steps()["M8.1"].does in out
    # the lock, the load and both places that drop the lock, at the vulnerable commit
    assert "xen-4.14    5346 (lock 5344, unlock 5354/5361)" in out
    assert "xen-4.21    5678 (lock 5676, unlock 5686/5693)" in out
    assert "\nV2.4  virt_to_xen_l2e\n" in out and "xen-4.14    5022 " in out


def test_a_label_of_two_functions_gives_the_lines_of_each() -> None:
    out = pagerace("steps", "L3T_LOCK").stdout
    assert "lines in map_pages_to_xen:" in out and "lines in modify_xen_mappings:" in out
    assert "xen-4.14    -" in out and "xsa-345     5173" in out and "xsa-345     5564" in out


def test_without_labels_every_label_is_listed_at_the_variant() -> None:
    p = pagerace("steps", "--variant", "xsa-345")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "at 1ce75e99d7 (xsa-345)" in lines[0]
    listed = {line.split()[0] for line in lines[1:]}
    assert listed == set(steps())
    assert any(line.split()[:2] == ["M9.6", "map_pages_to_xen:5501"] for line in lines)


def test_bad_labels_and_variants_are_one_line_and_status_2() -> None:
    for args, text in (
        (("steps", "M99"), "unknown step label 'M99'"),
        (("steps", "--variant", "xen-9"), '--variant: unknown variant "xen-9"'),
    ):
        p = pagerace(*args)
        assert p.returncode == 2
        assert text in p.stderr and len(p.stderr.strip().splitlines()) == 1
        assert "Traceback" not in p.stderr
