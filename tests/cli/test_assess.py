"""`pagerace assess`: exit status, table, JSON, and one-line input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pagerace.cli.main import main

DATA = Path(__file__).parent.parent / "advisory" / "data"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["assess", *args])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_an_exposed_host_exits_1_and_prints_the_table_verdict_and_mitigation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys,
        "--xl-info",
        str(DATA / "xlinfo-4.14.0-intel.txt"),
        "--xl-list",
        str(DATA / "xllist-mixed.json"),
    )
    assert code == 1 and err == ""
    assert "XSA-345 exposure per domain" in out
    for name in ("Domain-0", "router", "legacy-shadow", "win10-gpu"):
        assert name in out
    assert "Host verdict: EXPOSED" in out
    assert "Mitigation:" in out and "HAP" in out


def test_a_fixed_host_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--xl-info",
        str(DATA / "xlinfo-4.14.1-intel.txt"),
        "--xl-list",
        str(DATA / "xllist-mixed.json"),
    )
    assert code == 0
    assert "Host verdict: NOT EXPOSED" in out


def test_json_to_stdout_is_only_json_with_the_documented_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys,
        "--xl-info",
        str(DATA / "xlinfo-4.13.2-amd.txt"),
        "--xl-list",
        str(DATA / "xllist-mixed.json"),
        "--json",
        "-",
    )
    document = json.loads(out)
    assert code == 0 and document["exposed"] is False
    assert {"host", "exposed", "domains", "mitigation"} <= set(document)
    first = document["domains"][0]
    assert {"name", "domid", "exposed", "reason", "type", "paging", "passthrough"} <= set(first)
    assert first["name"] == "Domain-0" and first["domid"] == 0


def test_json_to_a_file_keeps_the_table_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "result.json"
    code, out, _ = run(
        capsys,
        "--xl-info",
        str(DATA / "xlinfo-4.14.0-intel.txt"),
        "--xl-list",
        str(DATA / "xllist-mixed.json"),
        "--json",
        str(target),
    )
    document = json.loads(target.read_text())
    assert code == 1 and document["exposed"] is True
    assert {d["name"] for d in document["domains"] if d["exposed"]} == {
        "Domain-0",
        "router",
        "fb-console",
        "serial-log",
        "legacy-shadow",
        "pvh-nvme",
    }
    assert "Host verdict" in out


def test_the_cpu_vendor_option_decides_an_svm_host_with_a_shadow_guest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--xl-info", str(DATA / "xlinfo-4.11.4-amd.txt"), "--json", "-"]
    args += ["--xl-list", str(DATA / "xllist-mixed.json")]
    _, out, _ = run(capsys, *args)
    assert not {d["name"]: d for d in json.loads(out)["domains"]}["legacy-shadow"]["exposed"]
    _, out, _ = run(capsys, *args, "--cpu-vendor", "Intel")
    assert {d["name"]: d for d in json.loads(out)["domains"]}["legacy-shadow"]["exposed"]


def test_patched_turns_a_vulnerable_version_into_not_exposed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, _ = run(
        capsys,
        "--xl-info",
        str(DATA / "xlinfo-4.13.1-suse.txt"),
        "--xl-list",
        str(DATA / "xllist-mixed.json"),
        "--patched",
    )
    assert code == 0


def test_a_host_file_is_assessed_like_tool_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--host", str(DATA / "host-amd-pvh-dom0.toml"))
    assert code == 0 and "NOT EXPOSED" in out
    code, _, _ = run(capsys, "--host", str(DATA / "host-intel-4.13.1.toml"))
    assert code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--xl-info", "empty.txt"], "the file is empty"),
        (["--xl-info", "xl-dmesg-not-xlinfo.txt"], "not `xl info` output"),
        (["--xl-info", "xllist-mixed.json"], "not `xl info` output"),
        (["--xl-info", "no-such-file.txt"], "cannot read"),
        (["--xl-info", "xlinfo-4.14.0-intel.txt", "--xl-list", "garbage.json"], "not valid JSON"),
        (["--xl-info", "xlinfo-4.14.0-intel.txt", "--xl-list", "empty.txt"], "the file is empty"),
        (["--xl-info", "xlinfo-4.14.0-intel.txt", "--cpu-vendor", "via"], "unknown CPU vendor"),
        (["--host", "host-unknown-key.toml"], "host.hap_enabled: unknown key"),
        (
            ["--host", "host-amd-pvh-dom0.toml", "--xl-info", "xlinfo-4.14.0-intel.txt"],
            "cannot be combined",
        ),
        ([], "missing input"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    resolved = [str(DATA / a) if a.endswith((".txt", ".json", ".toml")) else a for a in args]
    code, out, err = run(capsys, *resolved)
    assert code == 2
    assert out == ""
    assert err.startswith("pagerace: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_option_is_a_usage_error_with_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--frobnicate")
    assert code == 2 and "No such option" in err
