"""``pagerace steps``: what a trace's step labels mean and where they are in mm.c."""

from __future__ import annotations

import click

from pagerace.errors import PageraceInputError
from pagerace.xen.steps import EVENT_KEYS, MM_C, Step, commit_of, step, steps, versions
from pagerace.xen.versions import VERSIONS, unknown_variant

__all__ = ["steps_command"]


def _lines(entry: Step, variant: str, caller: str = "") -> str:
    """``5346 (lock 5344, unlock 5354/5361)``, or ``-`` when the step is not there."""
    sites = entry.sites
    main = entry.lines(variant, "line", caller)
    extra = [
        f"{kind} {'/'.join(map(str, lines))}"
        for kind in EVENT_KEYS[1:]
        if ((caller, kind) in sites or ("", kind) in sites)
        and (lines := entry.lines(variant, kind, caller))
        and lines != main
    ]
    text = "/".join(map(str, main)) or "-"
    return text + (f" ({', '.join(extra)})" if extra else "")


def _callers(entry: Step) -> list[str]:
    return sorted({c for c, _ in entry.sites if c}) or [""]


def describe(entry: Step) -> list[str]:
    """The full description of one label, with its lines at every version."""
    out = [f"{entry.label}  {entry.function}", f"  {entry.does}"]
    if entry.reads:
        out.append(f"  reads:  {entry.reads}")
    if entry.writes:
        out.append(f"  writes: {entry.writes}")
    for caller in _callers(entry):
        out.append(f"  {MM_C} lines" + (f" in {caller}:" if caller else ":"))
        for v in versions():
            out.append(f"    {v:<11} {_lines(entry, v, caller):<36} ({(commit_of(v) or '')[:10]})")
    return out


@click.command("steps")
@click.argument("labels", nargs=-1)
@click.option(
    "--variant",
    metavar="V",
    default="xen-4.14",
    show_default=True,
    help="The version whose mm.c lines the list shows: xen-4.14, xsa-345, xen-4.19, "
    "xen-4.20.0 or xen-4.21.",
)
def steps_command(labels: tuple[str, ...], variant: str) -> None:
    """Explain step labels (M6.9, V2.4, X5.8 ...): the Xen function, what the step
    does, what it reads and writes, and its line in xen/arch/x86/mm.c at each
    modelled version.  Without LABELS, list every label with its line at --variant."""
    if variant not in VERSIONS:
        raise PageraceInputError("--variant: " + unknown_variant(variant))
    if variant not in versions():
        raise PageraceInputError(f"--variant: no mm.c lines for {variant} in the steps table")
    if not labels:
        click.echo(f"step labels; lines of {MM_C} at {(commit_of(variant) or '')[:10]} ({variant})")
        for entry in steps().values():
            for caller in _callers(entry):
                fn = caller or entry.function
                main = "/".join(map(str, entry.lines(variant, "line", caller))) or "-"
                where = f"{fn}:{main}"
                click.echo(f"  {entry.label:<10} {where:<30} {entry.does}")
        return
    unknown = [label for label in labels if step(label) is None]
    if unknown:
        raise PageraceInputError(
            f"unknown step label {unknown[0]!r} (`pagerace steps` lists them all)"
        )
    for i, label in enumerate(labels):
        found = step(label)
        assert found is not None
        if i:
            click.echo()
        for line in describe(found):
            click.echo(line)
