"""pagerace in a test suite: ``explores`` for your own programs, ``assert_clean`` for
scenarios, and ``format_finding`` for readable failures (docs/testing.md).

``@explores(**options)`` turns ``def test_x(ctx): ...; return threads, check`` into a
test that explores every interleaving of ``threads`` (``options`` are those of
``explore()``: ``ExploreOptions``' fields).  On a finding the test fails with an
``AssertionError`` that holds the check's message, the execution step by step, the
preemptions and a line ``PAGERACE_SCHEDULE=<schedule>``; run the test again with that
environment variable set and it replays exactly that schedule.  A search cut short by
its budget (with dpor or dfs) fails too, as "not established": a test passes only
when the search covered its space and found nothing.  Other arguments of the test
function are pytest fixtures, as usual.

``assert_clean(scenario, variant=..., forbid=[...], **options)`` runs a scenario (a
bundled name or a path) and raises ``AssertionError`` with the readable counterexample
when a forbidden kind is found (default: any kind) or the run is incomplete;
``options`` are those of ``pagerace run`` (``RunOptions``' fields).  It returns the
run when the scenario is clean.

The pytest plugin (``pagerace.pytest_plugin``, loaded by pytest once pagerace is
installed) adds ``--pagerace-max-executions N`` (a cap on every exploration's
executions) and ``--pagerace-html DIR`` (the HTML report of each failing
``assert_clean``); they act through ``settings``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: the pytest plugin imports this module at start-up
    from pagerace.explore import ExploreOptions, Result

__all__ = [
    "SCHEDULE_ENV",
    "Settings",
    "assert_clean",
    "explores",
    "format_finding",
    "format_findings",
    "settings",
]

#: The environment variable that makes an ``@explores`` test replay one schedule.
SCHEDULE_ENV = "PAGERACE_SCHEDULE"


@dataclass
class Settings:
    """Suite-wide settings (the pytest plugin sets them from its options)."""

    #: cap on the executions of every exploration (None: the test's own budget)
    max_executions: int | None = None
    #: folder for the HTML report of each failing ``assert_clean`` (None: none)
    html_dir: Path | None = None
    #: the scenario run of the last failing ``assert_clean`` (for the HTML report)
    failed_run: Any = None


settings = Settings()


def _capped(max_executions: int | None) -> int | None:
    cap = settings.max_executions
    if cap is None:
        return max_executions
    return cap if max_executions is None else min(cap, max_executions)


def format_finding(finding: Any, *, env: str = SCHEDULE_ENV) -> str:
    """A finding of ``explore()`` as text (``pagerace.report.findings``)."""
    from pagerace.report import findings

    return findings.format_finding(finding, env=env)


def format_findings(found: Any, *, env: str = SCHEDULE_ENV) -> str:
    """Every finding, first to last (``pagerace.report.findings``)."""
    from pagerace.report import findings

    return findings.format_findings(found, env=env)


def _explore_result(program: Callable[[Any], Any], options: ExploreOptions) -> Result:
    from pagerace.explore import explore

    schedule = os.environ.get(SCHEDULE_ENV, "").strip()
    if schedule:
        return explore(program, strategy="replay", schedule=schedule)
    return explore(program, options, max_executions=_capped(options.max_executions))


def explores(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Decorator: the test explores the program it defines (see the module docstring).
    Bad options raise ``OptionError`` when the test module is imported."""
    from pagerace.explore import EXHAUSTIVE, ExploreOptions, OptionError, Status
    from pagerace.report.text import coverage_text

    unknown = sorted(set(options) - set(ExploreOptions.field_names()))
    if unknown:  # (as explore() says it)
        raise OptionError(
            unknown[0],
            f"not an option of explore(); known: {', '.join(ExploreOptions.field_names())}",
        )
    opts = ExploreOptions(**options)

    def decorate(fn: Callable[..., Any]) -> Callable[..., None]:
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        if not params:
            raise TypeError(f"{fn.__name__}: an @explores test takes ctx as its first argument")

        def test(*args: Any, **fixtures: Any) -> None:
            def program(ctx: Any) -> Any:
                return fn(ctx, *args, **fixtures)

            result = _explore_result(program, opts)
            if result.findings:
                raise AssertionError(
                    f"{len(result.findings)} finding"
                    f"{'s' if len(result.findings) != 1 else ''} in {fn.__name__}\n"
                    + format_findings(result.findings, env=SCHEDULE_ENV)
                )
            if result.status is Status.INCOMPLETE and result.strategy in EXHAUSTIVE:
                raise AssertionError(
                    f"{fn.__name__}: clean not established: {coverage_text(result)}"
                    " (raise max_executions or time_limit)"
                )

        test.__name__ = fn.__name__
        test.__qualname__ = fn.__qualname__
        test.__module__ = fn.__module__
        test.__doc__ = fn.__doc__
        # pytest asks for the fixtures named here: the test's arguments after ctx
        test.__signature__ = signature.replace(parameters=params[1:])  # type: ignore[attr-defined]
        test.pagerace_options = opts  # type: ignore[attr-defined]
        return test

    return decorate


def _kinds(forbid: Iterable[str]) -> tuple[str, ...]:
    """``forbid`` checked as ``[expect]``'s lists are: a misspelt kind would forbid
    nothing, and the test would pass whatever the run found."""
    from pagerace.errors import PageraceInputError
    from pagerace.scenario import FINDING_KINDS
    from pagerace.userio import did_you_mean, one_line

    if isinstance(forbid, str):
        raise PageraceInputError(f"forbid: a list of finding kinds, not a string; got {forbid!r}")
    kinds = tuple(forbid)
    for kind in kinds:
        if kind not in FINDING_KINDS:
            hint = did_you_mean(str(kind), FINDING_KINDS)
            raise PageraceInputError(
                f"forbid: unknown finding kind {one_line(repr(kind))}{hint};"
                f" known: {', '.join(FINDING_KINDS)}"
            )
    return kinds


def assert_clean(
    scenario: str | Path,
    *,
    variant: str | None = None,
    forbid: Iterable[str] | None = None,
    **options: Any,
) -> Any:
    """Run ``scenario`` and raise ``AssertionError`` if a kind in ``forbid`` (default:
    every kind) is found or the run is incomplete; return the run otherwise."""
    from pagerace.cli.options import load
    from pagerace.report.text import coverage_text, format_counterexample
    from pagerace.runner import replay_scenario, run_options, run_scenario
    from pagerace.scenario import Expectation

    sc = load(str(scenario))
    expect = Expectation(allow=()) if forbid is None else Expectation(forbid=_kinds(forbid))
    schedule = os.environ.get(SCHEDULE_ENV, "").strip()
    if schedule:
        fine_scans = bool(options.get("fine_scans"))  # (the schedule fits only alike)
        run = replay_scenario(sc, schedule, variant=variant, fine_scans=fine_scans)
        run.expected = expect
    else:
        opts = run_options(sc, **options)
        if settings.max_executions is not None:
            opts = run_options(sc, **{**options, "max_executions": _capped(opts.max_executions)})
        run = run_scenario(sc, opts, variant=variant, expect=expect)
    verdict = run.verdict
    assert verdict is not None
    if verdict.met or (schedule and not run.findings):
        return run
    settings.failed_run = run
    lines = [
        f"{sc.name} on {run.variant}: expected {expect.describe()} -- {verdict.status}"
        f" ({verdict.reason})",
        f"coverage: {coverage_text(run.result)}",
    ]
    for f in run.findings:
        if expect.forbids(f.kind):
            lines.append("")
            lines.extend(
                format_counterexample(f, source=sc.source, variant=run.variant, ncpus=len(sc.cpus))
            )
            lines.append(f"  or: {SCHEDULE_ENV}={f.schedule}")
            break
    raise AssertionError("\n".join(lines))
