"""Checkpoint and resume: a run killed with SIGKILL at a random moment and resumed ends
with the executions, findings (same schedules) and verdict of an uninterrupted run;
``resume`` refuses a changed scenario or another format version (exit 2, one line)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RUN = [sys.executable, "-m", "pagerace"]
ARGS = ["xsa345-r1-small", "--keep-going", "--preemption-bound", "3", "-q"]


def _result(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {
        "status": data["status"],
        "executions": data["stats"]["executions"],
        "events": data["stats"]["events"],
        "findings": [(f["kind"], f["message"], f["schedule"]) for f in data["findings"]],
    }


def kill_and_resume(
    tmp: Path,
    checkpoint: Path,
    delay: float,
    args: list[str] = ARGS,
    killed: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Start a checkpointed run, SIGKILL it (and its workers) ``delay`` seconds after
    its checkpoint first appears, call ``killed()``, resume it; the resumed run's
    result, and whether the kill found the run still running (a run that had ended
    leaves a finished checkpoint: resuming it tests less)."""
    checkpoint.unlink(missing_ok=True)
    shutil.rmtree(checkpoint.with_name(checkpoint.name + ".units"), ignore_errors=True)
    proc = subprocess.Popen(
        [*RUN, "run", *args, "--jobs", "2", "--checkpoint", str(checkpoint)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if killed is not None:
        killed()
    out = tmp / "resumed.json"
    done = subprocess.run(
        [*RUN, "resume", str(checkpoint), "-q", "--json", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode in (0, 1, 3), done.stderr
    return _result(out), running


def kill_running_and_resume(
    tmp: Path, checkpoint: Path, delay: float, args: list[str] = ARGS
) -> dict[str, Any]:
    """``kill_and_resume`` with the kill made while the run still runs: on a machine
    fast enough to end the run within ``delay``, again with half the delay."""
    while True:
        result, running = kill_and_resume(tmp, checkpoint, delay, args)
        if running or delay < 0.005:
            assert running, "the run ended before its checkpoint could be killed"
            return result
        delay /= 2


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: Any) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("full") / "full.json"
    subprocess.run([*RUN, "run", *ARGS, "--jobs", "1", "--json", str(out)], check=False)
    return _result(out)


@pytest.mark.parametrize("seed", range(3))
def test_killed_and_resumed_equals_uninterrupted(
    seed: int, tmp_path: Path, uninterrupted: dict[str, Any]
) -> None:
    delay = random.Random(seed).uniform(0.0, 1.5)
    resumed = kill_running_and_resume(tmp_path, tmp_path / "run.checkpoint", delay)
    assert resumed == uninterrupted
    assert uninterrupted["findings"]


SAMPLED = ["xsa345-r1-small", "--strategy", "pct", "--max-executions", "3000", "--keep-going", "-q"]


def test_a_killed_sample_run_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    # (pct split into samples of its own seeds: the samples run, in order, are kept)
    out = tmp_path / "full.json"
    subprocess.run([*RUN, "run", *SAMPLED, "--jobs", "1", "--json", str(out)], check=False)
    uninterrupted = _result(out)
    resumed = kill_running_and_resume(tmp_path, tmp_path / "run.checkpoint", 0.3, SAMPLED)
    assert resumed == uninterrupted and uninterrupted["executions"] == 3000


def _checkpoint(tmp_path: Path, scenario: Path) -> Path:
    checkpoint = tmp_path / "c.json"
    subprocess.run(
        [
            *RUN,
            "run",
            str(scenario),
            "--preemption-bound",
            "0",
            "-q",
            "--jobs",
            "1",
            "--checkpoint",
            str(checkpoint),
        ],
        stdout=subprocess.DEVNULL,
        check=False,
    )
    assert checkpoint.exists()
    return checkpoint


def test_resume_refuses_a_changed_scenario(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "scenarios" / "xsa345-r1-small.toml"
    scenario = tmp_path / "s.toml"
    scenario.write_text(bundled.read_text())
    checkpoint = _checkpoint(tmp_path, scenario)
    scenario.write_text(bundled.read_text().replace("nr = 1\n", "nr = 2\n", 1))
    done = subprocess.run([*RUN, "resume", str(checkpoint)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "changed" in done.stderr


def test_resume_refuses_another_format(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "scenarios" / "xsa345-r1-small.toml"
    checkpoint = _checkpoint(tmp_path, bundled)
    data = json.loads(checkpoint.read_text())
    data["pagerace-checkpoint"] = 99
    checkpoint.write_text(json.dumps(data))
    done = subprocess.run([*RUN, "resume", str(checkpoint)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "format 99" in done.stderr


def test_a_file_where_the_units_states_go_is_one_clear_line(tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.json"
    (tmp_path / "c.json.units").write_text("in the way")
    done = subprocess.run(
        [*RUN, "run", "xsa345-r1-small", "-q", "--checkpoint", str(checkpoint)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "c.json.units: cannot make" in done.stderr


def test_resume_says_what_it_starts_from(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "scenarios" / "xsa345-r1-small.toml"
    checkpoint = _checkpoint(tmp_path, bundled)
    done = subprocess.run(
        [*RUN, "resume", str(checkpoint), "--jobs", "1"], capture_output=True, text=True
    )
    assert done.returncode in (0, 1, 3), done.stderr
    assert done.stderr.startswith(f"pagerace: resuming {checkpoint}: 1 unit done\n")


def _damage(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set the field at ``path`` (keys joined by '/') of a checkpoint to ``value``
    (a key of ``done`` given as '>NEW' is renamed)."""

    def damage(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        for key in parents:
            data = data[key]
        if isinstance(value, str) and value.startswith(">"):
            data[value[1:]] = data.pop(last)
        else:
            data[last] = value

    return damage


DAMAGES = {
    "options emptied": _damage("options", {}),
    "until_expected a string": _damage("about/until_expected", "x"),
    "variant a list": _damage("about/variant", []),
    "scenario a number": _damage("about/scenario", 7),
    "units a string": _damage("levels/0/units", "x"),
    "no unit": _damage("levels/0/units", 0),
    "bound not a number": _damage("levels/0", ">abc"),
    "bound negative": _damage("levels/0", ">-1"),
    "done a list": _damage("levels/0/done", []),
    "unit index a string": _damage("levels/0/done/0", ">abc"),
    "unit index past the units": _damage("levels/0/done/0", ">5"),
    "executions negative": _damage("levels/0/done/0/executions", -1),
    "exhausted a string": _damage("levels/0/done/0/exhausted", "x"),
    "bound_cut missing": _damage("levels/0/done/0/bound_cut", None),
    "indices a dict": _damage("levels/0/done/0/indices", {}),
    "findings a dict": _damage("levels/0/done/0/findings", {}),
    "a finding not an object": _damage("levels/0/done/0/findings", [3]),
}


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: Any) -> str:
    bundled = Path(__file__).resolve().parents[2] / "scenarios" / "xsa345-r1-small.toml"
    return _checkpoint(tmp_path_factory.mktemp("ckpt"), bundled).read_text()


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_checkpoint_is_one_clear_line(
    small_checkpoint: str,
    damage: Callable[[dict[str, Any]], None],
    tmp_path: Path,
    capsys: Any,
) -> None:
    from pagerace.cli.main import main

    data = json.loads(small_checkpoint)
    damage(data)
    checkpoint = tmp_path / "c.json"
    checkpoint.write_text(json.dumps(data))
    with pytest.raises(SystemExit) as info:
        main(["resume", str(checkpoint), "--jobs", "1", "-q"])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.startswith(f"pagerace: {checkpoint}: a damaged checkpoint (")
    assert err.count("\n") == 1


CKPT = ("--checkpoint", "c.json")


def test_a_checkpoint_of_a_scenario_file_resumes_from_another_directory(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "scenarios" / "xsa345-r1-small.toml"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "s.toml").write_text(bundled.read_text())
    subprocess.run(
        [*RUN, "run", "s.toml", *("--preemption-bound", "0", "-q", "--jobs", "1"), *CKPT],
        cwd=tmp_path / "a",
        stdout=subprocess.DEVNULL,
        check=False,
    )
    done = subprocess.run(
        [*RUN, "resume", "../a/c.json", "--jobs", "1", "-q"],
        cwd=tmp_path / "b",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr
    assert "xsa345-r1-small on xen-4.14: incomplete" in done.stdout


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_an_output_on_the_checkpoint_itself_is_refused(
    option: str, small_checkpoint: str, tmp_path: Path, capsys: Any
) -> None:
    from pagerace.cli.main import main

    checkpoint = tmp_path / "c.json"
    checkpoint.write_text(small_checkpoint)
    for args in (
        ["run", "xsa345-r1-small", "-q", option, str(checkpoint), "--checkpoint", str(checkpoint)],
        ["resume", str(checkpoint), "-q", option, str(tmp_path / "." / "c.json")],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        err = capsys.readouterr().err
        assert info.value.code == 2, err
        assert err.startswith(f"pagerace: {option} and ") and "name the same file" in err
        assert checkpoint.read_text() == small_checkpoint  # (left as it was)


def test_a_checkpoint_larger_than_a_users_input_may_be_is_read(
    small_checkpoint: str, tmp_path: Path
) -> None:
    from pagerace.explore.checkpoint import Progress

    data = json.loads(small_checkpoint)
    unit = dict(data["levels"]["0"]["done"]["0"], indices=[7] * 3_000_000)  # (6 MB)
    data["levels"]["9"] = {"units": 1, "done": {"0": unit}}
    checkpoint = tmp_path / "c.json"
    checkpoint.write_text(json.dumps(data))
    assert checkpoint.stat().st_size > 5 << 20
    assert Progress.load(checkpoint).units_of(9) == 1
