"""``pagerace run``, ``replay`` and ``xsa345``: explore scenarios and report."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click

from pagerace.cli.options import (
    dask_option,
    jobs_option,
    processes_option,
    scenario_argument,
    variant_option,
)
from pagerace.cli.outputs import discard_on_interrupt, write_outputs
from pagerace.errors import Interrupted, PageraceInputError
from pagerace.userio import check_output_path, one_line, plan_outputs, write_atomic

__all__ = ["replay", "run", "run_bundled", "xsa345"]

EXIT = {"clean": 0, "found": 1, "incomplete": 3}


def _options(sc: Any, **flags: Any) -> Any:
    """The run's options: the flags given (text, as typed) over the scenario's
    [explore] over the defaults, by the rules every face shares; a bad one is one
    line naming the flag."""
    from pagerace.explore.options import OptionError, check_search_strategy, from_text
    from pagerace.runner import run_options

    given: dict[str, Any] = {}
    for name, value in flags.items():
        given[name] = from_text(name, value) if isinstance(value, str) else value
    try:
        if given.get("strategy") is not None:
            check_search_strategy(given["strategy"])
        return run_options(sc, **given)
    except OptionError as exc:
        raise PageraceInputError(f"--{exc.field.replace('_', '-')}: {exc.reason}") from None


@contextlib.contextmanager
def _executor(dask_address: str | None) -> Iterator[Any]:
    """The Dask executor asked for, or None (worker processes, per ``--jobs``)."""
    if dask_address is None:
        yield None
        return
    from pagerace.explore.cluster import dask_executor

    with dask_executor(dask_address) as executor:
        yield executor


def _summary(run: Any) -> list[str]:
    from pagerace.report.text import coverage_text

    r = run.result
    status = run.status
    kinds = ", ".join(run.kinds)
    lines = [
        f"{run.scenario.name} on {run.variant}: {status}"
        + (f" ({kinds})" if kinds else "")
        + f" after {r.executions:,} execution{'s' if r.executions != 1 else ''}"
        + (
            f" ({r.stats.resumed_executions:,} of them from the checkpoint)"
            if r.stats.resumed_executions
            else ""
        )
        + f" in {run.seconds:.2f} s ({run.options.strategy}, {run.options.describe()})"
    ]
    lines.append(f"coverage: {coverage_text(r)}")
    if run.caller_faults_only:
        lines.append(
            "only violations of a caller's precondition (two CPUs changing the same page at"
            " once, or a range that is not mapped): no fault of the hypervisor code"
        )
    for check, why in run.checks_skipped:
        lines.append(f"check skipped: {check}: {why}")
    if status == "incomplete":
        lines.append("incomplete: " + "; ".join(run.incomplete_reasons))
    verdict = run.verdict
    if verdict is not None:
        why = f" ({verdict.reason})" if verdict.reason else ""
        lines.append(f"expected: {run.expected.describe()} -- {verdict.status}{why}")
    return lines


def _emit(run: Any, all_traces: bool, outputs: Any) -> None:
    if outputs.stdout is None:
        _print(run, all_traces)
    write_outputs(run, outputs)


def _print(run: Any, all_traces: bool) -> None:
    from pagerace.report.groups import group_findings
    from pagerace.report.text import finding_title, format_counterexample, replay_command

    for line in _summary(run):
        click.echo(line)
    # findings of one execution share its schedule: one trace shows all of them
    by_schedule: dict[str, list[Any]] = {}
    for f in run.findings:
        by_schedule.setdefault(f.schedule, []).append(f)

    shown: set[str] = set()

    def trace(f: Any) -> None:
        if f.schedule in shown:  # its execution's trace is already printed
            click.echo(f"{finding_title(f, run)}: {f.message}")
            click.echo(
                "  found in an execution shown above; replay: "
                + replay_command(
                    run.scenario.source, f.schedule, run.variant, fine_scans=run.options.fine_scans
                )
            )
            return
        shown.add(f.schedule)
        for line in format_counterexample(
            f,
            source=run.scenario.source,
            variant=run.variant,
            ncpus=len(run.scenario.cpus),
            also=[g for g in by_schedule[f.schedule] if g is not f],
            run=run,
        ):
            click.echo(line)

    required = run.expected.require if run.expected is not None else ()
    groups = group_findings(run.findings, required)
    if len(run.findings) > 1:
        click.echo(
            f"\n{len(run.findings)} distinct findings in {len(groups)} group"
            f"{'s' if len(groups) != 1 else ''} (kind and object); one trace per group,"
            " each execution's trace printed once"
            + (" (every finding's with --all-traces)" if not all_traces else "")
            + ":"
        )
        for g in groups:
            click.echo(f"  {g.title()}")
    for g in groups:
        click.echo("")
        if len(run.findings) > 1:
            click.echo(f"== {g.title()}")
        for k, f in enumerate(g.findings):
            if k == 0 or all_traces:
                if k:
                    click.echo("")
                trace(f)


@click.command()
@scenario_argument
@variant_option
@click.option(
    "--strategy",
    metavar="dpor|dfs|random|pct",
    default=None,
    help="Search strategy (default: the scenario's, else dpor).",
)
@click.option(
    "--preemption-bound",
    "bound",
    metavar="K|iterative|none",
    default=None,
    help="At most K preemptions per execution; dpor/dfs explore bounds 0, 1, ..., K in "
    "turn so that the first counterexample has the fewest preemptions; 'iterative' has no "
    "cap (dpor/dfs), 'none' no bound (default: the scenario's, else iterative on "
    "dpor/dfs, none on random/pct).",
)
@click.option(
    "--max-executions",
    metavar="N|none",
    default=None,
    help="Stop after N executions (default: the scenario's, else 1,000,000).",
)
@click.option(
    "--time-limit",
    metavar="S|none",
    default=None,
    help="Stop after S seconds (default: the scenario's, else 300).",
)
@click.option("--seed", metavar="N", default=None, help="random/pct seed (default 0).")
@click.option("--pct-depth", metavar="D", default=None, help="pct bug depth (default 3).")
@click.option(
    "--keep-going",
    is_flag=True,
    help="Collect every distinct finding instead of stopping at the first.",
)
@click.option(
    "--until-expected/--first-finding",
    default=True,
    show_default=True,
    help="With [expect] for the variant: go on past the first finding until the "
    "expectation is decided; --first-finding stops at the first.",
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
    help="Keep the search's progress in FILE (written every few seconds and on Ctrl-C; "
    "dpor/dfs, and random/pct with a budget; long units keep theirs in FILE.units/); "
    "'pagerace resume FILE' finishes the run.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    scenario: str,
    variant: str | None,
    strategy: str | None,
    bound: str | None,
    max_executions: str | None,
    time_limit: str | None,
    seed: str | None,
    pct_depth: str | None,
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

    if keep_going and not until_expected:
        raise PageraceInputError(
            "--keep-going and --first-finding: give one or the other (one collects every"
            " finding, the other stops at the first)"
        )
    outputs = plan_outputs(("--json",), json=json_path, html=html_path)
    sc = load(scenario)
    options = _options(
        sc,
        strategy=strategy,
        preemption_bound=bound,
        max_executions=max_executions,
        time_limit=time_limit,
        seed=seed,
        pct_depth=pct_depth,
        keep_going=keep_going or None,
        fine_scans=fine_scans or None,
        until_expected=until_expected,
        jobs=jobs,
    )
    if options.jobs is None:
        from dataclasses import replace

        from pagerace.explore.executors import default_jobs

        options = replace(options, jobs=default_jobs())  # work units, all cores
    state = None
    if checkpoint_path is not None:
        from pagerace.explore.checkpoint import Progress
        from pagerace.runner import scenario_hash, splits

        if not splits(options):
            raise PageraceInputError(
                "--checkpoint: only with strategy dpor or dfs, or random or pct with an"
                " execution budget"
            )
        check_output_path(checkpoint_path, "--checkpoint")
        outputs.check_apart("--checkpoint", checkpoint_path)
        # (a file by its absolute path: resume may run in another directory)
        source = os.path.abspath(scenario) if os.path.lexists(scenario) else scenario
        about = {"scenario": source, "variant": variant, "until_expected": until_expected}
        state = Progress(checkpoint_path, about, scenario_hash(sc), _options_data(options))
    _explore_and_report(sc, options, variant, dask_address, quiet, outputs, all_traces, state)


def _options_data(options: Any) -> dict[str, Any]:
    from dataclasses import fields

    data = {f.name: getattr(options, f.name) for f in fields(options)}
    data.pop("jobs", None)  # (the result does not depend on it)
    return data


def _explore_and_report(
    sc: Any,
    options: Any,
    variant: str | None,
    dask_address: str | None,
    quiet: bool,
    outputs: Any,
    all_traces: bool,
    state: Any,
) -> None:
    from pagerace.cli.progress import ProgressObserver
    from pagerace.runner import run_scenario

    label = f"{sc.name} on {variant or sc.variant}"
    progress = ProgressObserver(label, enabled=False if quiet else None)
    interrupted = False
    with _executor(dask_address) as executor:
        try:
            with discard_on_interrupt(outputs):
                try:
                    result = run_scenario(
                        sc,
                        options,
                        variant=variant,
                        observers=[progress],
                        executor=executor,
                        state=state,
                    )
                except KeyboardInterrupt:
                    if state is not None:
                        state.save()
                        click.echo(f"pagerace: progress kept in {state.path}", err=True)
                    raise
        except Interrupted as exc:  # Ctrl-C: keep and report what was found so far
            if exc.run is None:
                raise
            result, interrupted = exc.run, True
        finally:
            progress.close()
    _emit(result, all_traces, outputs)
    if interrupted:
        click.echo("pagerace: interrupted; the findings above are those found so far", err=True)
        sys.exit(130)
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
    from pagerace.explore.executors import default_jobs
    from pagerace.runner import RunOptions, scenario_hash

    outputs = plan_outputs(("--json",), json=json_path, html=html_path)
    outputs.check_apart("the checkpoint", checkpoint)
    state = Progress.load(checkpoint)
    about = state.about
    try:
        source, variant = about["scenario"], about["variant"]
        until_expected = about["until_expected"]
        kept = set(RunOptions.field_names()) - {"jobs"}
        if (
            not isinstance(source, str)
            or not (variant is None or isinstance(variant, str))
            or not isinstance(until_expected, bool)
            or set(state.options) != kept
        ):
            raise TypeError
        options = RunOptions(
            **{**state.options, "until_expected": until_expected}, jobs=jobs or default_jobs()
        )
    except (KeyError, TypeError):
        raise PageraceInputError(f"{checkpoint}: a damaged checkpoint (options)") from None
    sc = load(source)
    state.check(scenario_hash(sc), f"the scenario {source}")
    if not quiet:
        done, states, executions = state.kept()
        going_on = (
            f"; {states} unit{'s' if states != 1 else ''} go{'es' if states == 1 else ''} on"
            f" from {executions:,} executions kept in {state.units_dir}"
            if states
            else ""
        )
        units = f"{done:,} unit{'s' if done != 1 else ''} done"
        click.echo(f"pagerace: resuming {checkpoint}: {units}{going_on}", err=True)
    _explore_and_report(sc, options, variant, dask_address, quiet, outputs, all_traces, state)


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
    names: Sequence[str],
    variants: Sequence[str],
    quiet: bool,
    outputs: Any,
    jobs: int | None = None,
) -> list[Any]:
    """Each named bundled scenario on each variant, with the scenario's [explore]
    settings, until what its [expect] says of the variant is decided
    (``outputs``: the command's planned result files, removed if interrupted).

    The runs are spread over ``jobs`` worker processes (None: every core), one run
    per process at a time; each is the run one process gives (the same executions
    and findings), taken in order.  With one job they run here, with a progress line."""
    from pagerace.explore.executors import default_jobs, open_executor

    tasks = [(name, variant) for name in names for variant in variants]
    jobs = min(default_jobs() if jobs is None else jobs, len(tasks))
    runs = []
    with discard_on_interrupt(outputs), open_executor(jobs) as executor:
        futures = [executor.submit(_bundled_run, *task, quiet or jobs > 1) for task in tasks]
        for future in futures:
            runs.append(_run_of(*future.result()))
    return runs


def _bundled_run(name: str, variant: str, quiet: bool) -> tuple[str, str, Any, float]:
    """One bundled scenario's run (in a worker process): its result and seconds."""
    from pagerace.cli.options import bundled_scenarios
    from pagerace.cli.progress import ProgressObserver
    from pagerace.runner import run_scenario
    from pagerace.scenario import load_scenario

    sc = load_scenario(bundled_scenarios()[name])
    progress = ProgressObserver(f"{name} {variant}", enabled=False if quiet else None)
    try:
        # [explore] over the defaults, until the expectation is decided
        run = run_scenario(sc, variant=variant, observers=[progress])
    finally:
        progress.close()
    return name, variant, run.result, run.seconds


def _run_of(name: str, variant: str, result: Any, seconds: float) -> Any:
    """The ``ScenarioRun`` of a bundled run made elsewhere (prepared again here)."""
    from pagerace.cli.options import bundled_scenarios
    from pagerace.runner import ScenarioRun, prepare, run_options
    from pagerace.scenario import load_scenario

    sc = load_scenario(bundled_scenarios()[name])
    p = prepare(sc, variant)
    return ScenarioRun(sc, p.variant, run_options(sc), result, p, seconds, sc.expected(p.variant))


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
    help="Write every run's result as a JSON list ('-' for stdout: the JSON alone).",
)
@processes_option(
    "Worker processes, each running one scenario at a time (default: every core; "
    "the results do not depend on N)."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def xsa345(geometry: str, json_path: str | None, jobs: int | None, quiet: bool) -> None:
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
    runs = run_bundled(names, ("xen-4.14", "xsa-345"), quiet, outputs, jobs)
    ok = all(r.meets_expectation for r in runs)
    if json_path == "-":  # the JSON alone on standard output, for a pipe
        click.echo(json.dumps([result_dict(r) for r in runs], indent=1))
        sys.exit(0 if ok else 1)
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
        # every kind found, each with the fewest preemptions it needed
        fewest = {k: min(f.preemptions for f in r.findings if f.kind == k) for k in first}
        kinds = ", ".join(first) or "-"
        pre = ", ".join(str(fewest[k]) for k in first) or "-"
        verdict = r.verdict
        table.add_row(
            r.scenario.name,
            r.variant,
            r.status,
            kinds,
            f"{r.result.executions:,}",
            f"{r.seconds:.2f}",
            pre,
            verdict.status if verdict is not None else "-",
        )
    console = Console(width=150)
    console.print(table)
    candidates = [
        (len(f.trace), r, f)
        for r in runs
        for f in r.findings
        if r.expected is not None and f.kind in r.expected.require
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
        write_atomic(json_path, json.dumps([result_dict(r) for r in runs], indent=1) + "\n")
    sys.exit(0 if ok else 1)
