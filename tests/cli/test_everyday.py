"""What a user meets every day: runs that meet their scenario's expectation, say what
they covered, end, keep their findings on Ctrl-C, and findings grouped to read."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pagerace.cli.options import bundled_scenarios
from pagerace.cli.progress import ProgressObserver, status_text
from pagerace.explore import Stats
from pagerace.explore.progress import Progress
from pagerace.report.groups import group_findings
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

# Three CPUs racing map/destroy, map/modify and populate over one 2 MiB region: many
# findings at bound 1, and the search grows without end (bound after bound).
BIG = """name = "big"
variant = "xen-4.14"
entries = 8

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP"
mfn = "0"
nr = "L2_PAGES"
flags = "PAGE_HYPERVISOR"
[[cpus.ops]]
op = "destroy"
s = "DIRECTMAP"
e = "DIRECTMAP + L2_SPAN"

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP"
mfn = "L2_PAGES"
nr = "L2_PAGES"
flags = "PAGE_HYPERVISOR"
[[cpus.ops]]
op = "modify"
s = "DIRECTMAP"
e = "DIRECTMAP + L2_SPAN"
nf = "PAGE_HYPERVISOR_RO"

[[cpus]]
ops = [ { op = "populate", virt = "DIRECTMAP + L2_SPAN", nr = "L2_PAGES" } ]
"""


def pagerace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args], capture_output=True, text=True, check=False
    )


def test_the_readme_run_meets_its_expectation_although_another_kind_comes_first() -> None:
    p = pagerace("run", "xsa345-r2a-small")
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith(
        "xsa345-r2a-small on xen-4.14: found (use-after-free, double-free) after"
    )
    assert lines[1].startswith("coverage: bound 0 complete: clean; bound 1")
    assert lines[1].endswith("stopped once the expectation was decided")
    assert lines[2] == "expected: double-free -- met"
    # the expected kind's trace comes first
    assert "== double-free on frame" in p.stdout
    assert p.stdout.index("== double-free") < p.stdout.index("== use-after-free")


SMALL = sorted(n for n in bundled_scenarios() if n.endswith("-small"))


@pytest.mark.parametrize("name", SMALL)
def test_every_small_bundled_scenario_meets_its_expectation_on_every_variant(name: str) -> None:
    sc = load_scenario(bundled_scenarios()[name])
    assert sc.expect
    for variant in sc.expect:
        run = run_scenario(sc, variant=variant)
        assert run.verdict is not None
        assert run.verdict.met, (variant, run.verdict, run.kinds, run.result.coverage)


def test_xsa345_shows_every_kind_found_and_meets_every_expectation() -> None:
    p = pagerace("xsa345", "--geometry", "small")
    assert p.returncode == 0, p.stdout
    row = next(ln for ln in p.stdout.splitlines() if "xsa345-r2a-small" in ln and "4.14" in ln)
    assert "use-after-free, double-free" in row
    assert "1, 1" in row  # the fewest preemptions of each kind
    assert "NOT met" not in p.stdout and "not established" not in p.stdout


def test_keep_going_ends_groups_its_findings_and_states_its_coverage(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(BIG)
    p = pagerace("run", str(path), "--keep-going", "--max-executions", "400", "-q")
    assert p.returncode == 1
    lines = p.stdout.splitlines()
    assert lines[1].startswith("coverage: bound 0 complete: clean; bound 1 complete, ")
    assert lines[1].endswith(" executions, cut by the execution limit") or "bound 2" in lines[1]
    assert "distinct findings in" in p.stdout
    titles = [ln for ln in lines if ln.startswith("== ")]
    uaf = [t for t in titles if t.startswith("== use-after-free on frame 0x1000002, an L2")]
    assert len(uaf) == 1 and "findings at " in uaf[0]  # one group, many steps
    assert len(titles) < int(p.stdout.split(" distinct findings")[0].split()[-1])


def test_ctrl_c_keeps_prints_and_writes_everything_found_so_far(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(BIG)
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagerace", "run", str(path), "--keep-going", "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout.splitlines()[1]  # the coverage line
    assert stderr.strip().endswith(
        "pagerace: interrupted; the findings above are those found so far"
    )
    data = json.loads(out.read_text())
    assert data["status"] in ("found", "incomplete")
    assert data["coverage"]["stopped_by"] == "interrupted"


def test_a_time_limit_keeps_the_findings_and_says_the_verdict_is_not_established(
    tmp_path: Path,
) -> None:
    sc = load_scenario(bundled_scenarios()["xsa345-r2a-small"])
    run = run_scenario(sc, RunOptions(max_executions=2), variant="xen-4.14")
    assert run.kinds == []
    assert run.verdict is not None
    assert run.verdict.status == "not established"
    fixed = run_scenario(sc, RunOptions(max_executions=2), variant="xsa-345")
    assert fixed.verdict is not None and fixed.verdict.status == "not established"


def _progress(bound: int | None, frontier: int | None, done: float | None) -> Progress:
    stats = Stats(1234, 0, 0, 12.0, 102.8, 0, True, bound, None, 0)
    return Progress(stats, bound, frontier, done)


def test_without_a_terminal_a_status_line_is_written_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pagerace.cli.progress as progress

    monkeypatch.setattr(progress, "STATUS_SECONDS", 0.0)
    stream = io.StringIO()
    watch = ProgressObserver("big on xen-4.14", stream=stream)
    watch.next_status = 0.0
    watch.on_progress(_progress(2, 17, 0.4))
    watch.on_progress(_progress(2, 15, 0.5))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("pagerace: big on xen-4.14: 1,234 executions (103/s), bound 2,")
    assert "frontier 17, ~40% of the bound done" in lines[0]
    quiet = io.StringIO()
    ProgressObserver("x", enabled=False, stream=quiet).on_progress(_progress(2, 1, 0.1))
    assert quiet.getvalue() == ""


def test_a_status_line_estimates_the_time_left_only_when_it_can() -> None:
    assert "left at this rate (estimate)" in status_text(_progress(1, 3, 0.5), 0, 10.0)
    text = status_text(_progress(3, 900, 0.0001), 2, 10.0)
    assert "<1% of the bound done" in text and "left" not in text
    assert status_text(_progress(None, None, None), 1, 10.0) == (
        "1,234 executions (103/s), 1 finding, 12 s"
    )


def test_a_split_search_status_line_puts_the_findings_before_the_estimate() -> None:
    from pagerace.cli.progress import units_text
    from pagerace.explore.parallel import UnitProgress

    p = UnitProgress(2, 5, 32, 10105, 893.4, 27, 48000, 2, False, 2)
    assert units_text(p, 2) == (
        "10,105 executions (893/s), 2 findings, bound 2: 5/32 units (2 running),"
        " ~48,000 executions to go (estimate)"
    )
    one = UnitProgress(None, 31, 32, 39, 30.0, 1, 1, 1, False, 0)
    assert units_text(one, 1) == (
        "39 executions (30/s), 1 finding, no bound: 31/32 units, ~1 execution to go (estimate)"
    )


def test_findings_group_by_kind_and_object_with_the_fewest_preemptions_first() -> None:
    sc = load_scenario(bundled_scenarios()["xsa345-r1-small"])
    run = run_scenario(sc, RunOptions(keep_going=True, preemption_bound=None))
    groups = group_findings(run.findings, ["leak"])
    assert groups[0].kind == "leak" and groups[0].object == "at quiescence"
    assert sum(len(g.findings) for g in groups) == len(run.findings)
    for g in groups:
        assert g.representative.preemptions == min(f.preemptions for f in g.findings)
        assert len({(f.kind, g.object) for f in g.findings}) == 1


def test_list_describes_every_bundled_scenario_in_one_line() -> None:
    p = pagerace("list")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    names = [ln.split()[0] for ln in lines if not ln.startswith(" ")]
    assert names == sorted(bundled_scenarios())
    k = next(k for k, ln in enumerate(lines) if ln.startswith("xsa345-r2a-small "))
    assert "XSA-345 race 2" in lines[k]
    assert lines[k + 1].split()[:4] == ["expect:", "double-free", "on", "xen-4.14;"]
    assert "clean on xsa-345" in lines[k + 1]


def test_an_unknown_scenario_name_lists_the_bundled_ones() -> None:
    p = pagerace("run", "xsa345-r3")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "pagerace: xsa345-r3: no such scenario file or bundled scenario (did you mean"
        " xsa345-r1?); bundled: "
        + ", ".join(sorted(bundled_scenarios()))
        + " (pagerace list describes them)"
    )


def test_a_missing_scenario_file_is_named_with_the_whole_list() -> None:
    # (a longer path, as a user writes one: the line is not cut short)
    p = pagerace("run", "/home/me/xen-races/scenarios/two-mappers.toml")
    assert p.returncode == 2
    assert p.stderr == (
        "pagerace: /home/me/xen-races/scenarios/two-mappers.toml: no such scenario file or bundled"
        " scenario; bundled: "
        + ", ".join(sorted(bundled_scenarios()))
        + " (pagerace list describes them)\n"
    )


def test_show_names_a_bundled_scenario_once() -> None:
    first = pagerace("show", "xsa345-r1-small").stdout.splitlines()[0]
    assert first == "xsa345-r1-small: xen-4.14, 8 entries per table, page1gb=yes"


def _kinds(data: dict[str, Any]) -> list[str]:
    return [f["kind"] for f in data["findings"]]


def test_an_explicit_none_flag_lifts_the_bound_and_the_limits() -> None:
    args = ("--preemption-bound", "none", "--time-limit", "none", "--max-executions", "none")
    p = pagerace("run", "xsa345-r1-small", "--variant", "xsa-345", *args)
    assert p.returncode == 0
    assert p.stdout.splitlines()[0].endswith("(dpor, no preemption bound)")
    assert p.stdout.splitlines()[1] == "coverage: complete"


def test_the_report_opens_on_the_expected_finding(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    pagerace("run", "xsa345-r2a-small", "--json", str(out))
    data = json.loads(out.read_text())
    assert _kinds(data)[data["open_finding"]] == "double-free"
    assert _kinds(data)[0] == "use-after-free"  # found first
    assert data["verdict"] == {"status": "met", "reason": ""}
    assert data["expectation"]["require"] == ["double-free"]
    assert data["coverage"]["text"].endswith("stopped once the expectation was decided")


def test_shell_completion_offers_bundled_scenarios_and_variants() -> None:
    import os

    def complete(words: str, cword: int) -> list[str]:
        env = {
            **os.environ,
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
            "_PAGERACE_COMPLETE": "bash_complete",
        }
        p = subprocess.run(
            [sys.executable, "-c", "from pagerace.cli.main import main; main()"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        return p.stdout.splitlines()

    assert "plain,list" in complete("pagerace l", 1)
    assert "plain,xsa345-r2a-small" in complete("pagerace run xsa345-r2", 2)
    from pagerace.scenario import KNOWN_VARIANTS

    assert complete("pagerace run x --variant x", 4) == [f"plain,{v}" for v in KNOWN_VARIANTS]
    assert complete("pagerace run x --variant xs", 4) == ["plain,xsa-345"]


def test_pagerace_alone_prints_the_help() -> None:
    p = pagerace()
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout == pagerace("--help").stdout
    assert "\n  run " in p.stdout
