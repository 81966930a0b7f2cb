"""The TOML host description: schema, strict validation, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagerace.advisory import HostFileError, assess, load_host_file, parse_host_file

DATA = Path(__file__).parent / "data"

MINIMAL = '[host]\narch = "x86_64"\nxen_version = "4.14.0"\n'


def test_the_intel_host_file_gives_its_verdicts() -> None:
    described = load_host_file(DATA / "host-intel-4.13.1.toml")
    assert described.host.virt == "vt-x" and described.host.hap is True
    result = assess(described.host, described.domains)
    verdicts = {v.domain.name: v.exposed for v in result.domains}
    assert verdicts == {
        "Domain-0": True,
        "storage-pv": True,
        "gpu-hvm": False,
        "legacy-shadow": True,
        "web": False,
        "mystery": True,  # passthrough = "unknown"
    }
    assert "passthrough" in result.unknowns


def test_the_amd_host_with_a_pvh_dom0_is_not_exposed_even_in_shadow_mode() -> None:
    described = load_host_file(DATA / "host-amd-pvh-dom0.toml")
    result = assess(described.host, described.domains)
    assert not result.exposed
    assert [v.paging for v in result.domains] == ["shadow", "shadow"]


def test_patched_from_the_command_line_overrides_the_file() -> None:
    described = load_host_file(DATA / "host-intel-4.13.1.toml", patched=True)
    assert not assess(described.host, described.domains).exposed


def test_an_unknown_key_names_the_file_and_the_key() -> None:
    with pytest.raises(HostFileError) as info:
        load_host_file(DATA / "host-unknown-key.toml")
    assert str(info.value).startswith(str(DATA / "host-unknown-key.toml") + ": host.hap_enabled: ")
    assert "unknown key" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("", "host", "required key is missing"),
        ('[host]\narch = "x86_64"\n', "host.xen_version", "required key is missing"),
        (MINIMAL.replace('"x86_64"', '"sparc"'), "host.arch", "expected one of"),
        (MINIMAL + 'cpu_vendor = "via"\n', "host.cpu_vendor", "expected one of"),
        (MINIMAL + 'hap = "yes"\n', "host.hap", "expected a boolean, got a string"),
        (MINIMAL.replace('"4.14.0"', "4.14"), "host.xen_version", "expected a string"),
        (MINIMAL + "dom0_hap = false\n", "host.dom0_hap", 'only meaningful with dom0 = "pvh"'),
        (MINIMAL + 'colour = "red"\n', "host.colour", "unknown key"),
        (MINIMAL + '[[domains]]\nname = "a"\n', "domains[0].type", "required key is missing"),
        (
            MINIMAL + '[[domains]]\nname = "a"\ntype = "pv"\ndomid = true\n',
            "domains[0].domid",
            "expected an integer, got a boolean",
        ),
        (
            MINIMAL + '[[domains]]\nname = "a"\ntype = "pv"\npci = [1]\n',
            "domains[0].pci[0]",
            "expected a string",
        ),
        (
            MINIMAL
            + '[[domains]]\nname = "a"\ntype = "pv"\npassthrough = false\npci = ["0000:01:00.0"]\n',
            "domains[0].passthrough",
            "false, but",
        ),
        (
            MINIMAL + '[[domains]]\nname = "a"\ntype = "pv"\nhap_mode = 1\n',
            "domains[0].hap_mode",
            "unknown key",
        ),
        (
            MINIMAL + '[[domains]]\nname = "a"\ntype = "pv"\ndomid = 1\n[[domains]]\nname = "b"\n'
            'type = "pv"\ndomid = 1\n',
            "domains[1].domid",
            "appears twice",
        ),
    ],
)
def test_invalid_host_files_name_the_key_and_the_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(HostFileError) as info:
        parse_host_file(text, "h.toml")
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(info.value).startswith(f"h.toml: {key}: ")


def test_toml_syntax_errors_are_input_errors() -> None:
    with pytest.raises(HostFileError, match="not valid TOML"):
        parse_host_file("[host\n", "h.toml")
