"""One set of rules: the API, a scenario's [explore], ``RunOptions`` and ``pagerace
run``'s flags take the same options and reject the same values with the same reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pagerace.errors import PageraceInputError, ScenarioError
from pagerace.explore import ExploreOptions, OptionError, explore
from pagerace.explore.options import from_text
from pagerace.runner import RunOptions, run_options, run_scenario
from pagerace.scenario import load_scenario, parse_scenario

sys.path.insert(0, str(Path(__file__).parent / "explore"))
from explore_programs import racy_increments

SCENARIOS = Path(__file__).parents[1] / "src" / "pagerace" / "data" / "scenarios"
HEAD = 'name = "t"\nvariant = "xen-4.14"\nentries = 8\n'
ONE_CPU = '[[cpus]]\nops = [{ op = "access", virt = "DIRECTMAP" }]\n'

# (options as Python values, the same as TOML, the same as flags, field, reason)
CASES: list[tuple[dict[str, Any], str, list[str], str, str]] = [
    (
        {"preemption_bound": -1},
        "preemption_bound = -1",
        ["--preemption-bound", "-1"],
        "preemption_bound",
        "must be >= 0; got -1",
    ),
    (
        {"strategy": "random", "preemption_bound": "iterative"},
        'strategy = "random"\npreemption_bound = "iterative"',
        ["--strategy", "random", "--preemption-bound", "iterative"],
        "preemption_bound",
        "'iterative' (bounds 0, 1, 2, ... in turn) only with strategy 'dpor' or 'dfs'"
        ' (strategy is "random"); give a number or none',
    ),
    (
        {"max_executions": 0},
        "max_executions = 0",
        ["--max-executions", "0"],
        "max_executions",
        "must be an int from 1 to 1,000,000,000,000 or None; got 0",
    ),
    (
        {"time_limit": -2},
        "time_limit = -2",
        ["--time-limit", "-2"],
        "time_limit",
        "must be seconds > 0 (at most 10,000,000) or None; got -2",
    ),
    (
        {"seed": -1},
        "seed = -1",
        ["--seed", "-1"],
        "seed",
        "must be an int from 0 to 2**64 - 1; got -1",
    ),
    (
        {"pct_depth": 0},
        "pct_depth = 0",
        ["--pct-depth", "0"],
        "pct_depth",
        "must be an int from 1 to 100; got 0",
    ),
]


@pytest.mark.parametrize(("values", "toml", "flags", "field", "reason"), CASES)
def test_every_face_rejects_a_bad_option_with_the_same_reason(
    values: dict[str, Any], toml: str, flags: list[str], field: str, reason: str, tmp_path: Path
) -> None:
    def program(ctx: Any) -> Any:
        return [lambda: None], None

    with pytest.raises(OptionError) as api:
        explore(program, **values)
    assert (api.value.field, api.value.reason) == (field, reason)
    with pytest.raises(OptionError) as made:
        ExploreOptions(**values)
    assert str(made.value) == f"{field}: {reason}"
    with pytest.raises(OptionError) as run:
        RunOptions(**values)
    assert str(run.value) == f"{field}: {reason}"
    with pytest.raises(ScenarioError) as sc:
        parse_scenario(HEAD + ONE_CPU + "[explore]\n" + toml + "\n", "s.toml")
    assert str(sc.value) == f"s.toml: explore.{field}: {reason}"
    path = tmp_path / "ok.toml"
    path.write_text(HEAD + ONE_CPU)
    p = subprocess.run(
        [sys.executable, "-m", "pagerace", "run", str(path), *flags],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2
    assert p.stderr.strip() == f"pagerace: --{field.replace('_', '-')}: {reason}"


def test_iterative_bounding_is_accepted_in_a_scenario_and_means_what_the_flag_means() -> None:
    sc = parse_scenario(HEAD + ONE_CPU + '[explore]\npreemption_bound = "iterative"\n', "s.toml")
    assert run_options(sc).preemption_bound == "iterative"
    assert run_options(sc).iterative
    none = parse_scenario(HEAD + ONE_CPU + '[explore]\npreemption_bound = "none"\n', "s.toml")
    assert run_options(none).preemption_bound is None


def test_flags_override_the_scenario_which_overrides_the_defaults() -> None:
    sc = parse_scenario(
        HEAD + ONE_CPU + '[explore]\nstrategy = "dfs"\npreemption_bound = 2\nseed = 4\n', "s.toml"
    )
    opts = run_options(sc, preemption_bound=None, seed=9)
    assert (opts.strategy, opts.preemption_bound, opts.seed) == ("dfs", 2, 9)
    assert run_options(sc, preemption_bound=1).preemption_bound == 1
    assert run_options().time_limit == 300.0  # the default budget
    assert run_options().max_executions == 1_000_000


def test_the_run_default_bound_follows_the_strategy() -> None:
    assert RunOptions().preemption_bound == "iterative"
    assert RunOptions(strategy="dfs").preemption_bound == "iterative"
    assert RunOptions(strategy="random").preemption_bound is None
    assert RunOptions(strategy="pct").preemption_bound is None


def test_a_bound_on_random_is_honoured_in_every_sampled_execution() -> None:
    seen: list[int] = []

    class Record:
        def on_execution(self, record: Any) -> None:
            seen.append(record.preemptions)

    program = racy_increments(3)
    explore(program, strategy="random", max_executions=300, keep_going=True, observers=[Record()])
    assert max(seen) >= 2  # without a bound, random makes several preemptions
    seen.clear()
    explore(
        program,
        strategy="random",
        preemption_bound=1,
        max_executions=300,
        keep_going=True,
        observers=[Record()],
    )
    assert seen and max(seen) <= 1


def test_a_bound_on_random_is_honoured_by_pagerace_run_too() -> None:
    run = run_scenario(
        load_scenario(SCENARIOS / "xsa345-r2a-small.toml"),
        RunOptions(strategy="random", preemption_bound=0, max_executions=200),
    )
    assert run.options.describe() == "seed 0, at most 0 preemptions"
    assert all(f.preemptions == 0 for f in run.findings)


def test_options_and_keywords_combine_keywords_winning() -> None:
    base = ExploreOptions(strategy="dfs", max_executions=2)
    result = explore(racy_increments(2), base, max_executions=3, keep_going=True)
    assert result.executions == 3
    assert result.strategy == "dfs"
    with pytest.raises(PageraceInputError, match=r"^options: must be an ExploreOptions"):
        explore(racy_increments(2), {"strategy": "dfs"})  # type: ignore[arg-type]


def test_text_values_read_alike_from_a_flag_and_a_toml_string() -> None:
    assert from_text("preemption_bound", "none") == "none"
    assert run_options(preemption_bound="none").preemption_bound is None
    assert run_options(max_executions="none").max_executions is None
    assert from_text("preemption_bound", "iterative") == "iterative"
    assert from_text("preemption_bound", "3") == 3
    assert from_text("max_executions", "1_000") == 1000
    assert from_text("time_limit", "2.5") == 2.5
    assert from_text("time_limit", "soon") == "soon"
    assert ExploreOptions(preemption_bound="none").preemption_bound is None
    assert ExploreOptions(time_limit=3).time_limit == 3.0


def test_each_face_names_the_same_fields() -> None:
    from pagerace.scenario import EXPLORE_KEYS

    assert set(EXPLORE_KEYS) <= set(ExploreOptions.field_names())
    assert set(ExploreOptions.field_names()) <= set(RunOptions.field_names())


@pytest.mark.parametrize(
    ("bound", "words"),
    [
        (0, "preemption bound 0"),
        (2, "preemption bounds 0-2"),
        ("iterative", "iterative preemption bounding"),
        (None, "no preemption bound"),
    ],
)
def test_a_search_says_its_bounds_in_words(bound: Any, words: str) -> None:
    assert ExploreOptions(strategy="dpor", preemption_bound=bound).describe() == words
