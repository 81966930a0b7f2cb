"""DPOR keeps the happens-before state of the shared prefix between executions: it
must explore exactly what it explores when the state is rebuilt for every execution."""

from __future__ import annotations

import random
from typing import Any

import pytest
from explore_programs import generated_program

import pagerace.explore.explorer as explorer
from pagerace.explore import ExecutionRecord, explore
from pagerace.explore.strategies.dpor import DporStrategy

Ops = list[Any]


class _FromScratch(DporStrategy):
    """DPOR that keeps nothing: every execution's clocks are computed from step 0."""

    def begin(self) -> Any:
        chooser = super().begin()
        self._valid = 0
        return chooser


def _ops(rng: random.Random, depth: int) -> Ops:
    ops: Ops = []
    for _ in range(rng.randint(1, 4 - depth)):
        roll = rng.random()
        if depth < 2 and roll < 0.2:
            ops.append(("lock", rng.choice("LM"), _ops(rng, depth + 1)))
        elif roll < 0.35:  # several keys, maybe read and written at once
            keys = [(rng.choice("abc"), rng.random() < 0.5) for _ in range(rng.randint(0, 3))]
            ops.append(("event", tuple(keys)))
        elif roll < 0.45:
            ops.append(("note",))
        elif roll < 0.5:
            ops.append(("check", rng.choice("abc")))
        else:
            ops.append((rng.choice("rw"), rng.choice("abc")))
    return ops


def _program(seed: int) -> Any:
    rng = random.Random(seed)
    spec = [_ops(rng, 0) for _ in range(rng.randint(2, 3))]

    return generated_program(spec)


class _Records:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def on_execution(self, record: ExecutionRecord) -> None:
        self.records.append((record.schedule, record.outcome))


def _explore(
    monkeypatch: pytest.MonkeyPatch, strategy: type[DporStrategy], program: Any, **options: Any
) -> tuple[Any, ...]:
    monkeypatch.setattr(explorer, "DporStrategy", strategy)
    records = _Records()
    result = explore(program, strategy="dpor", observers=[records], max_executions=2000, **options)
    findings = [(f.kind, f.schedule) for f in result.findings]
    stats = result.stats
    return records.records, result.status, findings, stats.cut_executions, stats.bound_cut


def _read_groups(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    """Read groups for every read-only footprint of two keys or more, the cache of
    footprints' keys emptied at every new footprint -- or no read groups at all."""
    from pagerace.explore import events
    from pagerace.explore.strategies import dpor

    monkeypatch.setattr(dpor, "GROUP_KEYS", 2 if on else 10**9)
    monkeypatch.setattr(events, "_INDEX_SIZE", 1)


@pytest.mark.parametrize("against", ["from scratch", "read groups"])
@pytest.mark.parametrize("bound", [None, 1, "iterative"])
@pytest.mark.parametrize("seed", range(20))
def test_dpor_explores_the_same_executions(
    monkeypatch: pytest.MonkeyPatch, seed: int, bound: Any, against: str
) -> None:
    """Against DPOR keeping nothing between executions, and (with no read groups)
    against read groups for every read-only footprint of two keys or more."""
    program = _program(seed)
    options = {"keep_going": True, "preemption_bound": bound}
    _read_groups(monkeypatch, False)
    kept = _explore(monkeypatch, DporStrategy, program, **options)
    if against == "from scratch":
        other = _explore(monkeypatch, _FromScratch, program, **options)
    else:
        _read_groups(monkeypatch, True)
        other = _explore(monkeypatch, DporStrategy, program, **options)
    assert kept == other


@pytest.mark.parametrize("name", ["xsa345-r1-small", "xsa345-r1b-small", "xsa345-r2a-small"])
@pytest.mark.parametrize("variant", ["xen-4.14", "xsa-345"])
def test_read_groups_on_the_xen_model_change_no_execution(
    monkeypatch: pytest.MonkeyPatch, name: str, variant: str
) -> None:
    # (the table scans of the model, and with groups from two keys up its loads too)
    from pagerace.cli.options import load
    from pagerace.runner import RunOptions, run_scenario

    def executions(groups: bool) -> tuple[Any, ...]:
        _read_groups(monkeypatch, groups)
        ran: list[Any] = []
        run_once = explorer._run_once

        def noted(*args: Any, **kwargs: Any) -> Any:
            ex = run_once(*args, **kwargs)
            ran.append((tuple(ex.choices), ex.outcome, [f.message for f in ex.failures()]))
            return ex

        with monkeypatch.context() as patch:
            patch.setattr(explorer, "_run_once", noted)
            options = RunOptions(max_executions=400, keep_going=True, time_limit=None)
            run = run_scenario(load(name), options, variant=variant)
        return tuple(ran), [(f.kind, f.schedule) for f in run.result.findings]

    assert executions(True) == executions(False)
