"""``pagerace check FILE.toml``: a scenario's operations, one after another, judged
against what each promises (the functional oracle)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pagerace.cli.options import scenario_argument

__all__ = ["check"]


def variant_names() -> list[str]:
    """Every modelled variant, in the order the model lists them."""
    from pagerace.xen.versions import VERSIONS

    return list(VERSIONS)


def result_dict(scenario: Any, result: Any) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "source": str(scenario.source),
        "variant": result.variant,
        "entries": scenario.geometry.entries,
        "page1gb": scenario.page1gb,
        "status": "found" if result.found else "clean",
        "ops": result.ops,
        "stopped": result.stopped,
        "findings": [f.as_dict() for f in result.findings],
    }


def summary_lines(scenario: Any, result: Any) -> list[str]:
    n = result.ops
    head = f"{scenario.name} on {result.variant}: {n} operation{'s' if n != 1 else ''} run in order"
    if not result.findings:
        return [head + ", each as promised"]
    count = len(result.findings)
    lines = [head + f", {count} finding{'s' if count != 1 else ''}"]
    for f in result.findings:
        lines.append(f"  {f.kind} at {f.where}: {f.message}")
    if result.stopped:
        lines.append(f"  stopped at {result.stopped}")
    return lines


@click.command()
@scenario_argument
@click.option(
    "--variant", metavar="V", default=None, help="Run on this variant (default: the scenario's)."
)
@click.option(
    "--all-variants", is_flag=True, help="Run on every modelled variant, one after another."
)
@click.option(
    "--json",
    "json_path",
    metavar="FILE",
    default=None,
    help="Write the results (a list, one per variant) as JSON ('-' for stdout).",
)
def check(scenario: str, variant: str | None, all_variants: bool, json_path: str | None) -> None:
    """Run the set-up, then each CPU's operations in order (CPU 0's first), on one
    CPU, and judge every operation against what it promises: map makes its range
    translate to its frames with its attributes, unmapping and destroy leave the
    range unmapped, modify changes only the attributes it may, lookup returns the
    mapped frame, and nothing outside an operation's range changes.

    Exit status: 0 nothing found, 1 something found, 2 bad input.
    """
    from pagerace.cli.options import load
    from pagerace.errors import PageraceInputError
    from pagerace.sequential import check_scenario
    from pagerace.userio import plan_outputs, write_atomic

    if all_variants and variant is not None:
        raise PageraceInputError("--variant and --all-variants: give one or the other")
    plan_outputs(("--json",), json=json_path)
    sc = load(scenario)
    variants = variant_names() if all_variants else [variant or sc.variant]
    results = [check_scenario(sc, v) for v in variants]
    text = json.dumps([result_dict(sc, r) for r in results], indent=1) + "\n"
    if json_path == "-":
        click.echo(text, nl=False)
    else:
        for r in results:
            for line in summary_lines(sc, r):
                click.echo(line)
        if json_path:
            write_atomic(json_path, text)
    sys.exit(1 if any(r.found for r in results) else 0)
