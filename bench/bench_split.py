"""The units of a split bounded ``dpor`` bound that the single search never enters
(a script, not a test).

    .venv/bin/python bench/bench_split.py [--scenario PATH] [--variant V] [--bound K]

Explores one preemption bound (default: the four-CPU bench scenario on xsa-345, bound
2) twice, in this process: as the single search (one unit, the empty prefix) and
unit by unit, every unit of the split.  For each unit it counts the executions of
the single search whose schedule starts with the unit's path, and prints:

* the executions of the single search and of all the units, and the units;
* the units whose path the single search never enters (a branch that the split takes
  on every candidate CPU and the single search found unnecessary), with their
  executions: what a merge of every unit would add, and what the merge in the
  single search's order (``parallel.SingleOrder``) leaves out;
* how far the other units differ from the single search below their paths (0: a
  unit below a branch the single search takes runs what the single search runs).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pagerace.explore import explorer
from pagerace.explore.parallel import Search, remember, run_unit, split
from pagerace.runner import ScenarioRecipe, build_program, prepare
from pagerace.scenario import load_scenario

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(HERE / "scenarios" / "four-cpus-small.toml"))
    ap.add_argument("--variant", default="xsa-345")
    ap.add_argument("--bound", type=int, default=2)
    args = ap.parse_args()

    p = prepare(load_scenario(args.scenario), args.variant)
    program = build_program(p)
    recipe = ScenarioRecipe.of(p.scenario, p.variant, False)
    remember(recipe, program)
    search = Search(recipe, strategy="dpor", keep_going=True)

    schedules: set[tuple[int, ...]] = set()  # (a finding's replay adds no schedule)
    run_once = explorer._run_once

    def noted(*a: Any, **k: Any) -> Any:
        ex = run_once(*a, **k)
        schedules.add(tuple(ex.choices))
        return ex

    explorer._run_once = noted  # (the single search's schedules)
    try:
        single = run_unit(search, args.bound, [], None)
    finally:
        explorer._run_once = run_once
    units, _cut = split(program, "dpor", args.bound)
    total = outside = outside_executions = differ = 0
    for unit in units:
        path = tuple(entry[1] for entry in unit)
        r = run_unit(search, args.bound, unit, None)
        below = sum(1 for s in schedules if s[: len(path)] == path)
        total += r.executions
        if not below:
            outside += 1
            outside_executions += r.executions
        else:
            differ += r.executions - below
    print(f"{Path(args.scenario).stem} on {args.variant}, bound {args.bound}")
    print(f"single search: {single.executions} executions")
    print(
        f"every unit: {total} executions in {len(units)} units ({total / single.executions:.2f}x)"
    )
    print(f"units the single search never enters: {outside}, with {outside_executions} executions")
    print(f"the other units against the single search below their paths: {differ:+d} executions")


if __name__ == "__main__":
    main()
