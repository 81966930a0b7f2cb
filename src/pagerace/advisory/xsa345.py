"""XSA-345 (CVE-2020-27672) exposure: the rules, as pure functions over facts.

The advisory's conditions in predicate form, per domain d on host h:

1. h is not x86 (Arm)                        -> not exposed
2. h's hypervisor contains the fix           -> not exposed
   (a release from 4.12.4 / 4.13.2 / 4.14.1 / 4.15.0 on, or ``--patched``)
3. d has no passed-through hardware          -> not exposed
   (no PCI device, no I/O memory, no I/O ports: l1_disallow_mask keeps the
   cache-attribute bits away from it, so it cannot reach update_xen_mappings)
4. d is PV                                   -> exposed
5. d is HVM or PVH on an SVM host (AMD, Hygon)             -> not exposed
6. d is HVM or PVH with HAP                  -> not exposed
   (p2m updates never call get_page_from_l1e)
7. d is HVM or PVH in shadow mode on a VT-x host (Intel, Centaur, Shanghai)
                                             -> exposed

A verdict that rests on an unknown fact says which and counts as exposed.  Dom0
(PV, or PVH with ``dom0=pvh``) holds the host's I/O memory and ports, so it can take
the racy path; but the advisory's concern is guests, and dom0 is already trusted with
the whole host: its verdict is shown (with its passthrough) and is not counted in the
host's verdict unless ``count_dom0`` (``--count-dom0``) treats dom0 as untrusted.
Driver domains and device-model stub domains are guests like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pagerace.advisory.facts import DomainFacts, HostFacts
from pagerace.advisory.versions import FixStatus, VersionVerdict, fix_status

__all__ = [
    "MITIGATION",
    "Assessment",
    "DomainVerdict",
    "assess",
    "domain_verdict",
    "hypervisor_verdict",
    "paging_mode",
]

MITIGATION = (
    "Run every guest that has passed-through hardware (PCI devices, iomem or ioports) "
    'in HVM or PVH mode with HAP enabled (xl.cfg: type="hvm" or type="pvh", hap=1, on a '
    "host with HAP), or update Xen to a release that contains the XSA-345 fix: 4.12.4, "
    "4.13.2, 4.14.1, 4.15.0 or later (or a vendor build that carries it)."
)

DOM0_COUNTED = (
    "dom0, counted as untrusted (--count-dom0): it holds the host's I/O memory and port "
    "permissions, so a compromised or abusive dom0 process can take this path"
)
DOM0_TRUSTED = (
    "dom0, trusted and not counted (--count-dom0 counts it): it holds the host's I/O "
    "memory and port permissions and could take this path, but it already controls the host"
)


@dataclass(frozen=True, slots=True)
class DomainVerdict:
    domain: DomainFacts
    paging: str  # "pv", "hap", "shadow" or "unknown"
    exposed: bool  # the domain can reach the racy code
    reason: str
    unknowns: tuple[str, ...] = ()
    counted: bool = True  # part of the host's verdict (dom0 only with count_dom0)


@dataclass(frozen=True, slots=True)
class Assessment:
    host: HostFacts
    hypervisor: VersionVerdict
    hypervisor_vulnerable: bool
    hypervisor_reason: str
    domains: tuple[DomainVerdict, ...]
    guests_listed: bool
    exposed: bool
    reason: str
    unknowns: tuple[str, ...]
    mitigation: str = MITIGATION
    count_dom0: bool = False


def hypervisor_verdict(host: HostFacts) -> tuple[bool, str]:
    """Is the hypervisor itself vulnerable?  (rules 1 and 2)"""
    if host.arch == "arm":
        return False, "Arm hosts are not affected: XSA-345 is in x86 mapping code"
    if host.patched:
        return False, f"Xen {host.version}: the vendor build carries the fix (--patched)"
    verdict = fix_status(host.version)
    reason = verdict.reason
    if host.arch is None:
        reason = "architecture unknown, counted as x86; " + reason
    elif host.arch != "x86":
        return False, f"{host.arch} hosts are not affected: XSA-345 is in x86 mapping code"
    if verdict.status is not FixStatus.FIXED and host.compile_date:
        reason += f" (hypervisor built {host.compile_date}"
        if host.changeset:
            reason += f", changeset {host.changeset}"
        reason += ")"
    return verdict.vulnerable, reason


def paging_mode(host: HostFacts, dom: DomainFacts) -> tuple[str, str]:
    """The domain's paging mode and why: pv, hap, shadow or unknown."""
    if dom.type == "pv":
        return "pv", "PV"
    if dom.type is None:
        return "unknown", "domain type unknown"
    if dom.hap is False:
        return "shadow", "HAP disabled for this guest (hap=0)"
    if host.hap is False:
        return "shadow", f"host has no HAP ({host.hap_source})"
    if host.hap is True:
        return "hap", "HAP"
    return "unknown", f"whether the host has HAP is unknown ({host.hap_source})"


def domain_verdict(
    host: HostFacts,
    dom: DomainFacts,
    hv_vulnerable: bool,
    hv_reason: str,
    *,
    count_dom0: bool = False,
) -> DomainVerdict:
    paging, paging_why = paging_mode(host, dom)
    prefix = ""
    if dom.stub_of is not None:
        prefix = (
            f"(derived) device-model stub domain of {dom.stub_of}: a PV domain that libxl "
            f"grants I/O memory/port access to {dom.stub_of}'s devices, so a guest that "
            "takes over its device model reaches the PV path; "
        )

    def verdict(exposed: bool, why: str, unknowns: tuple[str, ...] = ()) -> DomainVerdict:
        counted = True
        if dom.is_dom0:
            counted = count_dom0
            if exposed:
                why = f"{DOM0_COUNTED if count_dom0 else DOM0_TRUSTED}; {why}"
            else:
                why = ("dom0 (counted): " if count_dom0 else "dom0 (trusted): ") + why
        return DomainVerdict(dom, paging, exposed, prefix + why, unknowns, counted)

    if not hv_vulnerable:
        return verdict(False, hv_reason)
    hardware = dom.has_hardware
    if hardware is None:
        return verdict(
            True,
            "unknown whether it has passed-through hardware; counted as exposed",
            ("passthrough",),
        )
    if not hardware:
        why = "no passed-through hardware (no PCI devices, I/O memory or I/O ports)"
        if dom.passthrough_mode in ("enabled", "sync_pt", "share_pt"):
            why += (
                f"; its IOMMU context is set up (passthrough={dom.passthrough_mode}): "
                "hot-plugging a device would change this verdict"
            )
        return verdict(False, why)
    hw = dom.hardware_summary()
    if dom.type == "pv":
        return verdict(True, f"PV with passed-through hardware ({hw})")
    if dom.type is None:
        if host.virt == "svm":
            return verdict(
                False,
                "SVM host: HVM/PVH are not exposed, but the type is unknown and PV would be",
                ("domain type",),
            )
        return verdict(True, "domain type unknown; counted as exposed", ("domain type",))
    kind = dom.type.upper()
    if host.virt == "svm":
        return verdict(False, f"{kind} on an SVM host (AMD/Hygon): not exposed in any paging mode")
    if paging == "hap":
        return verdict(False, f"{kind} with HAP: p2m updates never reach the racy code")
    missing: list[tuple[str, str]] = []
    if paging == "unknown":
        missing.append(("HAP availability", host.hap_source))
    if host.virt is None:
        missing.append(("CPU vendor", host.vendor_source))
    if missing:
        facts = "; ".join(
            f"{name} unknown ({source.removeprefix('unknown: ')})" for name, source in missing
        )
        return verdict(
            True,
            f"{kind} with passed-through hardware ({hw}) is exposed in shadow mode on a VT-x "
            f"host; {facts}; counted as exposed",
            tuple(name for name, _ in missing),
        )
    return verdict(
        True,
        f"{kind} in shadow mode ({paging_why}) on a VT-x host with passed-through hardware ({hw})",
    )


def _with_dom0(host: HostFacts, domains: tuple[DomainFacts, ...]) -> tuple[DomainFacts, ...]:
    """Make sure dom0 is there, with its implicit hardware access."""
    out: list[DomainFacts] = []
    has_dom0 = False
    for dom in domains:
        if dom.is_dom0:
            has_dom0 = True
            dtype = dom.type or host.dom0_type
            hap = dom.hap if dom.hap is not None else host.dom0_hap
            explicit = dom.passthrough is not None or dom.passthrough_unknown
            dom = replace(
                dom, type=dtype, hap=hap, passthrough=dom.passthrough if explicit else True
            )
        out.append(dom)
    if not has_dom0:
        out.insert(
            0,
            DomainFacts(
                name="Domain-0",
                domid=0,
                type=host.dom0_type,
                hap=host.dom0_hap,
                passthrough=True,
                source=f"assumed ({host.dom0_source})",
            ),
        )
    return tuple(out)


def _with_stub_domains(domains: tuple[DomainFacts, ...]) -> tuple[DomainFacts, ...]:
    out: list[DomainFacts] = []
    for dom in domains:
        out.append(dom)
        if dom.type == "hvm" and dom.stubdomain and (dom.pci or dom.iomem or dom.ioports):
            out.append(
                DomainFacts(
                    name=f"{dom.name}-dm",
                    domid=None,
                    type="pv",
                    pci=dom.pci,
                    iomem=dom.iomem,
                    ioports=dom.ioports,
                    stub_of=dom.name,
                    source=f"derived: device_model_stubdomain of {dom.name}",
                )
            )
    return tuple(out)


def assess(
    host: HostFacts, domains: tuple[DomainFacts, ...] | None, *, count_dom0: bool = False
) -> Assessment:
    """Assess a host.  ``domains`` None means the guests were not listed at all;
    ``count_dom0`` counts dom0 as an untrusted domain in the host's verdict."""
    hv_vulnerable, hv_reason = hypervisor_verdict(host)
    listed = domains is not None
    all_domains = _with_stub_domains(_with_dom0(host, domains or ()))
    verdicts = tuple(
        domain_verdict(host, d, hv_vulnerable, hv_reason, count_dom0=count_dom0)
        for d in all_domains
    )
    counted = [v for v in verdicts if v.exposed and v.counted]
    unknowns = sorted({u for v in counted for u in v.unknowns})
    exposed_names = [v.domain.name for v in counted]
    trusted_note = "".join(
        f"; {v.domain.name} could take the path but is trusted (not counted; --count-dom0"
        " counts it)"
        for v in verdicts
        if v.exposed and not v.counted
    )
    if not hv_vulnerable:
        return Assessment(
            host,
            fix_status(host.version),
            False,
            hv_reason,
            verdicts,
            listed,
            False,
            f"not exposed: {hv_reason}",
            (),
            count_dom0=count_dom0,
        )
    if not listed:
        unknowns = sorted({*unknowns, "guests (no --xl-list given)"})
    if exposed_names or not listed:
        parts = []
        if exposed_names:
            parts.append("exposed through " + ", ".join(exposed_names))
        if not listed:
            parts.append("the guests were not listed (--xl-list), so any of them may be")
        reason = "; ".join(parts) + trusted_note + f"; {hv_reason}"
        return Assessment(
            host,
            fix_status(host.version),
            True,
            hv_reason,
            verdicts,
            listed,
            True,
            reason,
            tuple(unknowns),
            count_dom0=count_dom0,
        )
    return Assessment(
        host,
        fix_status(host.version),
        True,
        hv_reason,
        verdicts,
        listed,
        False,
        "not exposed now: the hypervisor is vulnerable but no running guest can reach "
        "the racy code; a PV guest with passed-through hardware would" + trusted_note,
        (),
        count_dom0=count_dom0,
    )
