"""Hostile inputs, briefly (bench/fuzz_inputs.py runs the same generators at length):
every input is accepted or refused with one clean line, never a traceback or a hang."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from fuzz_inputs import TARGETS, fuzz_cli

# inputs per target in the suite (a few seconds in all)
BRIEF = {
    "scenario": 400,
    "expression": 1500,
    "vector": 150,
    "xl-info": 300,
    "xl-list": 300,
    "host-file": 300,
    "schedule": 1500,
}


@pytest.mark.parametrize("target", list(TARGETS))
def test_generated_inputs_are_accepted_or_refused_in_one_line(target: str) -> None:
    rng = random.Random(f"suite-{target}")
    outcomes = Counter(TARGETS[target](rng) for _ in range(BRIEF[target]))
    # the generators must reach both sides, or they test nothing
    assert outcomes["refused"] > 0, outcomes
    if target != "schedule":
        assert outcomes["accepted"] > 0, outcomes


def test_bad_command_lines_exit_2_with_one_line(tmp_path: Path) -> None:
    rng = random.Random("suite-cli")
    for _ in range(60):
        assert fuzz_cli(rng, tmp_path) == "refused"


def test_valid_scenarios_are_still_accepted_and_runs_are_deterministic() -> None:
    from fuzz_inputs import SCENARIOS

    from pagerace.report.json import result_dict
    from pagerace.runner import RunOptions, run_scenario
    from pagerace.scenario import load_scenario

    for path in sorted(SCENARIOS.glob("*-small.toml")):
        sc = load_scenario(path)
        options = RunOptions(strategy="random", max_executions=20, seed=7)
        a, b = (result_dict(run_scenario(sc, options)) for _ in range(2))
        for d in (a, b):
            d["stats"] = {k: v for k, v in d["stats"].items() if "second" not in k}
        assert a == b, path.name
