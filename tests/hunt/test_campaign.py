"""Whole hunts: determinism per seed, the files they write, a planted race found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pagerace.cli.main import cli
from pagerace.hunt.campaign import HuntOptions, hunt
from pagerace.hunt.generate import GenOptions
from pagerace.hunt.records import hunt_dict
from pagerace.hunt.search import Budget, search
from pagerace.machine.explored import ExploredCPU
from pagerace.runner import replay_scenario, run_options, run_scenario
from pagerace.scenario import Expectation, load_scenario
from pagerace.xen.variants import MAP_PGDIR_LOCK

FAST = Budget(dpor_executions=300, pct_executions=50)


def _files(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(d.glob("*.toml"))}


def test_same_seed_same_signatures_and_files(tmp_path: Path) -> None:
    options = HuntOptions(
        gen=GenOptions(max_cpus=2), seed=7, time_limit=None, max_scenarios=2, budget=FAST
    )
    a = hunt(options, tmp_path / "a")
    b = hunt(options, tmp_path / "b")
    assert a.records, "seed 7's first scenarios show races on xen-4.14"
    assert [(r.signature, r.count) for r in a.records] == [
        (r.signature, r.count) for r in b.records
    ]
    assert _files(tmp_path / "a").keys() == _files(tmp_path / "b").keys()
    strip = lambda t: t.replace(str(tmp_path / "a"), "D").replace(str(tmp_path / "b"), "D")  # noqa: E731
    assert {k: strip(v) for k, v in _files(tmp_path / "a").items()} == {
        k: strip(v) for k, v in _files(tmp_path / "b").items()
    }


def test_every_file_is_reproduced_by_run_and_replay(tmp_path: Path) -> None:
    options = HuntOptions(
        gen=GenOptions(max_cpus=2), seed=7, time_limit=None, max_scenarios=1, budget=FAST
    )
    result = hunt(options, tmp_path)
    assert result.records
    data = hunt_dict(result)
    for s in data["signatures"]:
        sc = load_scenario(s["scenario"])
        assert sc.expected(sc.variant) == Expectation(require=(s["kind"],))
        # the schedule replays to a finding of that kind (with others of its execution)
        replayed = replay_scenario(sc, s["schedule"])
        assert s["kind"] in {f.kind for f in replayed.findings}
        # pagerace run, as the file says, meets the file's expectation
        assert s["run"] is not None
        # as pagerace run FILE: [explore] over the defaults, split into work units
        run = run_scenario(sc, run_options(sc, jobs=1))
        assert run.meets_expectation, s["scenario"]


def test_worker_processes_give_the_hunt_of_one_process(tmp_path: Path) -> None:
    runs = {}
    for jobs in (1, 2):
        options = HuntOptions(
            gen=GenOptions(max_cpus=3), seed=3, jobs=jobs, time_limit=None, max_scenarios=4,
            budget=FAST,
        )  # fmt: skip
        runs[jobs] = hunt(options, tmp_path / str(jobs))
    one, two = runs[1], runs[2]
    assert one.records and one.scenarios == two.scenarios == 4
    assert (one.executions, one.events) == (two.executions, two.events)
    assert [(r.signature, r.count, r.first.schedule) for r in one.records] == [
        (r.signature, r.count, r.first.schedule) for r in two.records
    ]
    assert _files(tmp_path / "1").keys() == _files(tmp_path / "2").keys()


def _without_map_pgdir_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    lock, unlock = ExploredCPU.lock, ExploredCPU.unlock

    def no_pgdir_lock(self: ExploredCPU, name: object, step: str) -> None:
        if name != MAP_PGDIR_LOCK:
            lock(self, name, step)

    def no_pgdir_unlock(self: ExploredCPU, name: object, step: str) -> None:
        if name != MAP_PGDIR_LOCK:
            unlock(self, name, step)

    monkeypatch.setattr(ExploredCPU, "lock", no_pgdir_lock)
    monkeypatch.setattr(ExploredCPU, "unlock", no_pgdir_unlock)


def test_a_planted_race_is_found_and_minimised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixed code without map_pgdir_lock: two CPUs that install an L1 table for
    the same empty slot each write their own; one table (and its mapping) is lost.
    A disjoint hunt on xsa-345 finds it; without the planted bug the minimised
    scenario shows neither a leak nor a lost update."""
    options = HuntOptions(
        gen=GenOptions(variant="xsa-345", disjoint=True, max_cpus=2),
        seed=1,
        time_limit=None,
        max_scenarios=14,
        budget=Budget(dpor_executions=300, pct_executions=0),
    )
    _without_map_pgdir_lock(monkeypatch)
    result = hunt(options, tmp_path)
    planted = [r for r in result.records if r.signature.kind in ("leak", "lost-update")]
    assert planted, [r.signature.text for r in result.records]
    record = planted[0]
    assert record.result is not None and record.result.minimised
    assert record.result.cpus == 2 and record.result.max_ops_per_cpu == 1
    assert record.path is not None
    minimal = load_scenario(record.path)
    assert record.signature in {f.signature for f in search(minimal, options.budget).found}
    monkeypatch.undo()
    unpatched = search(minimal, options.budget).found
    assert not [f for f in unpatched if f.signature.kind in ("leak", "lost-update")], unpatched


def test_cli_hunt_writes_json_html_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "hunt", "--max-scenarios", "1", "--seed", "7", "--cpus", "2", "--jobs", "1", "-q",
            "--max-executions", "300", "--out", str(out),
            "--json", str(tmp_path / "h.json"), "--html", str(tmp_path / "h.html"),
        ],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["signatures"]
    for s in data["signatures"]:
        assert {"kind", "labels", "ops", "count", "first_seconds", "scenario", "schedule"} <= set(s)
        assert Path(s["scenario"]).exists() and Path(s["report"]).exists()
    page = (tmp_path / "h.html").read_text()
    assert "<svg" in page and "http" not in page.replace("http-equiv", "")
    assert "out/" + Path(data["signatures"][0]["report"]).name in page


def test_cli_hunt_nothing_found_exits_0(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        ["hunt", "--max-scenarios", "1", "--seed", "1", "--cpus", "1", "-q", "--jobs", "1",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "args",
    [
        ["--cpus", "5..2"],
        ["--cpus", "x"],
        ["--variant", "xen-9"],
        ["--entries", "12"],
        ["--jobs", "0"],
    ],
)
def test_cli_hunt_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    from pagerace.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["hunt", "--max-scenarios", "1", "--out", str(tmp_path), *args])
    assert exc.value.code == 2


def test_ctrl_c_writes_everything_found_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt at the first new signature: what was found so far is written (as
    drawn, not minimised), with the JSON, and the exit status is 130."""
    from pagerace.hunt import campaign

    notify = campaign._Hunt.notify

    def interrupt_at_first_signature(self: object, hook: str, *args: object) -> None:
        notify(self, hook, *args)  # type: ignore[arg-type]
        if hook == "on_signature":
            raise KeyboardInterrupt

    monkeypatch.setattr(campaign._Hunt, "notify", interrupt_at_first_signature)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["hunt", "--max-scenarios", "3", "--seed", "7", "--cpus", "2", "--jobs", "1", "-q",
         "--max-executions", "300", "--out", str(out), "--json", str(tmp_path / "h.json")],
    )  # fmt: skip
    assert res.exit_code == 130, res.output
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["status"] == "interrupted" and data["signatures"]
    for s in data["signatures"]:
        assert not s["minimised"]
        sc = load_scenario(s["scenario"])
        assert "NOT minimised" in Path(s["scenario"]).read_text()
        assert s["kind"] in {f.kind for f in replay_scenario(sc, s["schedule"]).findings}
