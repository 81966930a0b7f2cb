"""Verdicts: every oracle reports, findings say what kind of problem they are and
whose fault, and a skipped check or a cut search is never "clean"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from scenario_gen import scenario_head

import pagerace.runner as runner
from pagerace.cli.main import cli
from pagerace.report.json import result_dict
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"

HEAD = scenario_head("verdict", "xsa-345")
# CPU0 asks for present attributes on a range that is not mapped (an ASSERT of
# modify_xen_mappings); CPU1 maps a page of its own elsewhere.
UNMAPPED_MODIFY = """[[cpus]]
[[cpus.ops]]
op = "modify"
s = "DIRECTMAP + L3_SPAN"
e = "DIRECTMAP + L3_SPAN + PAGE_SIZE"
nf = "PAGE_HYPERVISOR_RO"
[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + 3 * PAGE_SIZE"
mfn = 3
nr = 1
flags = "PAGE_HYPERVISOR_UC"
"""
# Both CPUs change page 0 at once: CPU0 unmaps it while CPU1 makes it read-only.
SAME_PAGE = """[[cpus]]
ops = [ { op = "destroy", s = "DIRECTMAP", e = "DIRECTMAP + PAGE_SIZE" } ]
[[cpus]]
ops = [ { op = "modify", s = "DIRECTMAP", e = "DIRECTMAP + PAGE_SIZE", nf = "PAGE_HYPERVISOR_RO" } ]
"""


def everything(text: str, variant: str) -> runner.ScenarioRun:
    return run_scenario(
        parse_scenario(HEAD + text),
        RunOptions(keep_going=True, preemption_bound=None),
        variant=variant,
    )


def test_one_execution_reports_every_problem_it_has_with_one_schedule() -> None:
    # race 1 on Xen 4.14: the use of the freed L2, the lost uncached mapping and the
    # leaked L1 are all in the first failing execution, not hidden behind the first
    run = run_scenario(load_scenario(SCENARIOS / "xsa345-r1-small.toml"), RunOptions())
    assert run.kinds[:1] == ["use-after-free"] and {"leak", "lost-update"} <= set(run.kinds)
    assert len({f.schedule for f in run.findings}) == 1
    uaf = run.findings[0]
    assert uaf.at is not None and uaf.at < len(uaf.trace)  # the execution went on
    assert all(run.fault(f) == "hypervisor" for f in run.findings)


def test_r2a_reaches_its_double_free_in_the_execution_of_its_first_use_after_free() -> None:
    run = run_scenario(load_scenario(SCENARIOS / "xsa345-r2a-small.toml"), RunOptions())
    assert run.kinds == ["use-after-free", "double-free"]
    double = run.findings[-1]
    assert double.at is None  # it ended the execution, and says why
    assert "free list twice" in (double.detail or {})["stop"]
    assert run.meets_expectation


def test_a_bug_on_is_fatal_and_says_so() -> None:
    run = run_scenario(load_scenario(SCENARIOS / "xsa345-r1b-small.toml"), RunOptions())
    (bug,) = [f for f in run.findings if f.kind == "bug"]
    assert run.check(bug) == "BUG_ON" and "BUG_ON(" in bug.message
    assert bug.at is None and "panics" in (bug.detail or {})["stop"]
    assert run.fault(bug) == "hypervisor"


@pytest.mark.parametrize("variant", ["xen-4.14", "xsa-345"])
def test_an_assert_on_an_unmapped_range_is_the_callers_and_a_release_build_goes_on(
    variant: str,
) -> None:
    run = everything(UNMAPPED_MODIFY, variant)
    (bug,) = run.findings
    assert bug.kind == "bug" and run.check(bug) == "ASSERT" and "ASSERT(!(nf" in bug.message
    assert run.fault(bug) == "caller" and run.caller_faults_only
    assert bug.at is not None  # recorded; the CPU went on and returned
    assert any(ev.label == "return" and ev.thread == 0 for ev in bug.trace[bug.at :])
    d = result_dict(run, with_trace=False)
    assert d["caller_faults_only"] is True
    assert d["findings"][0]["fault"] == "caller" and d["findings"][0]["check"] == "ASSERT"


def test_an_assert_after_the_hypervisors_own_wrong_mapping_is_the_hypervisors() -> None:
    # 4.20.0 leaves a page unmapped that the map promised; the lookup that follows on
    # the same CPU then fails its ASSERT_UNREACHABLE: no caller broke a promise.
    run = run_scenario(load_scenario(SCENARIOS / "one-page-window-small.toml"), RunOptions())
    faults = {f.kind: (run.fault(f), run.check(f)) for f in run.findings}
    assert faults == {"wrong-mapping": ("hypervisor", None), "bug": ("hypervisor", "ASSERT")}
    assert not run.caller_faults_only


def test_two_cpus_changing_one_page_lose_an_update_by_the_callers_fault() -> None:
    run = everything(SAME_PAGE, "xen-4.14")
    faults = {f.kind: run.fault(f) for f in run.findings}
    assert faults == {"bug": "caller", "lost-update": "caller"}
    assert run.caller_faults_only and run.status == "found"


def test_the_text_report_says_when_every_finding_is_a_callers_fault(tmp_path: Path) -> None:
    path = _write(SAME_PAGE, tmp_path)
    result = CliRunner().invoke(cli, ["run", path, "--variant", "xsa-345", "-q"])
    assert result.exit_code == 1, result.output
    assert "only violations of a caller's precondition" in result.output
    assert "bug (ASSERT, caller's fault): CPU1 X" in result.output


def test_a_hypervisor_finding_among_caller_faults_is_not_reported_as_callers_only() -> None:
    run = run_scenario(load_scenario(SCENARIOS / "xsa345-r1-small.toml"), RunOptions())
    assert run.findings and not run.caller_faults_only


def _write(body: str, tmp_path: Path) -> str:
    path = tmp_path / "verdict.toml"
    path.write_text(HEAD + body)
    return str(path)


def test_a_skipped_check_makes_a_clean_run_incomplete_in_text_json_and_exit_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "MAX_SERIAL_RUNS", 2)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        cli,
        ["run", "xsa345-r1-small", "--variant", "xsa-345", "-q", "--json", str(out)],
    )
    assert result.exit_code == 3, result.output
    assert "xsa345-r1-small on xsa-345: incomplete" in result.output
    assert "check skipped: lost-update: " in result.output
    assert "expected: clean -- not established" in result.output  # not NOT met
    d = json.loads(out.read_text())
    assert d["status"] == "incomplete" and d["findings"] == []
    ((skipped),) = d["checks_skipped"]
    assert skipped["check"] == "lost-update" and "more than 2" in skipped["reason"]
    assert any("lost-update check skipped" in why for why in d["incomplete_reasons"])


def test_nothing_skipped_is_an_empty_list_and_clean_stays_clean(tmp_path: Path) -> None:
    run = run_scenario(
        load_scenario(SCENARIOS / "xsa345-r1-small.toml"), RunOptions(), variant="xsa-345"
    )
    d = result_dict(run, with_trace=False)
    assert d["status"] == "clean" and d["checks_skipped"] == [] and d["incomplete_reasons"] == []


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (RunOptions(max_executions=2), "execution budget spent (2 executions)"),
        (RunOptions(time_limit=1e-9), "time limit reached"),
        (RunOptions(preemption_bound=0), "preemption bound 0 cut interleavings"),
        (RunOptions(strategy="random", max_executions=3), "random sampling cannot show"),
    ],
)
def test_incomplete_says_why(options: RunOptions, reason: str) -> None:
    run = run_scenario(
        load_scenario(SCENARIOS / "xsa345-r1-small.toml"), options, variant="xsa-345"
    )
    assert run.status == "incomplete"
    assert any(why.startswith(reason) for why in run.incomplete_reasons), run.incomplete_reasons


def test_a_search_that_ends_within_its_budget_is_clean() -> None:
    # r1-small on the fixed code takes 12 executions: a budget of 12 is not spent
    run = run_scenario(
        load_scenario(SCENARIOS / "xsa345-r1-small.toml"),
        RunOptions(max_executions=12),
        variant="xsa-345",
    )
    assert run.result.executions == 12
    assert run.status == "clean" and run.incomplete_reasons == []
