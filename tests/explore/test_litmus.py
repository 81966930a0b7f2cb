"""Litmus tests: exact trace counts (dfs + canonical forms), and dpor reaches every
trace with at most 1.1 executions per trace."""

from __future__ import annotations

from typing import Any

import pytest
from explore_programs import (
    TraceForms,
    dining_philosophers,
    locked_increments,
    message_passing,
    own_cells,
    racy_increments,
)

from pagerace.explore import Status, explore

# name, program, traces, status, finding kind
LITMUS: list[tuple[str, Any, int, Status, str | None]] = [
    ("2 threads x 2 locked increments", locked_increments(2, 2), 6, Status.CLEAN, None),
    ("3 threads x 1 locked increment", locked_increments(3, 1), 6, Status.CLEAN, None),
    ("3 threads x 2 locked increments", locked_increments(3, 2), 90, Status.CLEAN, None),
    ("2 threads racy increment", racy_increments(2), 4, Status.FOUND, "assert"),
    ("2 threads own cells", own_cells(2, 2), 1, Status.CLEAN, None),
    ("3 dining philosophers", dining_philosophers(3), 7, Status.FOUND, "deadlock"),
    ("message passing", message_passing(), 2, Status.CLEAN, None),
]
IDS = [case[0] for case in LITMUS]


def _run(program: Any, strategy: str) -> tuple[Any, TraceForms]:
    forms = TraceForms()
    result = explore(
        program, strategy=strategy, keep_going=True, count_traces=True, observers=[forms]
    )
    return result, forms


@pytest.mark.parametrize(("name", "program", "traces", "status", "kind"), LITMUS, ids=IDS)
def test_dfs_sees_exactly_the_expected_number_of_traces(
    name: str, program: Any, traces: int, status: Status, kind: str | None
) -> None:
    result, forms = _run(program, "dfs")
    assert result.traces == traces
    assert len(forms.forms) == traces
    assert result.status is status
    assert [f.kind for f in result.findings] == ([kind] if kind else [])


@pytest.mark.parametrize(("name", "program", "traces", "status", "kind"), LITMUS, ids=IDS)
def test_dpor_reaches_every_trace_that_dfs_reaches(
    name: str, program: Any, traces: int, status: Status, kind: str | None
) -> None:
    _, dfs_forms = _run(program, "dfs")
    dpor, dpor_forms = _run(program, "dpor")
    assert dpor_forms.forms == dfs_forms.forms
    assert dpor.traces == traces
    assert dpor.status is status
    assert [f.kind for f in dpor.findings] == ([kind] if kind else [])


@pytest.mark.parametrize(("name", "program", "traces", "status", "kind"), LITMUS, ids=IDS)
def test_dpor_runs_at_most_one_tenth_more_executions_than_there_are_traces(
    name: str, program: Any, traces: int, status: Status, kind: str | None
) -> None:
    result = explore(program, strategy="dpor", keep_going=True)
    assert result.executions <= 1.1 * traces


def test_dpor_explores_the_litmus_suite_optimally() -> None:
    counts = {name: explore(p, keep_going=True).executions for name, p, *_ in LITMUS}
    assert counts == {name: traces for name, _, traces, *_ in LITMUS}


def test_the_lost_increment_is_found_without_keep_going() -> None:
    result = explore(racy_increments(2))
    assert result.status is Status.FOUND
    (finding,) = result.findings
    assert finding.kind == "assert"
    assert finding.message == "lost increment"
    assert finding.schedule.startswith("v1:")


def test_three_racy_threads_agree_between_dpor_and_dfs() -> None:
    _, dfs_forms = _run(racy_increments(3), "dfs")
    dpor, dpor_forms = _run(racy_increments(3), "dpor")
    assert dpor_forms.forms == dfs_forms.forms
    assert dpor.executions == len(dfs_forms.forms)
