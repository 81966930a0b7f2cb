"""What is known about a host and its domains: frozen values, ``None`` = unknown.

The parsers (xlinfo, xllist, hostfile) produce these; the rules (xsa345) read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pagerace.advisory.versions import XenVersion

__all__ = [
    "CPU_VENDORS",
    "DOMAIN_TYPES",
    "DomainFacts",
    "HostFacts",
    "virt_of_vendor",
]

#: CPU vendor -> hardware virtualisation family.  The advisory distinguishes VT-x
#: hosts (Intel, Centaur, Shanghai) from SVM hosts (AMD, Hygon).
CPU_VENDORS: dict[str, str] = {
    "intel": "vt-x",
    "centaur": "vt-x",
    "shanghai": "vt-x",
    "amd": "svm",
    "hygon": "svm",
}

DOMAIN_TYPES = ("pv", "hvm", "pvh")


def virt_of_vendor(vendor: str) -> str:
    return CPU_VENDORS[vendor]


@dataclass(frozen=True, slots=True)
class HostFacts:
    """The hypervisor and the machine.

    ``virt`` is "vt-x", "svm" or None (unknown); ``hap`` is whether the host can
    run HVM/PVH guests with hardware-assisted paging (None = unknown).
    """

    name: str
    arch: str | None  # "x86", "arm", another string, or None (unknown)
    version: XenVersion
    virt: str | None = None
    vendor: str | None = None
    vendor_source: str = "unknown"
    hap: bool | None = None
    hap_source: str = "unknown"
    patched: bool = False
    dom0_type: str = "pv"
    dom0_hap: bool | None = None  # False: PVH dom0 forced into shadow mode
    dom0_source: str = "default: x86 dom0 is PV"
    compile_date: str | None = None
    changeset: str | None = None
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """One domain as the toolstack describes it.

    ``hap`` is the guest's own setting: True, False, or None for libxl's default
    (HAP whenever the host has it).  ``passthrough`` overrides what the device lists
    say (True/False) or is None to derive it from them; ``passthrough_unknown``
    marks a domain whose hardware access nobody knows.
    """

    name: str
    domid: int | None
    type: str | None
    pci: tuple[str, ...] = ()
    iomem: tuple[str, ...] = ()
    ioports: tuple[str, ...] = ()
    hap: bool | None = None
    passthrough: bool | None = None
    passthrough_unknown: bool = False
    passthrough_mode: str | None = None  # libxl c_info.passthrough, when printed
    stubdomain: bool = False  # HVM guest whose device model runs in a stub domain
    stub_of: str | None = None  # this is the device-model stub domain of that guest
    source: str = "xl list -l"

    @property
    def is_dom0(self) -> bool:
        return self.domid == 0

    @property
    def has_hardware(self) -> bool | None:
        """Has passed-through hardware (PCI devices, I/O memory or I/O ports)?"""
        if self.passthrough_unknown:
            return None
        if self.passthrough is not None:
            return self.passthrough
        return bool(self.pci or self.iomem or self.ioports)

    def hardware_summary(self) -> str:
        parts = []
        if self.pci:
            parts.append("pci " + ", ".join(self.pci))
        if self.iomem:
            parts.append("iomem " + ", ".join(self.iomem))
        if self.ioports:
            parts.append("ioports " + ", ".join(self.ioports))
        if parts:
            return "; ".join(parts)
        if self.passthrough_unknown:
            return "unknown"
        if self.passthrough:
            return "host I/O (dom0)" if self.is_dom0 else "yes"
        return "none"
