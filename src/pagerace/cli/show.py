"""``pagerace show SCENARIO``: the page-table tree a scenario sets up."""

from __future__ import annotations

import sys

import click

from pagerace.cli.options import scenario_argument, variant_option

__all__ = ["show"]


@click.command()
@scenario_argument
@variant_option
@click.option(
    "--serial",
    is_flag=True,
    help="Also run each CPU's operations, CPU by CPU, on one CPU and show the result.",
)
def show(scenario: str, variant: str | None, serial: bool) -> None:
    """Apply the set-up (and with --serial each CPU's ops in order) and print the tree.

    SCENARIO is a scenario file, or the name of a bundled one (see `pagerace list`).
    """
    from pagerace.cli.options import load
    from pagerace.errors import PageraceInputError, XenBug
    from pagerace.machine.direct import DirectMachine
    from pagerace.paging.memory import MemoryFault
    from pagerace.paging.pte import INVALID_MFN
    from pagerace.program import call_op, function_of
    from pagerace.report.tree import format_tree
    from pagerace.runner import prepare
    from pagerace.scenario import AccessOp, LookupOp
    from pagerace.userio import one_line, printable

    sc = load(scenario)
    p = prepare(sc, variant)
    # a bundled scenario's source is its name: say it once
    source = f" ({one_line(sc.source)})" if sc.source != sc.name else ""
    click.echo(
        f"{sc.name}{source}: {p.variant}, {sc.entries} entries per table,"
        f" page1gb={'yes' if sc.page1gb else 'no'}"
    )
    if sc.description:
        click.echo(printable(sc.description))
    click.echo("")
    if serial:
        m = DirectMachine(p.memory, p.root, p.config)
        for cpu, ops in enumerate(sc.cpus):
            for op in ops:
                if isinstance(op, AccessOp):
                    continue
                m.begin_op(op.irqs)
                try:
                    rc = call_op(m, op)
                except (XenBug, MemoryFault) as exc:
                    raise PageraceInputError(f"CPU{cpu}: {op.describe()}: {exc}") from None
                if isinstance(op, LookupOp):  # the answer is a frame number
                    mfn = "INVALID_MFN" if rc == INVALID_MFN else f"{rc:#x}"
                    text = f"{function_of(op, p.config)}({op.virt:#x})"
                    click.echo(f"CPU{cpu}: {text} = mfn {mfn}")
                else:
                    click.echo(f"CPU{cpu}: {op.describe()} = {rc}")
        click.echo("")
    for line in format_tree(p.memory, p.root, p.geometry):
        click.echo(line)
    sys.exit(0)
