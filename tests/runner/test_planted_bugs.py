"""Plant a bug in the model and check that an oracle catches it.

The bugs are planted from outside the model: an explored CPU that leaves out one
``map_pgdir_lock`` or performs one store after the unlock that should follow it,
put in place of the runner's machine for the test; or a locking discipline without
the XSA-345 fix's ``l3t_lock``.  Each test also runs the unchanged model on the same
scenario, which must be clean: the finding comes from the planted bug.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from scenario_gen import scenario_head

import pagerace.runner as runner
from pagerace.machine.explored import ExploredCPU
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario, parse_scenario
from pagerace.xen.variants import MAP_PGDIR_LOCK, L3TableLocking
from pagerace.xen.versions import VERSIONS

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"

# Two CPUs each make one 4 KiB page of the same 2 MiB superpage uncached: both
# shatter it (M6), and map_pgdir_lock makes the check at M6.9 and the store at M6.10
# one step, so that only one of their new L1 tables is installed.
SHATTER_TWICE = (
    scenario_head("shatter-twice", "xen-4.14")
    + """[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + PAGE_SIZE"
mfn = 1
nr = 1
flags = "PAGE_HYPERVISOR_UC"
[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + 5 * PAGE_SIZE"
mfn = 5
nr = 1
flags = "PAGE_HYPERVISOR_UC"
"""
)


class WithoutLockAt(ExploredCPU):
    """Leaves out map_pgdir_lock taken at step ``LOCK`` and dropped at ``UNLOCK``."""

    LOCK = "M6.9"
    UNLOCK = "M6.10"

    def lock(self, name: Any, step: str) -> None:
        if not (name == MAP_PGDIR_LOCK and step == self.LOCK):
            super().lock(name, step)

    def unlock(self, name: Any, step: str) -> None:
        if not (name == MAP_PGDIR_LOCK and step == self.UNLOCK):
            super().unlock(name, step)


class StoreAfterUnlock(ExploredCPU):
    """Performs the store of step ``STEP`` after the unlock that follows it."""

    STEP = "M6.10"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.delayed: tuple[Any, int, int] | None = None

    def store(self, ref: Any, index: int, value: int, step: str) -> None:
        if step == self.STEP:
            self.delayed = (ref, index, value)
        else:
            super().store(ref, index, value, step)

    def unlock(self, name: Any, step: str) -> None:
        super().unlock(name, step)
        if self.delayed is not None:
            ref, index, value = self.delayed
            self.delayed = None
            super().store(ref, index, value, self.STEP)


def explore_all(sc: Any, variant: str | None = None) -> runner.ScenarioRun:
    return run_scenario(sc, RunOptions(preemption_bound=None, keep_going=True), variant=variant)


def test_the_unchanged_model_shatters_one_superpage_twice_without_a_finding() -> None:
    run = explore_all(parse_scenario(SHATTER_TWICE))
    assert run.status == "clean", [f.message for f in run.findings]


@pytest.mark.parametrize("planted", [WithoutLockAt, StoreAfterUnlock], ids=lambda c: c.__name__)
def test_a_planted_locking_bug_loses_a_table_and_a_mapping(
    planted: type[ExploredCPU], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "ExploredCPU", planted)
    run = explore_all(parse_scenario(SHATTER_TWICE))
    # the L1 table installed first is overwritten: unreachable, and its uncached
    # page gone from the final translation
    assert {"leak", "lost-update"} <= set(run.kinds), run.kinds
    assert all(run.fault(f) == "hypervisor" for f in run.findings)
    leak = next(f for f in run.findings if f.kind == "leak")
    assert "unreachable page tables: L1 table" in leak.message


class _Unlocked(L3TableLocking):
    """The fix's discipline with its lock taken out (its ENOMEM on a failed walk kept)."""

    def l3t_lock(self, m: Any, p3_table: Any) -> str | None:
        return None

    def l3t_unlock(self, m: Any, current: str | None) -> None:
        return None


def test_without_the_l3t_lock_the_fixed_code_has_race_1_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = load_scenario(SCENARIOS / "xsa345-r1-small.toml")
    assert explore_all(sc, "xsa-345").status == "clean"
    fixed = VERSIONS["xsa-345"]
    monkeypatch.setitem(VERSIONS, "xsa-345", dataclasses.replace(fixed, discipline=_Unlocked()))
    run = run_scenario(sc, RunOptions(), variant="xsa-345")
    assert run.kinds[0] == "use-after-free"
    assert run.findings[0].preemptions == 1
