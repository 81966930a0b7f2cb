"""``pagerace conform FILE.jsonl``: the model against Xen's own results."""

from __future__ import annotations

import sys
import time

import click

from pagerace.cli.options import processes_option

__all__ = ["conform"]


@click.command()
@click.argument("vector_file", metavar="FILE.jsonl")
@click.option(
    "--variant",
    metavar="V",
    default=None,
    help="Run every sequence on this model variant (xen-4.14, xsa-345, xen-4.19, "
    "xen-4.20.0 or xen-4.21) instead of the line's own (vuln -> xen-4.14, fixed -> "
    "xsa-345, 4.19 -> xen-4.19, 4.20.0 -> xen-4.20.0, 4.21 -> xen-4.21).",
)
@processes_option("Worker processes (default: every core).", maximum=256)
@click.option("--quiet", "-q", is_flag=True, help="Print only mismatches and the summary.")
def conform(vector_file: str, variant: str | None, jobs: int | None, quiet: bool) -> None:
    """Replay Xen conformance vectors and compare every field.

    Exit status: 0 when every sequence matches, 1 on any mismatch, 2 for an
    unreadable or malformed file.
    """
    from pagerace.explore.executors import default_jobs
    from pagerace.xen.conformance import check_file

    jobs = jobs or default_jobs()
    start = time.perf_counter()
    sequences = matched = ops = ops_matched = 0
    for report in check_file(vector_file, variant, jobs):
        sequences += 1
        ops += report.ops
        ops_matched += report.ops_matched
        if report.matches:
            matched += 1
            continue
        for mm in report.mismatches:
            click.echo(f"{report.id}: op {mm.op_index} ({mm.op}): {mm.field}: {mm.detail}")
    seconds = time.perf_counter() - start
    click.echo(f"conform: {matched}/{sequences} sequences match ({ops_matched}/{ops} ops)")
    if not quiet:
        click.echo(f"({seconds:.1f} s, {jobs} process{'es' if jobs > 1 else ''})", err=True)
    sys.exit(0 if matched == sequences else 1)
