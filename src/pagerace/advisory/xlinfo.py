"""Parse the output of `xl info` into HostFacts.

Format (tools/xl/xl_info.c): one ``"%-23s: %s"`` line per key, in the order host,
release, version, machine, nr_cpus, ..., hw_caps, virt_caps, ..., xen_major,
xen_minor, xen_extra, xen_version, xen_caps, ..., xen_commandline, cc_compiler, ...,
cc_compile_date, build_id, xend_config_format; `xl info -n` adds cpu_topology and
numa_info tables, whose rows are not ``key : value`` lines and are skipped.

``virt_caps`` as printed by the xl of each version:

* 4.10, 4.11: ``hvm hvm_directio`` (``hvm`` alone without an IOMMU)
* 4.12:       ``pv hvm hvm_directio pv_directio``
* 4.13, 4.14: ``pv hvm hvm_directio pv_directio hap shadow`` (``hap`` only when the
  host has HAP; ``shadow`` only when Xen was built with shadow paging)
* 4.15 on:    adds ``iommu_hap_pt_share``, later ``vmtrace``, ``vpmu``, ``gnttab-v1``...

So before 4.13 `xl info` does not say whether the host has HAP.

``hw_caps`` is eight 32-bit words.  From Xen 4.7 they are the featureset words of
public/arch-x86/cpufeatureset.h: word 1 is CPUID.1:ECX (VMX = bit 5), word 3 is
CPUID.0x80000001:ECX (SVM = bit 2).  Before 4.7 they were Linux-style capability
words: word 4 is CPUID.1:ECX and word 6 is CPUID.0x80000001:ECX.  A VMX bit means a
VT-x CPU (Intel, Centaur or Shanghai), an SVM bit an AMD or Hygon CPU; that is all
the advisory needs to know of the vendor.
"""

from __future__ import annotations

import re
from pathlib import Path

from pagerace.advisory.facts import HostFacts, virt_of_vendor
from pagerace.advisory.versions import XenVersion, parse_xen_version, uncertain, version_from_xl
from pagerace.errors import PageraceInputError
from pagerace.userio import UserFileError, one_line, parse_uint, read_user_text

__all__ = ["XlInfoError", "parse_xl_info", "parse_xl_info_text", "read_xl_info"]

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s(.*))?$")
_FALSE = {"0", "no", "false", "off", "disable"}
_TRUE = {"1", "yes", "true", "on", "enable", ""}


class XlInfoError(PageraceInputError):
    """An `xl info` file is unreadable or is not `xl info` output."""


#: `xl info` prints about 3 KiB (with -n, a few KiB per NUMA node).
MAX_XL_INFO_BYTES = 1 << 20


def read_xl_info(path: str | Path) -> dict[str, str]:
    """Read a file of `xl info` output into its ``key -> value`` pairs."""
    try:
        text = read_user_text(str(path), limit=MAX_XL_INFO_BYTES, strict=False)
    except UserFileError as exc:
        raise XlInfoError(str(exc)) from None
    return parse_xl_info_text(text, str(path))


def parse_xl_info_text(text: str, where: str = "xl info") -> dict[str, str]:
    if not text.strip():
        raise XlInfoError(f"{where}: the file is empty; expected the output of `xl info`")
    pairs: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        match = _LINE.match(line)
        if match is None:
            continue
        key, value = match.group(1), (match.group(2) or "").strip()
        if key in pairs and pairs[key] != value:
            raise XlInfoError(
                f"{where}: {key} appears twice with different values"
                f" ({one_line(pairs[key], 60)!s} and {one_line(value, 60)!s}); one host's"
                " `xl info` prints each key once"
            )
        pairs.setdefault(key, value)
    if "xen_major" not in pairs and "xen_version" not in pairs:
        raise XlInfoError(f"{where}: not `xl info` output (no xen_major or xen_version line)")
    return pairs


def parse_xl_info(
    pairs: dict[str, str],
    where: str = "xl info",
    *,
    cpu_vendor: str | None = None,
    patched: bool = False,
) -> HostFacts:
    """Turn `xl info` pairs into HostFacts.

    ``cpu_vendor`` (one of facts.CPU_VENDORS, already validated) wins over what
    hw_caps suggests; a disagreement is kept as a note.
    """
    version = _version(pairs, where)
    arch = _arch(pairs)
    notes: list[str] = []

    derived = _virt_from_hw_caps(pairs.get("hw_caps", ""), version) if arch == "x86" else None
    if cpu_vendor is not None:
        virt: str | None = virt_of_vendor(cpu_vendor)
        vendor_source = "--cpu-vendor"
        if derived is not None and derived != virt:
            notes.append(
                f"hw_caps shows a {derived.upper()} CPU but --cpu-vendor says {cpu_vendor}; "
                "using --cpu-vendor"
            )
    elif derived is not None:
        virt = derived
        vendor_source = f"hw_caps ({'VMX' if derived == 'vt-x' else 'SVM'} feature bit)"
    else:
        virt = None
        vendor_source = "unknown: hw_caps shows neither VMX nor SVM; pass --cpu-vendor"

    cmdline = pairs.get("xen_commandline", "")
    hap, hap_source = _hap(pairs.get("virt_caps"), version, cmdline)
    dom0_type, dom0_hap, dom0_source = _dom0(cmdline)

    return HostFacts(
        name=pairs.get("host", "") or "(unnamed host)",
        arch=arch,
        version=version,
        virt=virt,
        vendor=cpu_vendor,
        vendor_source=vendor_source,
        hap=hap,
        hap_source=hap_source,
        patched=patched,
        dom0_type=dom0_type,
        dom0_hap=dom0_hap,
        dom0_source=dom0_source,
        compile_date=pairs.get("cc_compile_date") or None,
        changeset=pairs.get("xen_changeset") or None,
        notes=tuple(notes),
    )


def _version(pairs: dict[str, str], where: str) -> XenVersion:
    """The version from xen_major/xen_minor/xen_extra and xen_version.  Facts that
    are missing (no xen_extra: a file cut short) or that disagree give a version of
    kind "incomplete", whose fix status is uncertain: never "not exposed"."""
    major, minor = pairs.get("xen_major"), pairs.get("xen_minor")
    text = pairs.get("xen_version")
    stated = None
    if text is not None:
        try:
            stated = parse_xen_version(text)
        except PageraceInputError as exc:
            raise XlInfoError(f"{where}: xen_version: {exc}") from exc
    if major is None or minor is None:
        if stated is None:
            raise XlInfoError(f"{where}: no xen_version line and no xen_major/xen_minor pair")
        return stated
    try:
        numbers = (
            parse_uint(major, "xen_major", maximum=_MAX_VERSION_PART),
            parse_uint(minor, "xen_minor", maximum=_MAX_VERSION_PART),
        )
    except PageraceInputError as exc:
        raise XlInfoError(f"{where}: {exc}") from None
    extra = pairs.get("xen_extra")
    if extra is None:
        if stated is not None and (stated.major, stated.minor) == numbers:
            return uncertain(stated, "xl info has no xen_extra line (cut short?)")
        return uncertain(
            version_from_xl(*numbers, ""),
            "xl info has no xen_extra line (cut short?), so the patch level is unknown",
        )
    version = version_from_xl(*numbers, extra)
    if stated is not None and stated.raw != version.raw:
        return uncertain(
            version,
            f"xen_version {one_line(text, 60)} disagrees with xen_major.xen_minor xen_extra"
            f" ({one_line(version.raw, 60)})",
        )
    return version


_MAX_VERSION_PART = 999


def _arch(pairs: dict[str, str]) -> str | None:
    """x86, arm, another architecture string, or None if xl info does not say."""
    caps = pairs.get("xen_caps", "").split()
    names = [c.rsplit("-", 1)[-1] for c in caps if c.startswith(("xen-", "hvm-"))]
    machine = pairs.get("machine", "").strip()
    for name in [*names, machine]:
        if not name:
            continue
        if name.startswith("x86") or re.fullmatch(r"i[3-6]86|amd64", name):
            return "x86"
        if name.startswith(("arm", "aarch64")):
            return "arm"
    return machine or None


def _virt_from_hw_caps(hw_caps: str, version: XenVersion) -> str | None:
    words = hw_caps.replace(" ", "").split(":")
    try:
        values = [int(w, 16) for w in words]
    except ValueError:
        return None
    if len(values) < 7:
        return None
    if (version.major, version.minor) >= (4, 7):
        leaf1_ecx, ext_ecx = values[1], values[3]
    else:
        leaf1_ecx, ext_ecx = values[4], values[6]
    vmx, svm = bool(leaf1_ecx & (1 << 5)), bool(ext_ecx & (1 << 2))
    if vmx and not svm:
        return "vt-x"
    if svm and not vmx:
        return "svm"
    return None


def _boolean_option(cmdline: str, name: str) -> bool | None:
    """Xen's boolean_param: ``name``, ``name=<bool>`` or ``no-name``; last one wins."""
    result: bool | None = None
    for token in cmdline.split():
        if token == f"no-{name}":
            result = False
        elif token == name:
            result = True
        elif token.startswith(f"{name}="):
            value = token.split("=", 1)[1].lower()
            if value in _FALSE:
                result = False
            elif value in _TRUE:
                result = True
    return result


def _hap(virt_caps: str | None, version: XenVersion, cmdline: str) -> tuple[bool | None, str]:
    if _boolean_option(cmdline, "hap") is False:
        return False, "xen_commandline disables HAP (hap=0)"
    if virt_caps is None:
        return None, "unknown: no virt_caps line"
    caps = virt_caps.split()
    if "hap" in caps:
        return True, "virt_caps lists hap"
    if "shadow" in caps or (version.major, version.minor) >= (4, 13):
        return False, "virt_caps does not list hap (this xl prints it when available)"
    return None, f"unknown: the xl of Xen {version.branch} does not print hap in virt_caps"


def _dom0(cmdline: str) -> tuple[str, bool | None, str]:
    """Dom0's type and, for PVH, whether it is forced into shadow mode."""
    dom0_type, dom0_hap, source = "pv", None, "default: x86 dom0 is PV"
    for token in cmdline.split():
        if token.startswith("dom0="):
            items = token.split("=", 1)[1].split(",")
            for item in items:
                if item == "pvh":
                    dom0_type, source = "pvh", f"xen_commandline {token}"
                elif item == "pv":
                    dom0_type, source = "pv", f"xen_commandline {token}"
                elif item == "shadow":
                    dom0_hap = False
                elif item in ("no-shadow", "shadow=0", "shadow=no", "shadow=false"):
                    dom0_hap = None
    if _boolean_option(cmdline, "dom0pvh"):  # PVHv1 (Xen 4.4 to 4.9)
        dom0_type, source = "pvh", "xen_commandline dom0pvh"
    return dom0_type, (dom0_hap if dom0_type == "pvh" else None), source
