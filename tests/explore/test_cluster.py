"""Work units on a real Dask cluster (a local scheduler and two worker processes) give
the same result as one process.  Skipped when Dask is not installed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("distributed")

from pagerace.cli.options import load
from pagerace.explore.cluster import dask_executor
from pagerace.runner import RunOptions, run_scenario


def _summary(run: Any) -> tuple[Any, ...]:
    r = run.result
    return (
        str(r.status),
        r.executions,
        r.stats.events,
        [(f.kind, f.key, f.schedule, [e.to_dict() for e in f.trace]) for f in r.findings],
    )


def test_a_dask_cluster_gives_the_result_of_one_process() -> None:
    sc = load("xsa345-r1-small")
    runs = [
        (RunOptions(preemption_bound=1, keep_going=True), "xen-4.14"),
        (RunOptions(preemption_bound=1), "xsa-345"),
    ]
    with dask_executor("local:2") as executor:
        for options, variant in runs:
            one = run_scenario(sc, replace(options, jobs=1), variant=variant)
            dask = run_scenario(sc, options, variant=variant, executor=executor)
            assert _summary(dask) == _summary(one)
            assert dask.result.executions > 1
