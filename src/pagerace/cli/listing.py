"""``pagerace list``: the bundled scenarios, one line each."""

from __future__ import annotations

import shutil
import sys

import click

__all__ = ["list_scenarios", "one_line"]


def one_line(description: str, width: int) -> str:
    """The first sentence of ``description``, clipped to ``width`` characters."""
    text = " ".join(description.split())
    end = text.find(". ")
    if end >= 0:
        text = text[: end + 1]
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


@click.command("list")
def list_scenarios() -> None:
    """The bundled scenarios: name, entries per table, what [expect] says per variant,
    and the first sentence of the description.  Run one with `pagerace run NAME`."""
    from pagerace.cli.options import bundled_scenarios
    from pagerace.scenario import load_scenario

    bundled = bundled_scenarios()
    rows = []
    for name in sorted(bundled):
        sc = load_scenario(bundled[name])
        expect = "; ".join(f"{v}: {e.describe()}" for v, e in sc.expect.items())
        rows.append((name, f"{sc.entries} entries", expect, sc.description))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    columns = shutil.get_terminal_size((120, 24)).columns
    for name, entries, expect, description in rows:
        head = f"{name:<{widths[0]}}  {entries:>{widths[1]}}  {expect:<{widths[2]}}"
        click.echo(f"{head}  {one_line(description, max(40, columns - len(head) - 3))}".rstrip())
    sys.exit(0)
