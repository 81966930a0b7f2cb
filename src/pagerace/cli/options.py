"""Options and helpers shared by the commands that take a scenario."""

from __future__ import annotations

import dataclasses
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from pagerace.errors import PageraceInputError
from pagerace.userio import did_you_mean, one_line, parse_uint

__all__ = [
    "Count",
    "Seconds",
    "bundled_scenarios",
    "dask_option",
    "drawn_variant_option",
    "jobs_option",
    "load",
    "processes_option",
    "scenario_argument",
    "variant_option",
]


class Count(click.ParamType):
    """A whole number a user types: ASCII digits only, in ``minimum .. maximum``
    (``parse_uint``: no superscripts, no other scripts' digits, no 5,000-digit
    conversion)."""

    name = "count"

    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            return parse_uint(value, "value", minimum=self.minimum, maximum=self.maximum)
        except PageraceInputError as exc:
            self.fail(str(exc).removeprefix("value: "), param, ctx)


class Seconds(click.ParamType):
    """A positive, finite number of seconds (``nan`` and ``inf`` are refused)."""

    name = "seconds"
    MAXIMUM = 10**7

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        text = str(value).strip()
        try:
            seconds = float(text) if text.isascii() and len(text) <= 30 else math.nan
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and 0 < seconds <= self.MAXIMUM):
            self.fail(
                f"{one_line(value, 40)} is not a number of seconds above 0 and at most"
                f" {self.MAXIMUM:,}",
                param,
                ctx,
            )
        return seconds


def _complete_scenario(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion: bundled scenario names, then files."""
    names = [CompletionItem(n) for n in sorted(bundled_scenarios()) if n.startswith(incomplete)]
    return [*names, CompletionItem(incomplete, type="file")]


def _complete_variant(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from pagerace.scenario import KNOWN_VARIANTS

    return [CompletionItem(v) for v in KNOWN_VARIANTS if v.startswith(incomplete)]


scenario_argument = click.argument(
    "scenario", metavar="SCENARIO", shell_complete=_complete_scenario
)


def processes_option(help: str, maximum: int = 4096) -> Any:
    """``--jobs/-j N``: how many worker processes (None when not given: every core)."""
    return click.option(
        "--jobs", "-j", type=Count(1, maximum), default=None, metavar="N", help=help
    )


jobs_option = processes_option(
    "Split the search into work units run by N worker processes (default: every core; "
    "the result is the same for any N, 1 runs them in this process): dpor/dfs, and "
    "random/pct with an execution budget (samples of 250 executions or more, each its own "
    "seed)."
)
dask_option = click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    default=None,
    help="Run the work on a Dask cluster: tcp://HOST:8786, or local:N for a local "
    "cluster of N workers (needs pagerace[cluster]).",
)


def _variant_option(what: str) -> Any:
    """``--variant``, saying ``what`` it sets, then the variants."""
    return click.option(
        "--variant",
        metavar="V",
        default=None,
        shell_complete=_complete_variant,
        help=f"{what}: xen-4.14 (vulnerable), xsa-345 (fixed), xen-4.19, xen-4.20.0 or "
        "xen-4.21 ('pagerace variants').",
    )


variant_option = _variant_option("Override the scenario's variant")
#: (``hunt``: the scenarios are drawn, not read)
drawn_variant_option = _variant_option("The variant the drawn scenarios run on (default xen-4.14)")


def bundled_scenarios() -> dict[str, Path]:
    """Name -> path of the scenarios shipped with pagerace."""
    folder = resources.files("pagerace") / "data" / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def load(name_or_path: str) -> Any:
    """A scenario file, or the name of a bundled scenario."""
    from pagerace.scenario import load_scenario

    try:
        exists = os.path.lexists(name_or_path)
    except (OSError, ValueError):  # a name too long for the system, a NUL in it
        exists = False
    if not exists:
        bundled = bundled_scenarios()
        if name_or_path in bundled:
            # named by its name, so that replay commands work from any directory
            return dataclasses.replace(load_scenario(bundled[name_or_path]), source=name_or_path)
        hint = did_you_mean(name_or_path, bundled)
        raise PageraceInputError(
            f"{one_line(name_or_path)}: no such scenario file or bundled scenario{hint}; bundled:"
            f" {', '.join(sorted(bundled))} (pagerace list describes them)"
        )
    return load_scenario(name_or_path)
