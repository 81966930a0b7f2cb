"""The XSA-345 rules: each row of the rules table, and each fixture's verdicts.

Every test here would fail if the rule it names were dropped or inverted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pagerace.advisory import (
    DomainFacts,
    HostFacts,
    assess,
    parse_xen_version,
    parse_xl_info,
    read_xl_info,
    read_xl_list,
)
from pagerace.advisory.xsa345 import domain_verdict, hypervisor_verdict

DATA = Path(__file__).parent / "data"

INTEL = HostFacts(
    name="h",
    arch="x86",
    version=parse_xen_version("4.14.0"),
    virt="vt-x",
    vendor="intel",
    hap=True,
)
AMD = replace(INTEL, virt="svm", vendor="amd")
PCI = ("0000:03:00.0",)


def verdict(host: HostFacts, dom: DomainFacts) -> tuple[bool, str]:
    vulnerable, why = hypervisor_verdict(host)
    v = domain_verdict(host, dom, vulnerable, why)
    return v.exposed, v.paging


def guest(type_: str, **kw: object) -> DomainFacts:
    return DomainFacts(name="g", domid=5, type=type_, **kw)  # type: ignore[arg-type]


# -- the rules table --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "dom", "exposed", "paging"),
    [
        # rule 3: no passed-through hardware -> not exposed, whatever the type
        (INTEL, guest("pv"), False, "pv"),
        (INTEL, guest("hvm", hap=False), False, "shadow"),
        (INTEL, guest("pvh", hap=False), False, "shadow"),
        # rule 4: PV with PCI, iomem or ioports -> exposed (vendor and HAP do not matter)
        (INTEL, guest("pv", pci=PCI), True, "pv"),
        (INTEL, guest("pv", iomem=("0xfebf0,0x10",)), True, "pv"),
        (INTEL, guest("pv", ioports=("0x3f8-0x3ff",)), True, "pv"),
        (AMD, guest("pv", pci=PCI), True, "pv"),
        # rule 6: HVM/PVH with HAP -> not exposed
        (INTEL, guest("hvm", pci=PCI), False, "hap"),
        (INTEL, guest("pvh", pci=PCI, hap=True), False, "hap"),
        # rule 7: HVM/PVH in shadow mode on VT-x -> exposed
        (INTEL, guest("hvm", pci=PCI, hap=False), True, "shadow"),
        (INTEL, guest("pvh", iomem=("0xfebf0,0x1",), hap=False), True, "shadow"),
        (replace(INTEL, hap=False), guest("hvm", pci=PCI), True, "shadow"),
        (replace(INTEL, hap=False), guest("hvm", pci=PCI, hap=True), True, "shadow"),
        (
            replace(INTEL, virt="vt-x", vendor="centaur"),
            guest("hvm", pci=PCI, hap=False),
            True,
            "shadow",
        ),
        (replace(INTEL, vendor="shanghai"), guest("pvh", pci=PCI, hap=False), True, "shadow"),
        # rule 5: HVM/PVH on SVM hosts -> not exposed, even in shadow mode
        (AMD, guest("hvm", pci=PCI, hap=False), False, "shadow"),
        (replace(AMD, vendor="hygon", hap=False), guest("pvh", pci=PCI), False, "shadow"),
    ],
)
def test_each_row_of_the_rules_table(
    host: HostFacts, dom: DomainFacts, exposed: bool, paging: str
) -> None:
    assert verdict(host, dom) == (exposed, paging)


def test_arm_hosts_are_not_affected_even_with_a_pv_guest_with_hardware() -> None:
    arm = replace(INTEL, arch="arm", virt=None)
    assert verdict(arm, guest("pv", pci=PCI)) == (False, "pv")
    result = assess(arm, (guest("pv", pci=PCI),))
    assert not result.exposed and "Arm" in result.reason


@pytest.mark.parametrize("version", ["4.12.4", "4.13.2", "4.14.1", "4.15.0"])
def test_a_fixed_release_is_not_exposed_even_with_a_pv_guest_with_hardware(version: str) -> None:
    host = replace(INTEL, version=parse_xen_version(version))
    result = assess(host, (guest("pv", pci=PCI),))
    assert not result.exposed
    assert not any(v.exposed for v in result.domains)


def test_patched_makes_an_old_version_not_exposed() -> None:
    host = replace(INTEL, version=parse_xen_version("4.11.4"), patched=True)
    assert not assess(host, (guest("pv", pci=PCI),)).exposed


def test_an_unknown_cpu_vendor_counts_as_exposed_and_is_named() -> None:
    host = replace(INTEL, virt=None, vendor=None, vendor_source="unknown: pass --cpu-vendor")
    result = assess(host, (guest("hvm", pci=PCI, hap=False),))
    hvm = result.domains[1]
    assert hvm.exposed and hvm.unknowns == ("CPU vendor",)
    assert "CPU vendor unknown" in hvm.reason
    assert "CPU vendor" in result.unknowns


def test_unknown_hap_counts_as_exposed_on_vt_x_but_not_on_svm() -> None:
    intel = replace(INTEL, hap=None)
    amd = replace(AMD, hap=None)
    dom = guest("hvm", pci=PCI)
    assert verdict(intel, dom) == (True, "unknown")
    assert verdict(amd, dom) == (False, "unknown")


def test_unknown_passthrough_counts_as_exposed() -> None:
    dom = guest("hvm", passthrough_unknown=True)
    assert verdict(INTEL, dom)[0] is True


def test_passthrough_enabled_without_a_device_is_not_exposed_but_warns_about_hotplug() -> None:
    result = assess(INTEL, (guest("hvm", hap=False, passthrough_mode="sync_pt"),))
    assert not result.domains[1].exposed
    assert "hot-plugging" in result.domains[1].reason


def test_dom0_is_added_as_pv_with_hardware_trusted_and_not_counted() -> None:
    result = assess(INTEL, ())
    (dom0,) = result.domains
    assert (dom0.domain.domid, dom0.domain.type, dom0.exposed) == (0, "pv", True)
    assert dom0.domain.has_hardware and not dom0.counted
    assert "trusted and not counted" in dom0.reason
    assert not result.exposed
    assert "Domain-0 could take the path but is trusted" in result.reason


def test_count_dom0_counts_dom0_as_an_untrusted_domain() -> None:
    result = assess(INTEL, (), count_dom0=True)
    (dom0,) = result.domains
    assert dom0.exposed and dom0.counted
    assert "counted as untrusted (--count-dom0)" in dom0.reason
    assert result.exposed and result.count_dom0
    assert "exposed through Domain-0" in result.reason


def test_driver_and_stub_domains_stay_guests_when_dom0_is_trusted() -> None:
    driver = DomainFacts(name="sys-net", domid=3, type="pv", pci=PCI)
    result = assess(INTEL, (driver, guest("hvm", pci=PCI, stubdomain=True)))
    counted = {v.domain.name for v in result.domains if v.exposed and v.counted}
    assert counted == {"sys-net", "g-dm"}
    assert result.exposed


def test_a_minimal_dom0_entry_still_has_the_hosts_hardware() -> None:
    minimal = DomainFacts(name="Domain-0", domid=0, type=None)
    (dom0,) = assess(INTEL, (minimal,)).domains
    assert dom0.exposed and dom0.domain.type == "pv"


def test_a_pvh_dom0_with_hap_is_not_exposed_but_with_shadow_it_is_on_vt_x() -> None:
    pvh = replace(INTEL, dom0_type="pvh")
    assert not assess(pvh, (), count_dom0=True).exposed
    assert assess(replace(pvh, dom0_hap=False), (), count_dom0=True).exposed
    assert not assess(replace(pvh, dom0_hap=False, virt="svm"), (), count_dom0=True).exposed
    assert not assess(replace(pvh, dom0_hap=False), ()).exposed  # trusted by default


def test_without_a_guest_list_the_host_counts_as_exposed() -> None:
    pvh = replace(INTEL, dom0_type="pvh")
    result = assess(pvh, None)
    assert result.exposed
    assert any("guests" in u for u in result.unknowns)


def test_an_hvm_stub_domain_device_model_with_hardware_is_derived_as_an_exposed_pv_domain() -> None:
    result = assess(INTEL, (guest("hvm", pci=PCI, stubdomain=True),))
    names = [(v.domain.name, v.exposed) for v in result.domains]
    assert names == [("Domain-0", True), ("g", False), ("g-dm", True)]
    assert "(derived)" in result.domains[2].reason


# -- the fixtures, end to end -----------------------------------------------------------


def run(info: str, listing: str | None, **kw: object):  # type: ignore[no-untyped-def]
    host = parse_xl_info(read_xl_info(DATA / f"xlinfo-{info}"), **kw)  # type: ignore[arg-type]
    doms = read_xl_list(DATA / f"xllist-{listing}") if listing else None
    return assess(host, doms)


def exposed_names(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {v.domain.name for v in result.domains if v.exposed}


VTX_HAP = {
    "Domain-0",
    "router",
    "fb-console",
    "serial-log",
    "legacy-shadow",
    "pvh-nvme",
}
MIXED_ON_SVM = {"Domain-0", "router", "fb-console", "serial-log"}


@pytest.mark.parametrize(
    ("info", "listing", "exposed"),
    [
        ("4.14.0-intel.txt", "mixed.json", VTX_HAP),
        ("4.13.1-intel.txt", "mixed.json", VTX_HAP),
        ("4.13.1-suse.txt", "mixed.json", VTX_HAP),
        ("4.14.1-pre-intel.txt", "mixed.json", VTX_HAP),
        # no HAP on the host: the HVM guest with a GPU falls back to shadow
        (
            "4.14.0-intel-nohap.txt",
            "mixed.json",
            VTX_HAP | {"win10-gpu"},
        ),
        # HAP unknown (4.12 xl): a guest asking for HAP may run in shadow: exposed
        ("4.12.3-intel.txt", "mixed.json", VTX_HAP | {"win10-gpu"}),
        (
            "4.12.3-intel.txt",
            "hap-guests.json",
            {"Domain-0", "win10-gpu", "pvh-nvme"},
        ),
        (
            "4.10.4-intel.txt",
            "hap-guests.json",
            {"Domain-0", "win10-gpu", "pvh-nvme"},
        ),
        # SVM hosts: HVM/PVH never exposed
        ("4.11.4-amd.txt", "mixed.json", MIXED_ON_SVM),
        ("4.11.4-amd.txt", "hap-guests.json", {"Domain-0"}),
        # fixed releases and Arm: nothing exposed
        ("4.12.4-intel.txt", "mixed.json", set()),
        ("4.13.2-amd.txt", "mixed.json", set()),
        ("4.14.1-intel.txt", "mixed.json", set()),
        ("4.15.0-amd.txt", "mixed.json", set()),
        ("4.13.1-arm.txt", "mixed.json", set()),
        # PVH dom0 with HAP (Qubes-like): only shadow guests with hardware
        ("4.14.0-qubes-pvh-dom0.txt", "hap-guests.json", set()),
        (
            "4.14.0-qubes-pvh-dom0.txt",
            "mixed.json",
            VTX_HAP - {"Domain-0"},
        ),
        ("4.14.0-intel.txt", "pvhv1.json", {"Domain-0"}),
        ("4.14.0-intel.txt", "stubdom.json", {"Domain-0", "sys-net-dm"}),
    ],
)
def test_each_fixture_host_has_its_expected_exposed_domains(
    info: str, listing: str, exposed: set[str]
) -> None:
    result = run(info, listing)
    assert exposed_names(result) == exposed
    assert result.exposed == bool(exposed - {"Domain-0"})  # dom0 trusted, not counted
    counted = assess(result.host, tuple(v.domain for v in result.domains), count_dom0=True)
    assert counted.exposed == bool(exposed)


def test_a_pre_release_host_says_why_it_is_not_trusted() -> None:
    result = run("4.14.1-pre-intel.txt", "mixed.json")
    assert "pre-release of 4.14.1" in result.hypervisor_reason
    assert "git:a4e7c9b1d2" in result.hypervisor_reason


def test_an_svm_host_with_an_explicit_intel_vendor_follows_the_vendor() -> None:
    result = run("4.11.4-amd.txt", "mixed.json", cpu_vendor="intel")
    assert "legacy-shadow" in exposed_names(result)
