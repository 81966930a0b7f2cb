"""``pagerace run``, ``replay`` and ``xsa345``: explore scenarios and report."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click

from pagerace.cli.options import (
    Count,
    Seconds,
    dask_option,
    jobs_option,
    scenario_argument,
    variant_option,
)
from pagerace.cli.outputs import discard_on_interrupt, write_outputs
from pagerace.errors import PageraceInputError
from pagerace.userio import check_output_path, one_line, parse_uint, plan_outputs, write_atomic

__all__ = ["replay", "run", "run_bundled", "xsa345"]

EXIT = {"clean": 0, "found": 1, "incomplete": 3}


def _bound(value: str | None) -> int | str | None:
    if value is None:
        return "default"
    if value in ("none", "iterative"):
        return None if value == "none" else "iterative"
    try:
        return parse_uint(value, "--preemption-bound", maximum=10**6)
    except PageraceInputError as exc:
        raise click.BadParameter(f"{exc}, 'iterative' or 'none'") from None


def _options(
    sc: Any,
    strategy: str | None,
    bound: int | str | None,
    max_executions: int | None,
    time_limit: float | None,
    seed: int | None,
    keep_going: bool,
    fine_scans: bool,
    pct_depth: int,
    jobs: int | None = None,
) -> Any:
    from pagerace.explore.parallel import default_jobs
    from pagerace.runner import RunOptions

    d = sc.explore
    if bound == "default":
        bound = d.preemption_bound if d.preemption_bound is not None else "iterative"
    return RunOptions(
        strategy=strategy or d.strategy or "dpor",
        preemption_bound=bound,
        max_executions=max_executions if max_executions is not None else d.max_executions,
        time_limit=time_limit if time_limit is not None else d.time_limit,
        seed=seed if seed is not None else (d.seed or 0),
        keep_going=keep_going,
        fine_scans=fine_scans,
        pct_depth=pct_depth,
        jobs=jobs if jobs is not None else default_jobs(),
    )


@contextlib.contextmanager
def _executor(dask_address: str | None) -> Iterator[Any]:
    """The Dask executor asked for, or None (worker processes, per ``--jobs``)."""
    if dask_address is None:
        yield None
        return
    from pagerace.explore.cluster import dask_executor

    with dask_executor(dask_address) as executor:
        yield executor


def _bound_text(run: Any) -> str:
    b = run.options.preemption_bound
    if run.options.strategy not in ("dpor", "dfs"):
        return f"seed {run.options.seed}"
    if b is None:
        return "no preemption bound"
    if b == "iterative":
        return "iterative preemption bounding"
    return f"preemption bound {b}"


def _summary(run: Any) -> list[str]:
    r = run.result
    status = run.status
    kinds = ", ".join(run.kinds)
    lines = [
        f"{run.scenario.name} on {run.variant}: {status}"
        + (f" ({kinds})" if kinds else "")
        + f" after {r.executions:,} execution{'s' if r.executions != 1 else ''}"
        f" in {run.seconds:.2f} s ({run.options.strategy}, {_bound_text(run)})"
    ]
    if run.caller_faults_only:
        lines.append(
            "only violations of a caller's precondition (two CPUs changing the same page at"
            " once, or a range that is not mapped): no fault of the hypervisor code"
        )
    for check, why in run.checks_skipped:
        lines.append(f"check skipped: {check}: {why}")
    if status == "incomplete":
        lines.append("incomplete: " + "; ".join(run.incomplete_reasons))
    if run.expected is not None:
        want = ", ".join(run.expected) if run.expected else "clean"
        lines.append(f"expected: {want} -- {'met' if run.meets_expectation else 'NOT met'}")
    return lines


def _emit(run: Any, all_traces: bool, outputs: Any) -> None:
    from pagerace.report.text import finding_title, format_counterexample, replay_command

    if outputs.stdout is None:
        for line in _summary(run):
            click.echo(line)
        # findings of one execution share its schedule: one trace for all of them
        groups: dict[str, list[Any]] = {}
        for f in run.findings:
            groups.setdefault(f.schedule, []).append(f)
        for k, (schedule, group) in enumerate(groups.items()):
            click.echo("")
            if k == 0 or all_traces:
                for line in format_counterexample(
                    group[0],
                    source=run.scenario.source,
                    variant=run.variant,
                    ncpus=len(run.scenario.cpus),
                    also=group[1:],
                    run=run,
                ):
                    click.echo(line)
            else:
                for f in group:
                    click.echo(f"{finding_title(f, run)}: {f.message}")
                click.echo(
                    f"  {group[0].preemptions} preemptions; replay: "
                    f"{replay_command(run.scenario.source, schedule, run.variant)}"
                )
    write_outputs(run, outputs)


@click.command()
@scenario_argument
@variant_option
@click.option(
    "--strategy",
    type=click.Choice(["dpor", "dfs", "random", "pct"]),
    default=None,
    help="Search strategy (default: the scenario's, else dpor).",
)
@click.option(
    "--preemption-bound",
    "bound",
    metavar="K|iterative|none",
    default=None,
    help="dpor/dfs: explore with preemption bounds 0, 1, ..., K so that the first "
    "counterexample has the fewest preemptions; 'iterative' has no cap, 'none' no "
    "bounding (default: the scenario's, else iterative).",
)
@click.option("--max-executions", type=Count(1, 10**12), default=None, metavar="N")
@click.option(
    "--time-limit",
    type=Seconds(),
    default=None,
    metavar="S",
    help="Seconds.",
)
@click.option("--seed", type=Count(0, 2**64 - 1), default=None, help="random/pct seed.")
@click.option("--pct-depth", type=Count(1, 100), default=3, show_default=True)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Collect every distinct finding instead of stopping at the first.",
)
@click.option(
    "--until-expected",
    is_flag=True,
    help="Go on past the first finding until every kind [expect] names is found.",
)
@click.option("--all-traces", is_flag=True, help="Print every finding's trace in full.")
@click.option(
    "--fine-scans",
    is_flag=True,
    help="Make each load of a 512-entry scan (M2.3, M8.3, X5.7 ...) its own event.",
)
@click.option(
    "--json",
    "json_path",
    metavar="FILE",
    default=None,
    help="Write the result as JSON ('-' for stdout).",
)
@click.option(
    "--html", "html_path", metavar="FILE", default=None, help="Write a self-contained HTML report."
)
@jobs_option
@dask_option
@click.option(
    "--checkpoint",
    "checkpoint_path",
    metavar="FILE",
    default=None,
    help="dpor/dfs: keep the search's progress in FILE (written every few seconds and on "
    "Ctrl-C); 'pagerace resume FILE' finishes the run.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    scenario: str,
    variant: str | None,
    strategy: str | None,
    bound: str | None,
    max_executions: int | None,
    time_limit: float | None,
    seed: int | None,
    pct_depth: int,
    keep_going: bool,
    until_expected: bool,
    all_traces: bool,
    fine_scans: bool,
    json_path: str | None,
    html_path: str | None,
    jobs: int | None,
    dask_address: str | None,
    checkpoint_path: str | None,
    quiet: bool,
) -> None:
    """Explore how the scenario's CPUs interleave and report what goes wrong.

    Exit status: 0 clean, 1 found, 2 bad input, 3 incomplete (budget spent).
    """
    from pagerace.cli.options import load

    outputs = plan_outputs(("--json",), json=json_path, html=html_path)
    sc = load(scenario)
    options = _options(
        sc,
        strategy,
        _bound(bound),
        max_executions,
        time_limit,
        seed,
        keep_going,
        fine_scans,
        pct_depth,
        jobs,
    )
    state = None
    if checkpoint_path is not None:
        from pagerace.explore.checkpoint import Progress
        from pagerace.runner import scenario_hash

        if options.strategy not in ("dpor", "dfs"):
            raise PageraceInputError("--checkpoint: only with strategy dpor or dfs")
        check_output_path(checkpoint_path, "--checkpoint")
        about = {"scenario": scenario, "variant": variant, "until_expected": until_expected}
        state = Progress(checkpoint_path, about, scenario_hash(sc), _options_data(options))
    _explore_and_report(
        sc, options, variant, until_expected, dask_address, quiet, outputs, all_traces, state
    )


def _options_data(options: Any) -> dict[str, Any]:
    data = dict(options.__dict__)
    data.pop("jobs", None)  # (the result does not depend on it)
    return data


def _explore_and_report(
    sc: Any,
    options: Any,
    variant: str | None,
    until_expected: bool,
    dask_address: str | None,
    quiet: bool,
    outputs: Any,
    all_traces: bool,
    state: Any,
) -> None:
    from pagerace.cli.progress import ProgressObserver
    from pagerace.runner import run_scenario

    progress = ProgressObserver(sc.name, enabled=False if quiet else None)
    with _executor(dask_address) as executor:
        try:
            with discard_on_interrupt(outputs):
                try:
                    result = run_scenario(
                        sc,
                        options,
                        variant=variant,
                        observers=[progress],
                        until_expected=until_expected,
                        executor=executor,
                        state=state,
                    )
                except KeyboardInterrupt:
                    if state is not None:
                        state.save()
                        click.echo(f"pagerace: progress kept in {state.path}", err=True)
                    raise
        finally:
            progress.close()
    _emit(result, all_traces, outputs)
    sys.exit(EXIT[result.status])


@click.command()
@click.argument("checkpoint", metavar="FILE")
@click.option("--all-traces", is_flag=True, help="Print every finding's trace in full.")
@click.option("--json", "json_path", metavar="FILE", default=None, help="As for run.")
@click.option("--html", "html_path", metavar="FILE", default=None, help="As for run.")
@jobs_option
@dask_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def resume(
    checkpoint: str,
    all_traces: bool,
    json_path: str | None,
    html_path: str | None,
    jobs: int | None,
    dask_address: str | None,
    quiet: bool,
) -> None:
    """Finish the run whose progress FILE keeps (written by run --checkpoint).

    Refuses a checkpoint of another format version or whose scenario changed.
    Exit status as for run.
    """
    from pagerace.cli.options import load
    from pagerace.explore.checkpoint import Progress
    from pagerace.explore.parallel import default_jobs
    from pagerace.runner import RunOptions, scenario_hash

    outputs = plan_outputs(("--json",), json=json_path, html=html_path)
    state = Progress.load(checkpoint)
    about = state.about
    try:
        source, variant = str(about["scenario"]), about["variant"]
        until_expected = bool(about["until_expected"])
        options = RunOptions(**state.options, jobs=jobs or default_jobs())
    except (KeyError, TypeError):
        raise PageraceInputError(f"{checkpoint}: a damaged checkpoint (options)") from None
    sc = load(source)
    state.check(scenario_hash(sc), f"the scenario {source}")
    _explore_and_report(
        sc, options, variant, until_expected, dask_address, quiet, outputs, all_traces, state
    )


@click.command()
@scenario_argument
@click.argument("schedule")
@variant_option
@click.option("--fine-scans", is_flag=True, help="As for run: the schedule must match.")
@click.option("--json", "json_path", metavar="FILE", default=None)
@click.option("--html", "html_path", metavar="FILE", default=None)
def replay(
    scenario: str,
    schedule: str,
    variant: str | None,
    fine_scans: bool,
    json_path: str | None,
    html_path: str | None,
) -> None:
    """Re-run one SCHEDULE (as printed by run) and print its full trace.

    Exit status: 0 the execution is clean, 1 it shows a finding, 2 bad input.
    """
    from pagerace.cli.options import load
    from pagerace.runner import replay_scenario

    outputs = plan_outputs(("--json",), json=json_path, html=html_path)
    sc = load(scenario)
    with discard_on_interrupt(outputs):
        result = replay_scenario(sc, schedule, variant=variant, fine_scans=fine_scans)
    if result.findings:
        _emit(result, True, outputs)
        sys.exit(1)
    if outputs.stdout is None:
        click.echo(
            f"{sc.name} on {result.variant}: schedule {one_line(schedule)} runs to the end,"
            " no finding"
        )
    write_outputs(result, outputs)
    sys.exit(0)


def run_bundled(
    names: Sequence[str], variants: Sequence[str], quiet: bool, outputs: Any
) -> list[Any]:
    """Each named bundled scenario on each variant, with the scenario's [explore]
    settings, until every kind its [expect] names for the variant is found
    (``outputs``: the command's planned result files, removed if interrupted)."""
    from pagerace.cli.options import bundled_scenarios
    from pagerace.cli.progress import ProgressObserver
    from pagerace.runner import run_scenario
    from pagerace.scenario import load_scenario

    bundled = bundled_scenarios()
    runs = []
    for name in names:
        sc = load_scenario(bundled[name])
        for variant in variants:
            options = _options(sc, None, "default", None, None, None, False, False, 3)
            progress = ProgressObserver(f"{name} {variant}", enabled=False if quiet else None)
            try:
                with discard_on_interrupt(outputs):
                    runs.append(
                        run_scenario(
                            sc, options, variant=variant, observers=[progress], until_expected=True
                        )
                    )
            finally:
                progress.close()
    return runs


@click.command()
@click.option(
    "--geometry",
    type=click.Choice(["all", "512", "small"]),
    default="all",
    show_default=True,
    help="Which bundled scenarios: 512 entries, 8 entries, or both.",
)
@click.option(
    "--json",
    "json_path",
    metavar="FILE",
    default=None,
    help="Write every run's result as a JSON list.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def xsa345(geometry: str, json_path: str | None, quiet: bool) -> None:
    """The advisory's races on both variants: a table of findings and times.

    Runs each bundled XSA-345 scenario on xen-4.14 (vulnerable) and xsa-345 (fixed),
    then prints the shortest counterexample in full.  Exit status 0 when every
    scenario's [expect] holds.
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from pagerace.cli.options import bundled_scenarios
    from pagerace.report.json import result_dict
    from pagerace.report.text import format_counterexample

    outputs = plan_outputs(("--json",), json=json_path)
    names = sorted(n for n in bundled_scenarios() if n.startswith("xsa345-"))
    if geometry == "512":
        names = [n for n in names if not n.endswith("-small")]
    elif geometry == "small":
        names = [n for n in names if n.endswith("-small")]
    runs = run_bundled(names, ("xen-4.14", "xsa-345"), quiet, outputs)
    table = Table(title="XSA-345 under pagerace", title_justify="left")
    for col in (
        "scenario",
        "variant",
        "result",
        "finding",
        "executions",
        "seconds",
        "preemptions",
        "expected",
    ):
        table.add_column(
            col, justify="right" if col in ("executions", "seconds", "preemptions") else "left"
        )
    for r in runs:
        first: dict[str, Any] = {}
        for f in r.findings:
            first.setdefault(f.kind, f)
        shown = [k for k in (r.expected or ())] or list(first)
        kinds = ", ".join(k for k in shown if k in first) or "-"
        pre = ", ".join(str(first[k].preemptions) for k in shown if k in first) or "-"
        table.add_row(
            r.scenario.name,
            r.variant,
            r.status,
            kinds,
            f"{r.result.executions:,}",
            f"{r.seconds:.2f}",
            pre,
            "met" if r.meets_expectation else "NOT MET",
        )
    console = Console(width=120)
    console.print(table)
    candidates = [
        (len(f.trace), r, f)
        for r in runs
        for f in r.findings
        if r.expected and f.kind in r.expected
    ]
    if candidates:
        _, r, f = min(candidates, key=lambda c: c[0])
        click.echo(f"\nShortest counterexample: {r.scenario.name} on {r.variant}\n")
        also = [g for g in r.findings if g.schedule == f.schedule and g is not f]
        for line in format_counterexample(
            f,
            source=r.scenario.name,
            variant=r.variant,
            ncpus=len(r.scenario.cpus),
            also=also,
            run=r,
        ):
            click.echo(line)
    if json_path:
        text = json.dumps([result_dict(r) for r in runs], indent=1) + "\n"
        if json_path == "-":
            click.echo(text, nl=False)
        else:
            write_atomic(json_path, text)
    ok = all(r.meets_expectation for r in runs)
    sys.exit(0 if ok else 1)
