"""Every bundled scenario meets its [expect] on every variant it names.

The 512-entry XSA-345 scenarios on xen-4.14 and xsa-345 are test_xsa345's; this
covers the rest: the small scenarios on every variant and the 512-entry ones on the
versions after the fix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pagerace.runner import run_scenario
from pagerace.scenario import load_scenario
from pagerace.xen.versions import VERSIONS

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"


def _cases() -> list[tuple[str, str]]:
    cases = []
    for path in sorted(SCENARIOS.glob("*.toml")):
        sc = load_scenario(path)
        for variant in VERSIONS:
            if sc.expected(variant) is None:
                continue
            if sc.entries == 512 and variant in ("xen-4.14", "xsa-345"):
                continue
            cases.append((path.stem, variant))
    return cases


CASES = _cases()


def test_every_bundled_scenario_names_every_variant() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        sc = load_scenario(path)
        assert [v for v in VERSIONS if sc.expected(v) is None] == [], path.name


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_the_scenario_meets_its_expectation(name: str, variant: str) -> None:
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    run = run_scenario(sc, variant=variant, until_expected=True)
    expected = sc.expected(variant)
    assert run.meets_expectation, (expected, run.kinds, [f.message for f in run.findings])
    if expected == []:
        assert str(run.result.status) == "clean"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args], capture_output=True, text=True, check=False
    )


def test_a_lookup_and_its_result_are_in_the_text_report(tmp_path: Path) -> None:
    # the lookup answers, then a present map of INVALID_MFN fails 4.21's ASSERT: the
    # counterexample's trace shows the lookup's call and the frame it returned
    f = tmp_path / "lookup-then-assert.toml"
    f.write_text(
        'name = "lookup-then-assert"\nvariant = "xen-4.21"\nentries = 8\n'
        '[[setup]]\nop = "map"\nvirt = "DIRECTMAP"\nmfn = 0x4005\nnr = 1\n'
        'flags = "PAGE_HYPERVISOR"\n'
        "[[cpus]]\nops = [\n"
        '  { op = "lookup", virt = "DIRECTMAP" },\n'
        '  { op = "map", virt = "DIRECTMAP + L2_SPAN", mfn = "INVALID_MFN", nr = "L2_PAGES",'
        ' flags = "PAGE_HYPERVISOR" },\n]\n'
    )
    p = _run_cli("run", str(f))
    assert p.returncode == 1, p.stderr
    assert "CPU0 calls xen_map_to_mfn(0x800000)" in p.stdout
    assert "CPU0 xen_map_to_mfn returns mfn 0x4005" in p.stdout
    assert "M2: ASSERT(!mfn_eq(m_, INVALID_MFN)) in IS_LnE_ALIGNED" in p.stdout
    # before 4.19 the same op is the vmap_to_mfn walk
    p = _run_cli("run", str(f), "--variant", "xsa-345")
    assert p.returncode == 0, p.stdout + p.stderr


def test_an_unmapped_lookup_returns_invalid_mfn_in_the_trace() -> None:
    p = _run_cli("run", "one-page-window-small")
    assert p.returncode == 1, p.stderr
    assert "CPU0 xen_map_to_mfn returns mfn INVALID_MFN" in p.stdout
    assert "Q5: ASSERT_UNREACHABLE() in xen_map_to_mfn" in p.stdout


def test_show_serial_prints_a_lookups_answer() -> None:
    p = _run_cli("show", "lookup-superpage-small", "--serial")
    assert p.returncode == 0, p.stderr
    assert "CPU0: xen_map_to_mfn(0x80b000) = mfn 0xb" in p.stdout
    p = _run_cli("show", "lookup-superpage-small", "--serial", "--variant", "xsa-345")
    assert p.returncode == 2
    assert "V1.4: BUG_ON(l2e_get_flags(*pl2e) & _PAGE_PSE) in virt_to_xen_l1e" in p.stderr
