"""The explored machine's quiet path (no event details unless a trace is read) runs
the same executions, in the same order, with the same findings, schedules and traces
as the detailed path, over generated scenarios and every strategy."""

from __future__ import annotations

from typing import Any

import pytest
from scenario_gen import generated_scenario

import pagerace.explore.explorer as explorer
from pagerace.errors import PageraceInputError
from pagerace.runner import RunOptions, run_scenario


class _Detailed:
    """An ``on_execution`` observer: every execution's trace is read in full."""

    def on_execution(self, record: Any) -> None:
        pass


def _run(sc: Any, options: RunOptions, detailed: bool, monkeypatch: Any) -> dict[str, Any]:
    runs: list[tuple[tuple[int, ...], str | None]] = []
    original = explorer._run_once

    def spy(program: Any, ctx: Any, pool: Any, chooser: Any, recording: bool, d: bool = True):
        ex = original(program, ctx, pool, chooser, recording, d)
        if d == detailed:  # (not the re-run of a failing abridged execution)
            runs.append((tuple(ex.choices), ex.outcome))
        return ex

    monkeypatch.setattr(explorer, "_run_once", spy)
    try:
        run = run_scenario(sc, options, observers=[_Detailed()] if detailed else [])
    finally:
        monkeypatch.setattr(explorer, "_run_once", original)
    r = run.result
    return {
        "runs": runs,
        "status": str(r.status),
        "executions": r.executions,
        "events": r.stats.events,
        "findings": [
            (
                f.kind,
                f.key,
                f.message,
                f.schedule,
                f.preemptions,
                [ev.to_dict() for ev in f.trace],
            )
            for f in r.findings
        ],
    }


CONFIGS = [
    RunOptions(strategy="dpor", max_executions=40, keep_going=True),
    RunOptions(strategy="dpor", preemption_bound=None, max_executions=40, keep_going=True),
    RunOptions(strategy="dfs", max_executions=40, keep_going=True),
    RunOptions(strategy="random", preemption_bound=None, max_executions=25, keep_going=True),
    RunOptions(strategy="pct", preemption_bound=None, max_executions=25, seed=3),
]


@pytest.mark.parametrize("seed", range(12))
def test_quiet_path_equals_detailed_path(seed: int, monkeypatch: Any) -> None:
    sc = generated_scenario(seed)
    for options in CONFIGS:
        try:
            quiet = _run(sc, options, False, monkeypatch)
        except PageraceInputError as exc:  # a set-up that fails sequentially
            pytest.skip(f"seed {seed}: {exc}")
        detailed = _run(sc, options, True, monkeypatch)
        assert quiet == detailed, (seed, options)
        assert quiet["runs"], (seed, options)
