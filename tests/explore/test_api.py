"""The public surface: argument checking, exports, and the layer rule."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from explore_programs import racy_increments

import pagerace.explore as explore_package
from pagerace.errors import PageraceInputError
from pagerace.explore import Context, explore

SRC = Path(explore_package.__file__).parent


@pytest.mark.parametrize(
    ("options", "argument", "rule"),
    [
        ({"strategy": "bfs"}, "strategy", "must be one of"),
        ({"strategy": "replay"}, "schedule", "needs schedule"),
        ({"strategy": "replay", "schedule": "0.1"}, "schedule", "must start with"),
        ({"strategy": "replay", "schedule": "v1:0xz"}, "schedule", "THREADxCOUNT"),
        ({"schedule": "v1:0"}, "schedule", "only used with strategy='replay'"),
        ({"preemption_bound": -1}, "preemption_bound", "must be >= 0"),
        ({"preemption_bound": "often"}, "preemption_bound", "must be an int"),
        ({"strategy": "random", "preemption_bound": "iterative"}, "preemption_bound", "only with"),
        (
            {"strategy": "replay", "schedule": "v1:0", "preemption_bound": 1},
            "preemption_bound",
            "not used by strategy 'replay'",
        ),
        ({"seed": -1}, "seed", "must be an int from 0"),
        ({"keep_going": 1}, "keep_going", "must be true or false"),
        ({"max_preemption_bound": 2}, "max_preemption_bound", "not an option of explore"),
        ({"max_executions": 0}, "max_executions", "must be an int from 1"),
        ({"time_limit": -1.0}, "time_limit", "must be seconds > 0"),
        ({"seed": "x"}, "seed", "must be an int"),
        ({"pct_depth": 0}, "pct_depth", "must be an int from 1 to 100"),
    ],
)
def test_a_bad_argument_raises_a_value_error_naming_the_argument_and_the_rule(
    options: dict[str, Any], argument: str, rule: str
) -> None:
    with pytest.raises(PageraceInputError, match=f"^{argument}: .*{rule}") as info:
        explore(racy_increments(2), **options)
    assert isinstance(info.value, ValueError)


def test_more_than_eight_threads_is_an_input_error() -> None:
    def program(ctx: Context) -> Any:
        return [lambda: None] * 9, None

    with pytest.raises(PageraceInputError, match=r"^program: must have 1\.\.8 threads, got 9"):
        explore(program)


def test_a_program_that_returns_the_wrong_shape_is_an_input_error() -> None:
    with pytest.raises(PageraceInputError, match="program: must return"):
        explore(lambda ctx: [lambda: None])


def test_ctx_event_outside_a_thread_body_is_an_input_error() -> None:
    def program(ctx: Context) -> Any:
        ctx.event(((("x", True),)), "setup")
        return [lambda: None], None

    with pytest.raises(PageraceInputError, match=r"ctx\.event: must be called from a thread"):
        explore(program)


def test_every_name_in_all_exists_and_is_listed_once() -> None:
    names = explore_package.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(explore_package, name)


def test_the_explore_package_imports_nothing_from_other_pagerace_packages() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module.startswith("pagerace"):
                    # (pagerace.userio, the edge to user files, may be used by every layer)
                    assert module in ("pagerace.errors", "pagerace.userio") or module.startswith(
                        "pagerace.explore"
                    ), f"{path.name} imports {module}"


def test_nothing_in_the_explore_package_prints() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.name} prints"
