"""pagerace.testing and the pytest plugin: failing tests read well, replay exactly,
and the plugin's options act."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pagerace.errors import PageraceInputError
from pagerace.explore import Context, OptionError, explore
from pagerace.testing import SCHEDULE_ENV, assert_clean, explores, format_finding, settings


def _racy(ctx: Context) -> Any:
    x = ctx.cell("x", 0)

    def worker() -> None:
        x.store(x.load() + 1)

    def check() -> None:
        ctx.check(x.peek() == 2, f"lost increment: x = {x.peek()}")

    return [worker, worker], check


def test_a_finding_reads_with_each_value_and_label_once() -> None:
    finding = explore(_racy).findings[0]
    text = format_finding(finding)
    lines = text.splitlines()
    assert lines[0] == "assert: lost increment: x = 1 (in the check)"
    assert lines[1] == f"  1 preemption, 4 steps; replay with PAGERACE_SCHEDULE={finding.schedule}"
    assert lines[2:] == [
        "     0 T0 load x = 0",
        "       --- preemption: T0 -> T1 ---",
        "     1     T1 load x = 0",
        "     2     T1 store x = 1",
        "     3 T0 store x = 1",
        f"  PAGERACE_SCHEDULE={finding.schedule}",
    ]


def test_explores_fails_with_the_readable_trace_and_the_schedule() -> None:
    @explores()
    def test_counter(ctx: Context) -> Any:
        return _racy(ctx)

    with pytest.raises(AssertionError) as info:
        test_counter()
    message = str(info.value)
    assert message.startswith("1 finding in test_counter\nassert: lost increment: x = 1")
    assert "PAGERACE_SCHEDULE=v1:" in message.splitlines()[-1]


def test_the_schedule_variable_replays_exactly_that_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    @explores()
    def test_counter(ctx: Context) -> Any:
        seen.append(1)
        return _racy(ctx)

    schedule = explore(_racy).findings[0].schedule
    monkeypatch.setenv(SCHEDULE_ENV, schedule)
    with pytest.raises(AssertionError, match=schedule):
        test_counter()
    # one execution (the replay), run once more with its trace recorded
    assert len(seen) == 2
    monkeypatch.setenv(SCHEDULE_ENV, "v1:0x2.1x2")  # a serial order: no finding
    test_counter()


def test_a_clean_program_passes_and_fixtures_pass_through() -> None:
    @explores(strategy="dfs")
    def test_locked(ctx: Context, amount: int) -> Any:
        x = ctx.cell("x", 0)
        lock = ctx.lock("L")

        def worker() -> None:
            with lock:
                x.store(x.load() + amount)

        def check() -> None:
            ctx.check(x.peek() == 2 * amount, "lost")

        return [worker, worker], check

    import inspect

    assert list(inspect.signature(test_locked).parameters) == ["amount"]
    test_locked(amount=3)


def test_bad_options_are_refused_at_decoration_with_the_shared_message() -> None:
    with pytest.raises(OptionError, match=r"^preemption_bound: must be >= 0; got -1$"):
        explores(preemption_bound=-1)


def test_a_cut_search_is_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "max_executions", 1)

    @explores()
    def test_locked(ctx: Context) -> Any:
        x = ctx.cell("x", 0)
        lock = ctx.lock("L")

        def worker() -> None:
            with lock:
                x.store(x.load() + 1)

        return [worker, worker], None

    with pytest.raises(AssertionError, match="clean not established: 1 execution, cut by the"):
        test_locked()


def test_assert_clean_passes_a_clean_scenario_and_shows_a_forbidden_finding() -> None:
    run = assert_clean("xsa345-r1-small", variant="xsa-345")
    assert run.result.status == "clean"
    with pytest.raises(AssertionError) as info:
        assert_clean("xsa345-r2a-small", variant="xen-4.14", forbid=["double-free"])
    message = str(info.value)
    assert message.startswith(
        "xsa345-r2a-small on xen-4.14: expected no double-free -- NOT met (found double-free"
    )
    assert "!!  double-free: CPU" in message
    assert "replay: pagerace replay xsa345-r2a-small v1:" in message
    assert f"{SCHEDULE_ENV}=v1:" in message


def test_assert_clean_tolerates_what_is_not_forbidden_and_fails_an_incomplete_run() -> None:
    run = assert_clean("xsa345-r2a-small", variant="xen-4.14", forbid=["leak"])
    assert "double-free" in run.kinds  # found, but not forbidden
    with pytest.raises(AssertionError, match="not established"):
        assert_clean("xsa345-r2a-small", variant="xsa-345", max_executions=2)


def _pytest(tmp_path: Path, test: str, *args: str, env: dict[str, str] | None = None) -> Any:
    import os

    (tmp_path / "test_it.py").write_text(textwrap.dedent(test))
    # (--rootdir: a setup.py or an ini file above tmp_path would otherwise move it)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", "."]
    return subprocess.run(
        [*command, *args, "test_it.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


RACY_TEST = """
    from pagerace.testing import explores

    @explores()
    def test_counter(ctx):
        x = ctx.cell("x", 0)
        def worker():
            x.store(x.load() + 1)
        def check():
            ctx.check(x.peek() == 2, "lost increment")
        return [worker, worker], check
"""


def test_pytest_shows_the_trace_and_the_replay_line(tmp_path: Path) -> None:
    p = _pytest(tmp_path, RACY_TEST)
    assert p.returncode == 1
    assert "assert: lost increment (in the check)" in p.stdout
    assert "PAGERACE_SCHEDULE=v1:" in p.stdout
    schedule = p.stdout.split("PAGERACE_SCHEDULE=")[-1].split()[0]
    q = _pytest(tmp_path, RACY_TEST, env={"PAGERACE_SCHEDULE": schedule})
    assert q.returncode == 1 and schedule in q.stdout


def test_the_plugin_caps_executions_and_writes_html_reports(tmp_path: Path) -> None:
    test = """
        from pagerace.testing import assert_clean

        def test_fixed():
            assert_clean("xsa345-r2a-small", variant="xsa-345")

        def test_vulnerable():
            assert_clean("xsa345-r2a-small", variant="xen-4.14")
    """
    p = _pytest(tmp_path, test, "--pagerace-html", "reports")
    assert p.returncode == 1, p.stdout
    assert "1 failed, 1 passed" in p.stdout
    reports = sorted(x.name for x in (tmp_path / "reports").iterdir())
    assert reports == ["test_it.py_test_vulnerable.html"]
    assert "<html" in (tmp_path / "reports" / reports[0]).read_text()
    q = _pytest(tmp_path, test, "--pagerace-max-executions", "1")
    assert "2 failed" in q.stdout and "not established" in q.stdout
    for bad, reason in [
        ("zero", "zero is not a whole number (digits 0-9 only)"),
        ("\uff11", "\uff11 is not a whole number (digits 0-9 only)"),
        ("+5", "+5 is not a whole number (digits 0-9 only)"),
        ("0", "0 is outside 1..1,000,000,000,000"),
        ("9" * 13, f"{'9' * 13} is outside 1..1,000,000,000,000"),
    ]:
        r = _pytest(tmp_path, test, "--pagerace-max-executions", bad)
        assert r.returncode == 4
        assert f"--pagerace-max-executions: {reason}" in r.stderr, r.stderr


def test_a_reported_finding_is_marked_where_it_was_made() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def worker() -> None:
            x.store(1)
            ctx.report("odd", "x was set")
            x.store(2)

        return [worker], None

    (finding,) = explore(program).findings
    lines = format_finding(finding).splitlines()
    assert lines[0] == "odd: x was set (in thread 0)"
    assert lines[2:5] == ["     0 T0 store x = 1", "  !!  odd: x was set", "     1 T0 store x = 2"]


def test_a_pagerace_html_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    p = _pytest(tmp_path, RACY_TEST, "--pagerace-html", "taken")
    assert p.returncode == 4, p.stdout
    assert "INTERNALERROR" not in p.stdout + p.stderr
    assert "--pagerace-html: taken exists and is not a directory" in p.stderr


def test_a_report_that_cannot_be_written_leaves_the_test_failing_as_it_did(
    tmp_path: Path,
) -> None:
    test = """
        from pagerace.testing import assert_clean

        def test_vulnerable():
            assert_clean("xsa345-r2a-small", variant="xen-4.14")
    """
    (tmp_path / "taken").write_text("")
    p = _pytest(tmp_path, test, "--pagerace-html", "taken/reports")
    assert p.returncode == 1, p.stdout
    assert "INTERNALERROR" not in p.stdout + p.stderr
    assert "1 failed" in p.stdout and "HTML report not written: taken/reports: " in p.stdout


@pytest.mark.parametrize(
    ("forbid", "message"),
    [
        (
            ["use-after-fre"],
            "forbid: unknown finding kind 'use-after-fre' (did you mean use-after-free?)",
        ),
        ("leak", "forbid: a list of finding kinds, not a string; got 'leak'"),
    ],
)
def test_assert_clean_refuses_a_forbid_list_that_would_forbid_nothing(
    forbid: Any, message: str
) -> None:
    # (both would pass the vulnerable variant, where race 2's use-after-free is found)
    with pytest.raises(PageraceInputError, match="^" + re.escape(message)):
        assert_clean("xsa345-r2a-small", variant="xen-4.14", forbid=forbid)


def test_explores_refuses_an_unknown_option_as_explore_does() -> None:
    with pytest.raises(OptionError, match=r"^bogus: not an option of explore\(\); known: "):
        explores(bogus=1)
