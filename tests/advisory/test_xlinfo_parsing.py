"""`xl info` output -> HostFacts, on fixtures written in the real formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagerace.advisory import XlInfoError, parse_xl_info, parse_xl_info_text, read_xl_info

DATA = Path(__file__).parent / "data"


def host(name: str, **kwargs: object):  # type: ignore[no-untyped-def]
    path = DATA / name
    return parse_xl_info(read_xl_info(path), str(path), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fixture", "version", "arch", "virt", "hap"),
    [
        ("xlinfo-4.10.4-intel.txt", "4.10.4", "x86", "vt-x", None),
        ("xlinfo-4.11.4-amd.txt", "4.11.4", "x86", "svm", None),
        ("xlinfo-4.12.3-intel.txt", "4.12.3", "x86", "vt-x", None),
        ("xlinfo-4.12.4-intel.txt", "4.12.4", "x86", "vt-x", None),
        ("xlinfo-4.13.1-intel.txt", "4.13.1", "x86", "vt-x", True),
        ("xlinfo-4.13.1-suse.txt", "4.13.1_06-lp152.2.9.1", "x86", "vt-x", True),
        ("xlinfo-4.13.2-amd.txt", "4.13.2", "x86", "svm", True),
        ("xlinfo-4.14.0-intel.txt", "4.14.0", "x86", "vt-x", True),
        ("xlinfo-4.14.0-intel-nohap.txt", "4.14.0", "x86", "vt-x", False),
        ("xlinfo-4.14.0-qubes-pvh-dom0.txt", "4.14.0", "x86", "vt-x", True),
        ("xlinfo-4.14.1-intel.txt", "4.14.1", "x86", "vt-x", True),
        ("xlinfo-4.14.1-pre-intel.txt", "4.14.1-pre", "x86", "vt-x", True),
        ("xlinfo-4.15.0-amd.txt", "4.15.0", "x86", "svm", True),
        ("xlinfo-4.13.1-arm.txt", "4.13.1", "arm", None, True),
    ],
)
def test_each_fixture_yields_its_version_architecture_cpu_family_and_hap(
    fixture: str, version: str, arch: str, virt: str | None, hap: bool | None
) -> None:
    facts = host(fixture)
    assert str(facts.version) == version
    assert (facts.arch, facts.virt, facts.hap) == (arch, virt, hap)


def test_hap_is_unknown_before_4_13_because_xl_did_not_print_it() -> None:
    facts = host("xlinfo-4.12.3-intel.txt")
    assert facts.hap is None
    assert "does not print hap" in facts.hap_source


def test_a_hap_0_on_the_xen_command_line_means_no_hap() -> None:
    text = (DATA / "xlinfo-4.14.0-intel.txt").read_text()
    text = text.replace("dom0_vcpus_pin=1", "dom0_vcpus_pin=1 hap=0")
    facts = parse_xl_info(parse_xl_info_text(text))
    assert facts.hap is False
    assert "hap=0" in facts.hap_source


def test_dom0_pvh_on_the_command_line_makes_dom0_pvh() -> None:
    facts = host("xlinfo-4.14.0-qubes-pvh-dom0.txt")
    assert facts.dom0_type == "pvh"
    assert facts.dom0_hap is None


def test_dom0_pvh_shadow_forces_dom0_into_shadow_mode() -> None:
    text = (DATA / "xlinfo-4.14.0-intel.txt").read_text()
    text = text.replace("smt=0", "smt=0 dom0=pvh,shadow")
    facts = parse_xl_info(parse_xl_info_text(text))
    assert (facts.dom0_type, facts.dom0_hap) == ("pvh", False)


def test_pre_4_7_hw_caps_use_the_old_word_order() -> None:
    # Real CentOS 4.4.1 host: word 4 is CPUID.1:ECX with VMX set.
    text = (DATA / "xlinfo-4.10.4-intel.txt").read_text()
    text = text.replace(
        "bfebfbff:77faf3ff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100",
        "bfebfbff:2c100800:00000000:00003f00:029ee3ff:00000000:00000001:00000000",
    )
    text = text.replace("xen_minor              : 10", "xen_minor              : 4")
    text = text.replace("xen_extra              : .4", "xen_extra              : .1-4.el6")
    facts = parse_xl_info(parse_xl_info_text(text))
    assert str(facts.version) == "4.4.1-4.el6"
    assert facts.virt == "vt-x"


def test_an_explicit_cpu_vendor_wins_and_a_disagreement_is_noted() -> None:
    facts = host("xlinfo-4.14.0-intel.txt", cpu_vendor="amd")
    assert (facts.vendor, facts.virt) == ("amd", "svm")
    assert any("--cpu-vendor says amd" in note for note in facts.notes)


def test_cpu_vendor_is_needed_when_hw_caps_shows_neither_vmx_nor_svm() -> None:
    text = (DATA / "xlinfo-4.14.0-intel.txt").read_text()
    text = text.replace("76faf3bf", "76faf39f")  # clear VMX (bit 5 of word 1)
    facts = parse_xl_info(parse_xl_info_text(text))
    assert facts.virt is None
    assert "--cpu-vendor" in facts.vendor_source


def test_numa_tables_of_xl_info_n_are_skipped() -> None:
    text = (DATA / "xlinfo-4.14.0-intel.txt").read_text()
    text = text.replace(
        "xen_major",
        "cpu_topology           :\ncpu:    core    socket     node\n"
        "  0:       0        0        0\n"
        "numa_info              :\nnode:    memsize    memfree    distances\n"
        "   0:     16384       4687      10\nxen_major",
        1,
    )
    assert str(parse_xl_info(parse_xl_info_text(text)).version) == "4.14.0"


def test_an_empty_file_is_rejected() -> None:
    with pytest.raises(XlInfoError, match="empty"):
        read_xl_info(DATA / "empty.txt")


def test_xl_dmesg_is_not_mistaken_for_xl_info() -> None:
    with pytest.raises(XlInfoError, match="not `xl info` output"):
        read_xl_info(DATA / "xl-dmesg-not-xlinfo.txt")


def test_a_missing_file_is_one_clear_error() -> None:
    with pytest.raises(XlInfoError, match="cannot read"):
        read_xl_info(DATA / "no-such-file.txt")
