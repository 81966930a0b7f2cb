"""The result files of ``run``, ``replay`` and ``xsa345``: written atomically, and
never left stale by an interrupted run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from pagerace.userio import OutputPlan, one_line

__all__ = ["discard_on_interrupt", "write_outputs"]


@contextmanager
def discard_on_interrupt(outputs: OutputPlan) -> Iterator[None]:
    """On Ctrl-C, remove the files an earlier run left where this one would write:
    an interrupted run has no result, and an old one must not pass for it."""
    try:
        yield
    except KeyboardInterrupt:
        for path in outputs.discard_stale():
            print(f"pagerace: removed {one_line(path)} (from an earlier run)", file=sys.stderr)
        raise


def write_outputs(run: Any, outputs: OutputPlan) -> None:
    """The JSON result (to a file or stdout) and the HTML report, as planned."""
    from pagerace.report.json import result_dict, write_json

    if outputs.stdout == "--json":
        write_json(run, "-")
    json_path = outputs.get("--json")
    if json_path is not None:
        write_json(run, json_path)
    html_path = outputs.get("--html")
    if html_path is not None:
        from pagerace.report.html import write_html

        write_html(result_dict(run), html_path)
        click.echo(f"\nHTML report: {one_line(html_path)}", err=True)
