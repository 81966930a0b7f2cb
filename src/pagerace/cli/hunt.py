"""``pagerace hunt``: draw scenarios, explore them, report each new race minimised."""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

import click

from pagerace.cli.options import (
    Count,
    Seconds,
    dask_option,
    drawn_variant_option,
    processes_option,
)

__all__ = ["hunt"]


def _cpus(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)(?:\.\.(\d+))?", value.strip())
    if not m:
        raise click.BadParameter(f"{value!r}: write N or A..B (CPUs per scenario, 1..8)")
    lo = int(m[1])
    hi = int(m[2]) if m[2] else lo
    if not 1 <= lo <= hi <= 8:
        raise click.BadParameter(f"{value!r}: CPUs must satisfy 1 <= A <= B <= 8")
    return lo, hi


class _Live:
    """The progress line on a terminal (stderr), and a line per new signature."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet
        self.progress: Any = None
        self.task: Any = None
        self.next = 0.0

    def on_signature(self, record: Any) -> None:
        if self.quiet:
            return
        text = f"new [{record.first_seconds:6.1f} s] {record.signature.text}"
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text, err=True)

    def on_progress(self, s: dict[str, Any]) -> None:
        if not self.tty or time.monotonic() < self.next:
            return
        self.next = time.monotonic() + 0.25
        if self.progress is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("hunt"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("hunt", info="")
        self.progress.update(
            self.task,
            info=f"{s['scenarios']:,} scenarios  {s['scenarios_per_second']:.2f}/s  "
            f"{s['executions_per_second']:,.0f} executions/s  {s['signatures']} signatures"
            f"  ({s['minimising']} minimising)",
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pagerace hunt: distinct signatures", title_justify="left")
    for col in ("#", "kind", "fault", "at", "ops", "count", "first s", "size", "scenario"):
        table.add_column(col, justify="right" if col in ("#", "count", "first s") else "left")
    for k, r in enumerate(result.records, 1):
        ops = " vs ".join(fn for fn, _ in r.signature.ops) or "-"
        size = f"{r.result.cpus} CPUs x {r.result.max_ops_per_cpu}" if r.result else "-"
        if r.result and not r.result.minimised:
            size += " (not minimised)"
        table.add_row(
            str(k),
            r.signature.kind,
            r.fault,
            " ".join(r.signature.labels),
            ops,
            str(r.count),
            f"{r.first_seconds:.1f}",
            size,
            os.path.basename(r.path or "-"),
        )
    Console(width=160).print(table)


@click.command()
@drawn_variant_option
@click.option(
    "--time-limit",
    type=Seconds(),
    default=None,
    metavar="S",
    help="Seconds to draw and explore scenarios (default 60 unless --max-scenarios).",
)
@click.option(
    "--max-scenarios",
    type=Count(1, 10**9),
    default=None,
    metavar="N",
    help="Stop after drawing N scenarios.",
)
@click.option(
    "--seed",
    type=Count(0, 2**63 - 1),
    default=0,
    show_default=True,
    metavar="N",
    help="Seed of the scenario generator: the same seed draws the same scenarios.",
)
@click.option(
    "--cpus",
    "cpus",
    default="2..4",
    show_default=True,
    metavar="A..B",
    help="CPUs per drawn scenario: N, or a range A..B (1 to 8).",
)
@click.option(
    "--entries",
    type=click.Choice(["4", "8", "16", "32", "64", "128", "256", "512"]),
    default="8",
    show_default=True,
    help="Entries per page table of the drawn scenarios.",
)
@click.option(
    "--disjoint", is_flag=True, help="Only scenarios whose CPUs touch disjoint 4 KiB pages."
)
@processes_option(
    "Worker processes (default: every core); with --dask, scenarios in flight "
    "(default: the cluster's workers).",
    maximum=256,
)
@dask_option
@click.option("--preemption-bound", type=Count(0, 1000), default=2, show_default=True, metavar="K")
@click.option(
    "--max-executions",
    type=Count(1, 10**12),
    default=1000,
    show_default=True,
    metavar="N",
    help="DPOR executions per scenario (then PCT if DPOR did not finish).",
)
@click.option("--out", "out_dir", required=True, metavar="DIR", help="Where scenario files go.")
@click.option("--json", "json_path", metavar="FILE", default=None, help="'-' for stdout.")
@click.option("--html", "html_path", metavar="FILE", default=None)
@click.option("--quiet", "-q", is_flag=True, help="No progress line, no line per signature.")
def hunt(
    variant: str | None,
    time_limit: float | None,
    max_scenarios: int | None,
    seed: int,
    cpus: str,
    entries: str,
    disjoint: bool,
    jobs: int | None,
    dask_address: str | None,
    preemption_bound: int,
    max_executions: int,
    out_dir: str,
    json_path: str | None,
    html_path: str | None,
    quiet: bool,
) -> None:
    """Draw random scenarios, explore them, and write each distinct race found,
    minimised, as a scenario file in DIR.

    Exit status: 1 something found, 0 nothing, 2 bad input, 130 interrupted
    (everything found so far is written).
    """
    from pagerace.errors import PageraceInputError
    from pagerace.hunt.campaign import HuntOptions
    from pagerace.hunt.campaign import hunt as run_hunt
    from pagerace.hunt.generate import GenOptions
    from pagerace.hunt.search import Budget
    from pagerace.scenario import KNOWN_VARIANTS
    from pagerace.xen.versions import unknown_variant

    variant = variant or "xen-4.14"
    if variant not in KNOWN_VARIANTS:
        raise PageraceInputError("--variant: " + unknown_variant(variant))
    from pagerace.userio import one_line, plan_outputs

    plan_outputs(("--json",), json=json_path, html=html_path)
    lo, hi = _cpus(cpus)
    if not out_dir:
        raise PageraceInputError("--out: an empty directory name")
    if "\x00" in out_dir:
        raise PageraceInputError("--out: a directory name with a NUL character")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise PageraceInputError(f"--out: {one_line(out_dir)} exists and is not a directory")
    if time_limit is None and max_scenarios is None:
        time_limit = 60.0
    options = HuntOptions(
        gen=GenOptions(
            variant=variant, entries=int(entries), min_cpus=lo, max_cpus=hi, disjoint=disjoint
        ),
        seed=seed,
        jobs=jobs,
        dask=dask_address,
        time_limit=time_limit,
        max_scenarios=max_scenarios,
        budget=Budget(preemption_bound=preemption_bound, dpor_executions=max_executions),
    )
    live = _Live(quiet)
    try:
        result = run_hunt(options, out_dir, live)
    except OSError as exc:
        raise PageraceInputError(
            f"--out: cannot write to {one_line(out_dir)}: {exc.strerror}"
        ) from None
    finally:
        live.close()
    _emit(result, json_path, html_path)
    if result.interrupted:
        click.echo("pagerace: interrupted; everything found so far is written", err=True)
        sys.exit(130)
    sys.exit(1 if result.records else 0)


def _emit(result: Any, json_path: str | None, html_path: str | None) -> None:
    import json

    from pagerace.hunt.records import hunt_dict
    from pagerace.userio import write_atomic

    if html_path:
        _reports(result)
    data = hunt_dict(result)
    st = data["stats"]
    if json_path != "-":
        if result.records:
            _table(result)
        kinds = ", ".join(f"{k} {t:.1f} s" for k, t in data["kinds"].items()) or "none"
        click.echo(
            f"{len(result.records)} signatures, {len(data['kinds'])} kinds (first found: {kinds});"
            f" {st['scenarios']:,} scenarios, {st['executions']:,} executions in"
            f" {st['seconds']:.1f} s ({st['scenarios_per_second']:.2f} scenarios/s,"
            f" {st['executions_per_second']:,.0f} executions/s); files in {result.out_dir}"
        )
    if json_path:
        text = json.dumps(data, indent=1)
        if json_path == "-":
            click.echo(text)
        else:
            write_atomic(json_path, text + "\n")
    if html_path:
        from pagerace.report.hunt import render_hunt_html

        base = os.path.dirname(os.path.abspath(html_path))
        write_atomic(html_path, render_hunt_html(data, link_base=base))
        click.echo(f"HTML report: {html_path}", err=True)


def _reports(result: Any) -> None:
    """Each signature's own report (the run report of its replayed schedule), linked
    from the hunt's page."""
    from pathlib import Path

    from pagerace.report.html import render_html
    from pagerace.report.json import result_dict
    from pagerace.runner import replay_scenario
    from pagerace.scenario import load_scenario
    from pagerace.userio import write_atomic

    for r in result.records:
        if not r.path:
            continue
        found = r.result.found if r.result else r.first
        run = replay_scenario(load_scenario(r.path), found.schedule)
        target = Path(r.path).with_suffix(".html")
        write_atomic(str(target), render_html(result_dict(run)))
        r.report = str(target)
