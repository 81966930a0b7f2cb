"""`assess` on hostile and incomplete input: one line and exit 2 for what is not
tool output, "uncertain" (never "not exposed") for version facts that are missing or
disagree, and values that never reach the terminal as markup or control sequences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pagerace.advisory import FixStatus, XlInfoError, XlListError, fix_status, parse_xl_list
from pagerace.advisory.hostfile import HostFileError, parse_host_file
from pagerace.advisory.xlinfo import parse_xl_info, parse_xl_info_text
from pagerace.cli.main import main

DATA = Path(__file__).parent / "data"
AMD_415 = (DATA / "xlinfo-4.15.0-amd.txt").read_text()
INTEL_414 = (DATA / "xlinfo-4.14.0-intel.txt").read_text()


def version_status(text: str) -> FixStatus:
    return fix_status(parse_xl_info(parse_xl_info_text(text)).version).status


def replace_line(text: str, key: str, line: str | None) -> str:
    out = []
    for raw in text.splitlines():
        if raw.split(":", 1)[0].strip() == key:
            if line is not None:
                out.append(line)
        else:
            out.append(raw)
    return "\n".join(out) + "\n"


def test_the_released_fixture_is_fixed() -> None:
    assert version_status(AMD_415) is FixStatus.FIXED


@pytest.mark.parametrize(
    "text",
    [
        # cut after xen_minor: a 4.15 development build must not pass for 4.15.0
        replace_line(replace_line(AMD_415, "xen_extra", None), "xen_version", None),
        replace_line(AMD_415, "xen_extra", None),
        # contradictory facts
        replace_line(AMD_415, "xen_version", "xen_version            : 4.13.1"),
        replace_line(AMD_415, "xen_extra", "xen_extra              : -unstable"),
        # digits of other scripts are not version numbers
        replace_line(INTEL_414, "xen_extra", "xen_extra              : .\u0661"),
        replace_line(
            replace_line(INTEL_414, "xen_extra", "xen_extra              : .\u0661"),
            "xen_version",
            "xen_version            : 4.14.\u0661",
        ),
    ],
    ids=[
        "no-extra-no-version",
        "no-extra",
        "version-disagrees",
        "extra-unstable",
        "arabic-1",
        "arabic-1-both",
    ],
)
def test_missing_or_contradictory_version_facts_are_never_fixed(text: str) -> None:
    assert version_status(text) is not FixStatus.FIXED


def test_a_duplicated_key_with_another_value_is_refused() -> None:
    text = AMD_415 + "xen_minor              : 13\n"
    with pytest.raises(XlInfoError, match="xen_minor appears twice with different values"):
        parse_xl_info_text(text)
    assert parse_xl_info_text(AMD_415 + "xen_minor              : 15\n")["xen_minor"] == "15"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("\u00b2", "not a whole number"), ("9" * 5000, "is outside 0..999")],
    ids=["superscript", "5000-digits"],
)
def test_a_version_number_that_is_not_ascii_digits_is_one_error(value: str, reason: str) -> None:
    text = replace_line(INTEL_414, "xen_major", f"xen_major              : {value}")
    with pytest.raises(XlInfoError, match=reason):
        parse_xl_info(parse_xl_info_text(text))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"domid": 1, "config": {"c_info": {"hap": []}}}]', "c_info.hap: expected"),
        ('[{"domid": 1, "config": {"c_info": {"type": ["pv"]}}}]', "c_info.type: expected"),
        ('[{"domid": 1, "config": {"c_info": {"passthrough": {}}}}]', "passthrough: expected"),
        ('[{"domid": ' + "9" * 5000 + ', "config": {}}]', "digits"),
        ("[" * 5000 + "]" * 5000, "nested deeper"),
        ('[{"domid": 1, "domid": 2, "config": {}}]', "appears twice"),
    ],
    ids=["hap-list", "type-list", "passthrough-object", "5000-digits", "deep", "dup-key"],
)
def test_malformed_xl_list_values_are_one_error(text: str, reason: str) -> None:
    with pytest.raises(XlListError, match=reason):
        parse_xl_list(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x = " + "[" * 600 + "]" * 600, "nested deeper"),
        ("[host]\nx = " + "9" * 5000, "digits"),
        ('[host]\narch = ["x86_64"]\nxen_version = "4.14.0"\n', "host.arch: expected a string"),
    ],
    ids=["deep", "5000-digits", "arch-list"],
)
def test_malformed_host_files_are_one_error(text: str, reason: str) -> None:
    with pytest.raises(HostFileError, match=reason):
        parse_host_file(text, "h.toml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["assess", *args])
    out, err = capsys.readouterr()
    assert isinstance(info.value.code, int)
    return info.value.code, out, err


def test_host_and_domain_names_are_printed_as_text_not_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "info.txt"
    info.write_text(replace_line(INTEL_414, "host", "host                   : zen2[/]"))
    listing = tmp_path / "list.json"
    domain = {"c_info": {"name": "[bold]x\x1b[31m", "type": "pv"}, "pcidevs": [{"bus": 3}]}
    listing.write_text(json.dumps([{"domid": 5, "config": domain}]))
    code, out, err = run(capsys, "--xl-info", str(info), "--xl-list", str(listing))
    assert (code, err) == (1, "")
    assert "Host zen2[/]: Xen 4.14.0" in out
    assert "[bold]x\\x1b[31m" in out and "\x1b" not in out


def test_dom0_is_shown_trusted_and_count_dom0_counts_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs = ["--xl-info", str(DATA / "xlinfo-4.14.0-intel.txt"), "--json", "-"]
    inputs += ["--xl-list", str(DATA / "xllist-hap-guests.json")]
    code, out, _ = run(capsys, *inputs)
    doc = json.loads(out)
    dom0 = doc["domains"][0]
    assert (dom0["name"], dom0["exposed"], dom0["counted"], dom0["passthrough"]) == (
        "Domain-0",
        True,
        False,
        True,
    )
    assert code == (1 if doc["exposed"] else 0)
    code, out, _ = run(capsys, *inputs, "--count-dom0")
    doc = json.loads(out)
    assert doc["count_dom0"] and doc["domains"][0]["counted"] and doc["exposed"]
    assert code == 1
