"""``pagerace versions``: every bundled scenario on every modelled Xen version."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pagerace.cli.check import variant_names

__all__ = ["versions", "versions_table"]


def cell(run: Any) -> str:
    """What a run found, and whether that is what the scenario expects there."""
    kinds = run.kinds
    if str(run.result.status) == "incomplete" and not kinds:
        text = "incomplete"
    else:
        text = ", ".join(kinds) if kinds else "clean"
    if run.expected is None:
        return text
    if run.meets_expectation:
        return text + " ✓"
    want = ", ".join(run.expected) if run.expected else "clean"
    return text + f" ✗ (expected {want})"


def versions_table(runs: list[Any], variants: list[str]) -> Any:
    """A rich table: one row per scenario, one column per variant."""
    from rich.table import Table

    table = Table(title="Bundled scenarios on each Xen version", title_justify="left")
    table.add_column("scenario")
    for v in variants:
        table.add_column(v)
    rows: dict[str, dict[str, str]] = {}
    for r in runs:
        rows.setdefault(r.scenario.name, {})[r.variant] = cell(r)
    for name, cells in rows.items():
        table.add_row(name, *(cells.get(v, "") for v in variants))
    return table


@click.command()
@click.option(
    "--json",
    "json_path",
    metavar="FILE",
    default=None,
    help="Write every run's result as a JSON list ('-' for stdout).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def versions(json_path: str | None, quiet: bool) -> None:
    """Run every bundled scenario on every modelled variant and print what each
    finds, with ✓ where the scenario's [expect] holds and ✗ where it does not.

    Each run explores with the scenario's own [explore] settings and goes on until
    every kind [expect] names for that variant is found.  Exit status 0 when every
    expectation holds, 1 otherwise.
    """
    from rich.console import Console

    from pagerace.cli.options import bundled_scenarios
    from pagerace.cli.run import run_bundled
    from pagerace.report.json import result_dict
    from pagerace.userio import plan_outputs, write_atomic

    outputs = plan_outputs(("--json",), json=json_path)
    variants = variant_names()
    runs = run_bundled(sorted(bundled_scenarios()), variants, quiet, outputs)
    if json_path == "-":
        click.echo(json.dumps([result_dict(r) for r in runs], indent=1))
    else:
        Console(width=max(120, 30 + 24 * len(variants))).print(versions_table(runs, variants))
        met = sum(1 for r in runs if r.expected is not None and r.meets_expectation)
        expected = sum(1 for r in runs if r.expected is not None)
        click.echo(f"\n{met}/{expected} expectations met ({len(runs)} runs)")
        if json_path:
            write_atomic(json_path, json.dumps([result_dict(r) for r in runs], indent=1) + "\n")
    ok = all(r.meets_expectation is not False for r in runs)
    sys.exit(0 if ok else 1)
