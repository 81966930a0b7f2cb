"""``pagerace run``, ``replay``, ``show`` and ``xsa345`` from the outside."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"


def pagerace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_run_reports_the_use_after_free_with_a_trace_and_exits_1() -> None:
    p = pagerace("run", str(SCENARIOS / "xsa345-r1-small.toml"))
    assert p.returncode == 1, p.stderr
    out = p.stdout
    assert re.match(r"xsa345-r1-small on xen-4.14: found \(use-after-free[,)]", out)
    assert "expected: use-after-free -- met" in out
    assert "--- preemption: CPU0 -> CPU1 ---" in out
    assert "M9.6      map_pages_to_xen:5430    free_xen_pagetable(frame" in out
    assert "!!  use-after-free: CPU0" in out
    assert re.search(
        r"replay: pagerace replay \S+xsa345-r1-small.toml v1:\S+ --variant xen-4.14", out
    )


def test_the_printed_replay_command_reproduces_the_finding() -> None:
    p = pagerace("run", "xsa345-r2a-small", "--until-expected")
    replays = re.findall(r"replay: pagerace replay (\S+) (\S+) --variant (\S+)", p.stdout)
    assert replays
    name, schedule, variant = replays[0]
    q = pagerace("replay", name, schedule, "--variant", variant)
    assert q.returncode == 1

    def first_finding(out: str) -> str:
        lines = out.splitlines()
        return next(lines[k + 1] for k, ln in enumerate(lines) if ln.startswith("== "))

    assert first_finding(q.stdout) == first_finding(p.stdout)


def test_run_on_the_fixed_variant_is_clean_and_exits_0() -> None:
    p = pagerace("run", "xsa345-r1-small", "--variant", "xsa-345", "--preemption-bound", "none")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "on xsa-345: clean" in p.stdout
    assert "expected: clean -- met" in p.stdout


def test_a_spent_budget_is_incomplete_and_exits_3() -> None:
    p = pagerace(
        "run",
        "xsa345-r1-small",
        "--variant",
        "xsa-345",
        "--preemption-bound",
        "none",
        "--max-executions",
        "1",
    )
    assert p.returncode == 3, p.stdout
    assert "incomplete" in p.stdout


def test_json_result_has_the_documented_fields(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    p = pagerace("run", "xsa345-r1-small", "--json", str(out))
    assert p.returncode == 1
    d = json.loads(out.read_text())
    assert d["pagerace"] and d["scenario"] == "xsa345-r1-small"
    assert d["variant"] == "xen-4.14" and d["strategy"] == "dpor" and d["status"] == "found"
    assert d["stats"]["executions"] >= 1 and d["stats"]["events"] > 0
    assert d["checks_skipped"] == [] and d["incomplete_reasons"] == []
    assert d["caller_faults_only"] is False
    f = d["findings"][0]
    assert f["kind"] == "use-after-free" and f["schedule"].startswith("v1:")
    assert f["preemptions"] == 1 and f["fault"] == "hypervisor" and "check" not in f
    # reported where it happened; the execution went on (its whole trace is kept)
    assert f["at"] is not None and f["stops_execution"] is None
    last = [s for s in f["trace"] if s["index"] < f["at"]][-1]
    assert last["cpu"] == 0 and last["step"] == "M6.9" and last["frame_state"] == "free"
    assert all(isinstance(s["cpu"], int) and "text" in s for s in f["trace"])
    # every finding of the execution shares its schedule and says whose fault it is
    assert len(d["findings"]) >= 2
    assert {g["schedule"] for g in d["findings"]} == {f["schedule"]}
    assert all(g["fault"] in ("hypervisor", "caller") for g in d["findings"])


def test_keep_going_lists_each_distinct_finding_once() -> None:
    p = pagerace("run", "xsa345-r1-small", "--keep-going", "--preemption-bound", "none")
    lines = p.stdout.splitlines()
    total = int(next(ln for ln in lines if " distinct findings in " in ln).split()[0])
    # each group once, with its count: together every distinct finding once
    titles = [ln[3:] for ln in lines if ln.startswith("== ")]
    assert len(titles) == len(set(titles))
    counts = [int(re.search(r": (\d+) findings?", t)[1]) for t in titles]  # type: ignore[index]
    assert sum(counts) == total
    assert "leak" in lines[0]


def test_show_prints_the_tree_after_the_setup_and_serially_after_the_ops() -> None:
    p = pagerace("show", "xsa345-r1")
    assert p.returncode == 0
    assert "L3[0] 0xffff830000000000 1G leaf mfn 0x0" in p.stdout
    assert "L1[3] 0xffff830040a03000 4K leaf mfn 0x40a03  P|RW|PWT|PCD|A|D|G|NX" in p.stdout
    q = pagerace("show", "xsa345-r1", "--serial")
    assert "CPU1: map_pages_to_xen(0xffff830040a03000" in q.stdout
    # CPU0 shattered region 2; CPU1's restore coalesced region 5 back into a 2M leaf
    assert "L2[2] 0xffff830040400000 -> L1 table" in q.stdout
    assert "L2[3..511] 0xffff830040600000 509 x 2M leaves mfn 0x40600..0x7fe00" in q.stdout


def test_xsa345_meets_every_expectation_and_exits_0() -> None:
    p = pagerace("xsa345", "--geometry", "small")
    assert p.returncode == 0, p.stdout
    assert (
        p.stdout.count("met") >= 6
        and "NOT met" not in p.stdout
        and "not established" not in p.stdout
    )
    assert "Shortest counterexample:" in p.stdout


BAD = [
    ('name = "x"\n', "variant"),
    (
        'name = "x"\nvariant = "xen-4.14"\nbogus = 1\n'
        '[[cpus]]\nops=[{op="access",virt="DIRECTMAP"}]\n',
        "bogus",
    ),
    (
        'name = "x"\nvariant = "xen-4.14"\n[[cpus]]\nops=[{op="map",virt="DIRECTMAP+1",mfn=0,nr=1,'
        'flags="PAGE_HYPERVISOR"}]\n',
        "aligned",
    ),
    (
        'name = "x"\nvariant = "xen-4.14"\n[[cpus]]\nops=[{op="map",virt="NOPE",mfn=0,nr=1,'
        'flags="PAGE_HYPERVISOR"}]\n',
        "unknown name NOPE",
    ),
    ("name = [", "TOML"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_a_bad_scenario_gets_one_line_naming_the_file_and_exit_2(
    tmp_path: Path, text: str, needle: str
) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    p = pagerace("run", str(f))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert "bad.toml" in lines[0] and needle in lines[0]


def test_bad_cli_arguments_exit_2_with_one_line() -> None:
    for args in (
        ["run", "xsa345-r1-small", "--preemption-bound", "-1"],
        ["run", "xsa345-r1-small", "--strategy", "bfs"],
        ["run", "xsa345-r1-small", "--variant", "xen-9"],
        ["replay", "xsa345-r1-small", "not-a-schedule"],
        ["run", "no-such-scenario"],
        ["run", "xsa345-r1-small", "--keep-going", "--first-finding"],
    ):
        p = pagerace(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr


def test_the_replay_command_of_a_fine_scans_run_replays_it() -> None:
    import shlex

    p = pagerace("run", "xsa345-r2a-small", "--fine-scans", "-q", "--json", "-")
    assert p.returncode == 1, p.stderr
    command = json.loads(p.stdout)["findings"][0]["replay"]
    assert command.endswith(" --fine-scans")
    words = shlex.split(command)
    assert words[:2] == ["pagerace", "replay"]
    q = pagerace(*words[1:])
    assert q.returncode == 1, q.stderr
    assert "(replay, one schedule)" in q.stdout.splitlines()[0]
    text = pagerace("run", "xsa345-r2a-small", "--fine-scans", "-q").stdout
    assert f"  replay: {command}\n" in text
