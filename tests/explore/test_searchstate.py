"""A search below a prefix, stopped between two executions and resumed from its
``SearchState`` (through JSON), ends exactly as the search that never stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from explore_programs import Generated, racy_increments

from pagerace.errors import PageraceInputError
from pagerace.explore import explore, explorer
from pagerace.explore.parallel import finding_from_data, split
from pagerace.explore.searchstate import SearchState
from pagerace.runner import build_program, prepare
from pagerace.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


class _States:
    """Observer: every state handed out, as JSON text (what a checkpoint keeps), and
    each execution's schedule."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self.schedules: list[str] = []

    def on_state(self, state: SearchState) -> None:
        self.states.append(json.dumps(state.to_data()))

    def on_execution(self, record: Any) -> None:
        self.schedules.append(record.schedule)


def _summary(result: Any) -> tuple[Any, ...]:
    st = result.stats
    return (
        result.status,
        result.executions,
        st.events,
        st.cut_executions,
        st.max_depth,
        st.deadlocks,
        st.bound_cut,
        result.coverage.stopped_by,
        [
            (
                (f.kind, f.message, f.key, f.schedule, f.preemptions, f.thread, f.detail, f.at),
                [json.dumps(ev.to_dict(), sort_keys=True) for ev in f.trace],
            )
            for f in result.findings
        ],
    )


def _biggest_unit(program: Any, strategy: str, bound: int) -> list[Any]:
    """The work unit of ``bound`` with the most executions (counted to 1,000)."""
    units, _cut = split(program, strategy, bound)
    sizes = [
        explore(
            program,
            strategy=strategy,
            preemption_bound=bound,
            prefix=u,
            fewest_first=False,
            max_executions=1000,
        ).executions
        for u in units
    ]
    return units[sizes.index(max(sizes))]


def _resumed_from_every_state(program: Any, run: dict[str, Any]) -> tuple[int, Any]:
    """Run the search whole, then resume it from each state it handed out; each
    resumed search ends as the whole one, with the same executions after the state.
    Returns how many states there were, and the result."""
    whole = _States()
    expected = explore(program, observers=[whole], **run)
    for text in whole.states:
        state = SearchState.from_data(
            json.loads(text), lambda d: finding_from_data(program, d, "test"), "test"
        )
        rest = _States()
        resumed = explore(program, observers=[rest], resume=state, **run)
        assert _summary(resumed) == _summary(expected)
        assert rest.schedules == whole.schedules[len(whole.schedules) - len(rest.schedules) :]
    return len(whole.states), expected


@pytest.mark.parametrize("seed", [0, 5, 9, 11, 16])
@pytest.mark.parametrize(("strategy", "bound"), [("dpor", 2), ("dfs", 2)])
def test_a_resumed_search_ends_as_the_search_never_stopped(
    seed: int, strategy: str, bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)  # a state every 16 executions
    run = {
        "strategy": strategy,
        "preemption_bound": bound,
        "prefix": [],  # (the whole bound as one search)
        "keep_going": True,
        "fewest_first": False,
    }
    assert _resumed_from_every_state(Generated(seed)(), run)[0] >= 1


@pytest.mark.parametrize(
    ("name", "bound", "unit", "budget"),
    [
        ("bench/scenarios/three-cpus-small.toml", 1, False, None),
        ("scenarios/xsa345-r1-small.toml", 2, False, None),
        # the biggest work unit of a bound of thousands of executions, cut by a budget
        ("bench/scenarios/three-cpus-small.toml", 2, True, 400),
    ],
)
def test_a_resumed_xen_search_ends_as_the_search_never_stopped(
    name: str, bound: int, unit: bool, budget: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    program = build_program(prepare(load_scenario(ROOT / name), "xen-4.14"))
    run = {
        "strategy": "dpor",
        "preemption_bound": bound,
        "prefix": _biggest_unit(program, "dpor", bound) if unit else [],
        "keep_going": True,
        "fewest_first": False,
        "max_executions": budget,
    }
    states, result = _resumed_from_every_state(program, run)
    assert states >= 10
    if budget is not None:  # (the resumed searches kept to the budget too)
        assert result.coverage.stopped_by == "max_executions"
        assert result.executions == budget


def test_racy_increments_resumed_after_its_finding_keeps_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(explorer, "PROGRESS_SECONDS", 0.0)
    program = racy_increments(3)
    run = {
        "strategy": "dfs",
        "preemption_bound": 2,
        "prefix": [],
        "keep_going": True,
        "fewest_first": False,
    }
    whole = _States()
    expected = explore(program, observers=[whole], **run)
    assert expected.findings and whole.states
    last = SearchState.from_data(
        json.loads(whole.states[-1]), lambda d: finding_from_data(program, d, "t"), "t"
    )
    assert last.findings  # found before the last state
    assert _summary(explore(program, resume=last, **run)) == _summary(expected)


def test_resume_needs_a_prefix_and_a_state_below_it() -> None:
    program = racy_increments(2)
    state = SearchState([], 0, [], 0, 0, 0, 0, 0, False, [])
    with pytest.raises(PageraceInputError, match="resume: only with a prefix"):
        explore(program, strategy="dpor", resume=state)
    unit = [[[0, 1], 0, [], []]]
    elsewhere = SearchState([[[0, 1], 1, [1], [], []]], 1, [], 1, 5, 0, 5, 0, False, [])
    for wrong in (state, elsewhere):  # (above the prefix; on another path)
        with pytest.raises(PageraceInputError, match="not below the prefix"):
            explore(
                program,
                strategy="dpor",
                preemption_bound=1,
                fewest_first=False,
                prefix=unit,
                resume=wrong,
            )


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("nodes"),
        lambda d: d.update(executions=-1),
        lambda d: d.update(bound_cut="yes"),
        lambda d: d.update(nodes=[[1, 2]]),
        lambda d: d.update(nodes=[[[0, 1], 3, [3], [], []]]),  # (chosen, not enabled)
        lambda d: d.update(nodes=[[[0, 99], 0, [0], [], []]]),  # (no thread 99)
        lambda d: d.update(nodes=[[[0, "1"], 0, [0], [], []]]),
        lambda d: d.update(findings=[{"kind": "x"}]),
    ],
)
def test_a_damaged_state_is_one_clear_error(damage: Any) -> None:
    program = racy_increments(2)
    data = SearchState([[[0, 1], 0, [0], [], []]], 1, [], 3, 9, 0, 4, 0, False, []).to_data()
    damage(data)
    with pytest.raises(PageraceInputError, match=r"^here: a damaged"):
        SearchState.from_data(data, lambda d: finding_from_data(program, d, "here"), "here")
