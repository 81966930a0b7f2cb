"""``pagerace list``: the bundled scenarios, each with what its [expect] says."""

from __future__ import annotations

import shutil
import sys
from typing import Any

import click

__all__ = ["expect_text", "list_scenarios", "one_line"]


def one_line(description: str, width: int) -> str:
    """The first sentence of ``description``, clipped to ``width`` characters."""
    text = " ".join(description.split())
    end = text.find(". ")
    if end >= 0:
        text = text[: end + 1]
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def expect_text(expect: Any) -> str:
    """What ``[expect]`` says, variants with the same expectation together:
    ``double-free on xen-4.14; clean on xsa-345, xen-4.19``."""
    by_text: dict[str, list[str]] = {}
    for variant, expectation in expect.items():
        by_text.setdefault(expectation.describe(), []).append(variant)
    return "; ".join(f"{text} on {', '.join(variants)}" for text, variants in by_text.items())


@click.command("list")
def list_scenarios() -> None:
    """The bundled scenarios: name, entries per table and the first sentence of the
    description, then (indented) what [expect] says per variant.  Run one with
    `pagerace run NAME`."""
    from pagerace.cli.options import bundled_scenarios
    from pagerace.scenario import load_scenario

    bundled = bundled_scenarios()
    scenarios = [load_scenario(bundled[name]) for name in sorted(bundled)]
    width = max(len(sc.name) for sc in scenarios)
    columns = shutil.get_terminal_size((120, 24)).columns
    for sc in scenarios:
        head = f"{sc.name:<{width}}  {sc.entries:>3} entries"
        click.echo(f"{head}  {one_line(sc.description, max(40, columns - len(head) - 3))}")
        if sc.expect:
            click.echo(f"{'':<{width}}  expect: {expect_text(sc.expect)}")
    sys.exit(0)
