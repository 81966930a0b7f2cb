"""The advisory's races are found on Xen 4.14 and ruled out on the fixed code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"
RACES = {"xsa345-r1": "use-after-free", "xsa345-r1b": "bug", "xsa345-r2a": "double-free"}


def scenario(name: str):  # type: ignore[no-untyped-def]
    return load_scenario(SCENARIOS / f"{name}.toml")


# The fewest preemptions each race needs: none is not a race, and one suffices (race
# 2's double free follows in the execution of its first use-after-free).
FEWEST = {"xsa345-r1": 1, "xsa345-r1b": 1, "xsa345-r2a": 1}


@pytest.mark.parametrize("suffix", ["", "-small"], ids=["512-entries", "8-entries"])
@pytest.mark.parametrize("race", sorted(RACES))
def test_each_race_is_found_on_xen_4_14_with_the_fewest_preemptions(race: str, suffix: str) -> None:
    sc = scenario(race + suffix)
    kind = RACES[race]
    # iterative bounding finds each kind first at the smallest bound that has it
    run = run_scenario(sc, RunOptions(), variant="xen-4.14")
    found = [f for f in run.findings if f.kind == kind]
    assert found, f"{race}{suffix}: expected {kind}, found {run.kinds}"
    assert found[0].preemptions == FEWEST[race]
    assert run.meets_expectation
    # and one preemption fewer does not suffice: every schedule is clean
    fewer = run_scenario(
        sc, RunOptions(preemption_bound=FEWEST[race] - 1, keep_going=True), variant="xen-4.14"
    )
    assert fewer.findings == () and fewer.result.stats.bound_cut


@pytest.mark.parametrize("race", sorted(RACES))
def test_the_fixed_code_is_clean_without_any_preemption_bound_at_8_entries(race: str) -> None:
    run = run_scenario(
        scenario(race + "-small"), RunOptions(preemption_bound=None), variant="xsa-345"
    )
    assert str(run.result.status) == "clean", [f.message for f in run.findings]
    assert run.findings == ()


@pytest.mark.parametrize("bound", [2, None], ids=["bound-2", "unbounded"])
@pytest.mark.parametrize("fine_scans", [False, True], ids=["coarse-scans", "fine-scans"])
@pytest.mark.parametrize("race", sorted(RACES))
def test_the_fixed_code_is_clean_at_512_entries(
    race: str, fine_scans: bool, bound: int | None
) -> None:
    run = run_scenario(
        scenario(race),
        RunOptions(preemption_bound=bound, fine_scans=fine_scans),
        variant="xsa-345",
    )
    assert str(run.result.status) == "clean", [f.message for f in run.findings]


@pytest.mark.parametrize("race", sorted(RACES))
def test_every_finding_replays_to_the_same_finding(race: str) -> None:
    from pagerace.runner import replay_scenario

    sc = scenario(race + "-small")
    run = run_scenario(sc, RunOptions(preemption_bound=None, keep_going=True))
    assert run.findings
    for f in run.findings:
        again = replay_scenario(sc, f.schedule)
        # the replayed execution reports everything it saw, this finding among them
        assert (f.kind, f.message) in [(g.kind, g.message) for g in again.findings]
        assert {g.schedule for g in again.findings} == {f.schedule}


def test_the_vulnerable_r1_race_also_loses_the_uncached_request_and_leaks_a_table() -> None:
    run = run_scenario(
        scenario("xsa345-r1-small"), RunOptions(preemption_bound=None, keep_going=True)
    )
    assert {"use-after-free", "leak", "bug", "wrong-mapping"} <= set(run.kinds)
    # the functional oracle names the lost request: the page is mapped, but cached
    (lost,) = [f for f in run.findings if f.kind == "wrong-mapping"]
    assert "map_pages_to_xen(0x851000, mfn 0x51, 1, PAGE_HYPERVISOR_UC)" in lost.message
    assert "has mfn 0x51 P|RW|G|NX, where the op promises mfn 0x51 P|RW|PWT|PCD|G|NX" in (
        lost.message
    )


def test_r1b_also_shows_the_write_into_a_data_frame_and_the_lost_mapping() -> None:
    run = run_scenario(
        scenario("xsa345-r1b-small"), RunOptions(preemption_bound=None, keep_going=True)
    )
    assert {"wild-write", "lost-update", "bug", "use-after-free"} <= set(run.kinds)


def test_a_flush_with_interrupts_off_leaves_another_cpu_with_a_stale_tlb_on_both_variants() -> None:
    sc = scenario("irqs-off-local-flush-small")
    for variant in ("xen-4.14", "xsa-345"):
        run = run_scenario(sc, RunOptions(), variant=variant)
        assert run.kinds == ["stale-tlb"]
    # with interrupts on the same operation flushes every CPU: clean
    import dataclasses

    from pagerace.scenario import ModifyOp

    op = sc.cpus[0][0]
    assert isinstance(op, ModifyOp)
    fixed = dataclasses.replace(sc, cpus=((dataclasses.replace(op, irqs=True),), sc.cpus[1]))
    run = run_scenario(fixed, RunOptions())
    assert str(run.result.status) == "clean"


def test_the_fix_can_deadlock_when_a_cpu_spins_on_the_l3t_lock_with_interrupts_off() -> None:
    # the fix flushes (IPIs, waits for acks) while holding l3t_lock
    sc = scenario("flush-ipi-deadlock-small")
    fixed = run_scenario(sc, RunOptions(preemption_bound=None), variant="xsa-345")
    assert fixed.kinds == ["deadlock"]
    assert "interrupts off" in fixed.findings[0].message
    assert "l3t_lock" in fixed.findings[0].message
    vulnerable = run_scenario(sc, RunOptions(preemption_bound=None), variant="xen-4.14")
    assert str(vulnerable.result.status) == "clean"


def test_the_xsa345_command_gives_the_same_runs_on_any_number_of_processes() -> None:
    import json

    from click.testing import CliRunner

    from pagerace.cli.main import cli

    def runs(jobs: str) -> list[dict[str, object]]:
        out = CliRunner().invoke(cli, ["xsa345", "--geometry", "small", "-j", jobs, "--json", "-"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)  # (with '-', the JSON alone)
        for run in data:  # (times differ)
            for key in ("seconds", "explore_seconds", "executions_per_second"):
                run["stats"].pop(key)
            run["coverage"].pop("text")
        return data

    one, two = runs("1"), runs("2")
    assert len(one) == 6 and one == two
