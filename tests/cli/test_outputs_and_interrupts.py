"""Output files, standard output and Ctrl-C: never a traceback, never a silent loss.

Each test here reproduces a defect of an earlier release: an unwritable ``--json``
that printed the verdict and then a traceback, ``--json - --html r.html`` without
r.html, ``--json ''`` ignored, one file named twice, an unquoted replay command, a
stale JSON left by an interrupted run, four-line usage errors.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"


def pagerace(
    *args: str, cwd: Path | None = None, stdout: object = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        cwd=cwd,
    )


def one_error_line(p: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["run", "xsa345-r1-small"],
        ["replay", "xsa345-r1-small", "v1:0"],
        ["xsa345", "--geometry", "small"],
        ["assess", "--host", "{host}"],
    ],
    ids=["run", "replay", "xsa345", "assess"],
)
@pytest.mark.parametrize("where", ["{tmp}/missing/r.json", "{tmp}", "/dev/full"])
def test_an_unwritable_json_is_refused_before_the_work(
    tmp_path: Path, command: list[str], where: str
) -> None:
    host = tmp_path / "host.toml"
    host.write_text('[host]\narch = "x86_64"\nxen_version = "4.14.0"\n')
    args = [a.format(host=host) for a in command] + ["--json", where.format(tmp=tmp_path)]
    p = pagerace(*args)
    line = one_error_line(p)
    assert line.startswith("pagerace: --json ") and "cannot write" in line
    assert p.stdout == ""  # no verdict printed before the failure


def test_stdout_on_a_full_device_is_one_line_and_exit_2() -> None:
    with open("/dev/full", "w") as full:
        p = pagerace("run", "xsa345-r1-small", stdout=full)
    assert one_error_line(p) == "pagerace: cannot write the output: No space left on device"


def test_json_to_stdout_and_html_to_a_file_writes_both(tmp_path: Path) -> None:
    p = pagerace("run", "xsa345-r1-small", "-q", "--json", "-", "--html", "r.html", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["status"] == "found"
    assert "pagerace-data" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", ""], "pagerace: --json: an empty file name"),
        (["--html", ""], "pagerace: --html: an empty file name"),
        (["--json", "x", "--html", "x"], "pagerace: --json and --html name the same file x"),
        (["--json", "x", "--html", "./x"], "pagerace: --json and --html name the same file ./x"),
        (["--html", "-"], "pagerace: --html: '-' (standard output) is not supported here"),
    ],
)
def test_output_options_that_cannot_all_be_honoured_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    p = pagerace("run", "xsa345-r1-small", *args, cwd=tmp_path)
    assert one_error_line(p) == message
    assert list(tmp_path.iterdir()) == []


def test_the_replay_command_is_shell_quoted_in_text_and_json(tmp_path: Path) -> None:
    weird = tmp_path / "my scen;id.toml"
    shutil.copy(SCENARIOS / "xsa345-r1-small.toml", weird)
    p = pagerace("run", str(weird), "--json", str(tmp_path / "r.json"))
    assert p.returncode == 1, p.stderr
    line = next(x for x in p.stdout.splitlines() if x.startswith("  replay: "))
    command = line.removeprefix("  replay: ")
    words = shlex.split(command)
    assert words[:3] == ["pagerace", "replay", str(weird)]
    finding = json.loads((tmp_path / "r.json").read_text())["findings"][0]
    assert finding["replay"] == command
    # the shell runs it as one replay of that file (and runs nothing else)
    shell = f'pagerace() {{ "{sys.executable}" -m pagerace "$@"; }}; {command}'
    q = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, check=False)
    assert q.returncode == 1 and "use-after-free" in q.stdout, q.stderr


def test_a_usage_error_is_one_line_with_exit_2() -> None:
    p = pagerace("run", "xsa345-r1-small", "--geometry", "many")
    line = one_error_line(p)
    assert line.startswith("pagerace run: No such option '--geometry'")
    assert line.endswith("(see 'pagerace run --help')")
    # a bad option value: the rule every face shares (tests/test_options.py)
    bad = one_error_line(pagerace("run", "xsa345-r1-small", "--max-executions", "many"))
    want = "pagerace: --max-executions: must be an int from 1 to 1,000,000,000,000 or None;"
    assert bad == want + ' got "many"'
    assert one_error_line(pagerace("nosuchcommand")).startswith("pagerace: No such command")


def test_ctrl_c_while_importing_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    from pagerace.cli import entry

    real_import = builtins.__import__

    def interrupted(name: str, *args: object, **kwargs: object) -> object:
        if name == "pagerace.cli.main":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as exit_:
        entry.main(["run", "xsa345-r1-small"])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == "pagerace: interrupted\n"


BENCH = Path(__file__).parents[2] / "bench" / "scenarios" / "four-cpus-small.toml"


@pytest.mark.parametrize(
    "search",
    [
        ("xsa345-r1", "--variant", "xsa-345", "--strategy", "random"),
        # split into work units (bound 3: units of a fraction of a second, some of
        # them merged before the interrupt, in a run of many seconds)
        (str(BENCH), "--preemption-bound", "3", "--jobs", "2"),
        (str(BENCH), "--preemption-bound", "3", "--jobs", "1"),  # (units in this process)
    ],
    ids=["random", "split", "split-one-process"],
)
def test_ctrl_c_during_a_run_exits_130_and_replaces_the_stale_json(
    tmp_path: Path, search: tuple[str, ...]
) -> None:
    stale = tmp_path / "r.json"
    stale.write_text('{"status": "clean"}\n')
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "pagerace", "run", *search, "--keep-going"),
            *("--max-executions", "1000000", "--time-limit", "none", "-q", "--json", str(stale)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)
    assert child.poll() is None, "the run ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.splitlines() == [
        "pagerace: interrupted; the findings above are those found so far",
    ]
    # the old result is gone: the file holds this run's, marked interrupted
    data = json.loads(stale.read_text())
    assert data["coverage"]["stopped_by"] == "interrupted"
    assert data["status"] in ("incomplete", "found")
    assert data["stats"]["executions"] > 0
    assert data["status"] == ("found" if data["findings"] else "incomplete")
    assert os.listdir(tmp_path) == ["r.json"]


def test_write_json_to_stdout_is_the_same_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from pagerace.cli.options import load
    from pagerace.report.json import result_dict, write_json
    from pagerace.runner import RunOptions, run_scenario

    run = run_scenario(load("xsa345-r1-small"), RunOptions(max_executions=1))
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    write_json(run, "-")
    assert json.loads(buffer.getvalue()) == json.loads(json.dumps(result_dict(run)))
