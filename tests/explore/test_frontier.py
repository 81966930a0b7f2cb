"""The frontier is plain data: it survives JSON and resumes a search."""

from __future__ import annotations

import json

from explore_programs import locked_increments

from pagerace.explore import Frontier, Node, explore


def test_a_frontier_round_trips_through_json() -> None:
    frontier = Frontier([Node([0, 1], 0, [0, 1], [], []), Node([1], 1, [1], [0], [2])])
    text = frontier.to_json()
    assert json.loads(text)["frontier"] == 1
    again = Frontier.from_json(text)
    assert again.to_data() == frontier.to_data()


def test_a_dpor_search_resumed_from_a_json_frontier_finishes_the_same_way() -> None:
    from pagerace.explore.context import Context
    from pagerace.explore.execution import Execution, GreenletPool
    from pagerace.explore.strategies.dpor import DporStrategy

    program = locked_increments(3, 1)

    def run(strategy: DporStrategy, limit: int | None) -> list[tuple[int, ...]]:
        schedules = []
        ctx = Context()
        pool = GreenletPool.take()
        try:
            while limit is None or len(schedules) < limit:
                chooser = strategy.begin()
                if chooser is None:
                    break
                ex = Execution(chooser)
                ctx._begin(ex)
                bodies, _ = program(ctx)
                ex.run(bodies, pool)
                strategy.end(ex)
                schedules.append(tuple(e.thread for e in ex.steps))
        finally:
            pool.give_back()
        return schedules

    whole = run(DporStrategy(), None)
    first = DporStrategy()
    head = run(first, 2)
    resumed = DporStrategy()
    resumed.frontier = Frontier.from_json(first.frontier.to_json())
    resumed._started = True
    tail = run(resumed, None)
    assert head + tail == whole
    assert len(whole) == explore(program).executions == 6
