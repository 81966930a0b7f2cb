"""A TOML description of a host, for hosts where `xl` cannot be run.

Schema (every key not listed is an error)::

    [host]
    name = "xen01"               # optional string
    arch = "x86_64"              # required: x86_64 | x86 | i686 | aarch64 | arm64 | arm32 | armv7l
    xen_version = "4.13.1"       # required: as `xl info` prints xen_version
    cpu_vendor = "intel"         # optional: intel | amd | centaur | shanghai | hygon
    hap = true                   # optional bool: the host can run guests with HAP
                                 #   (omitted: unknown)
    patched = false              # optional bool: the build carries the XSA-345 fix
    dom0 = "pv"                  # optional: pv | pvh (default pv)
    dom0_hap = true              # optional bool, PVH dom0 only: false = dom0=pvh,shadow

    [[domains]]                  # zero or more
    name = "web1"                # required string
    domid = 3                    # optional integer >= 0 (0 is dom0)
    type = "pv"                  # required: pv | hvm | pvh
    pci = ["0000:03:00.0"]       # optional list of strings
    iomem = ["0xfebf0,1"]        # optional list of strings (xl.cfg iomem syntax)
    ioports = ["0x3f8-0x3ff"]    # optional list of strings (xl.cfg ioports syntax)
    passthrough = false          # optional: true | false | "unknown"; default: derived
                                 #   from pci/iomem/ioports (dom0: true)
    hap = true                   # optional bool; omitted = libxl default (HAP if the
                                 #   host has it)
    stubdomain = false           # optional bool: HVM device model in a stub domain
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagerace.advisory.facts import CPU_VENDORS, DOMAIN_TYPES, DomainFacts, HostFacts
from pagerace.advisory.versions import parse_xen_version
from pagerace.errors import PageraceInputError
from pagerace.userio import StructuredTextError, UserFileError, load_toml, one_line, read_user_text

__all__ = ["HostFile", "HostFileError", "load_host_file", "parse_host_file"]

_ARCHES = {
    "x86_64": "x86",
    "x86": "x86",
    "i686": "x86",
    "amd64": "x86",
    "aarch64": "arm",
    "arm64": "arm",
    "arm32": "arm",
    "armv7l": "arm",
    "arm": "arm",
}
_HOST_KEYS = {"name", "arch", "xen_version", "cpu_vendor", "hap", "patched", "dom0", "dom0_hap"}
_DOMAIN_KEYS = {
    "name",
    "domid",
    "type",
    "pci",
    "iomem",
    "ioports",
    "passthrough",
    "hap",
    "stubdomain",
}


class HostFileError(PageraceInputError):
    """A host file is wrong: names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")


@dataclass(frozen=True, slots=True)
class HostFile:
    host: HostFacts
    domains: tuple[DomainFacts, ...]


#: A host file larger than this is refused.
MAX_HOST_FILE_BYTES = 4 << 20


def load_host_file(path: str | Path, *, patched: bool = False) -> HostFile:
    try:
        text = read_user_text(str(path), limit=MAX_HOST_FILE_BYTES)
    except UserFileError as exc:
        raise HostFileError(str(path), "", exc.reason) from None
    return parse_host_file(text, str(path), patched=patched)


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class _Reader:
    def __init__(self, file: str, table: dict[str, Any], prefix: str, allowed: set[str]):
        self.file, self.table, self.prefix = file, table, prefix
        for key in table:
            if key not in allowed:
                raise HostFileError(
                    file, f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
                )

    def fail(self, key: str, reason: str) -> HostFileError:
        return HostFileError(self.file, f"{self.prefix}{key}", reason)

    def get(self, key: str, kind: type, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                raise self.fail(key, "required key is missing")
            return None
        value = self.table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise self.fail(key, f"expected {_type_name(kind())}, got {_type_name(value)}")
        return value

    def choice(
        self, key: str, choices: tuple[str, ...] | set[str], required: bool = False
    ) -> str | None:
        value = self.get(key, str, required)
        if value is not None and value not in choices:
            raise self.fail(
                key, f"expected one of {', '.join(sorted(choices))}, got {one_line(repr(value))}"
            )
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list)
        if value is None:
            return ()
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {_type_name(item)}")
        return tuple(value)


def parse_host_file(text: str, file: str = "host file", *, patched: bool = False) -> HostFile:
    try:
        data = load_toml(text)
    except StructuredTextError as exc:
        raise HostFileError(file, exc.where, f"not valid TOML: {exc.reason}") from None
    top = _Reader(file, data, "", {"host", "domains"})
    host_table = top.get("host", dict, required=True)
    h = _Reader(file, host_table, "host.", _HOST_KEYS)
    arch_name = h.choice("arch", set(_ARCHES), required=True)
    assert arch_name is not None
    version_text = h.get("xen_version", str, required=True)
    try:
        version = parse_xen_version(version_text)
    except PageraceInputError as exc:
        raise h.fail("xen_version", str(exc)) from exc
    vendor = h.choice("cpu_vendor", tuple(CPU_VENDORS))
    hap = h.get("hap", bool)
    dom0 = h.choice("dom0", ("pv", "pvh")) or "pv"
    dom0_hap = h.get("dom0_hap", bool)
    if dom0_hap is not None and dom0 != "pvh":
        raise h.fail("dom0_hap", 'only meaningful with dom0 = "pvh"')
    host = HostFacts(
        name=h.get("name", str) or Path(file).stem,
        arch=_ARCHES[arch_name],
        version=version,
        virt=CPU_VENDORS[vendor] if vendor else None,
        vendor=vendor,
        vendor_source=f"{file}: host.cpu_vendor"
        if vendor
        else f"unknown: {file} names no cpu_vendor",
        hap=hap,
        hap_source=f"{file}: host.hap" if hap is not None else f"unknown: {file} has no host.hap",
        patched=patched or bool(h.get("patched", bool)),
        dom0_type=dom0,
        dom0_hap=dom0_hap,
        dom0_source=f"{file}: host.dom0" if "dom0" in host_table else "default: x86 dom0 is PV",
    )

    domains_value = top.get("domains", list) or []
    domains = []
    seen: set[int] = set()
    for i, table in enumerate(domains_value):
        if not isinstance(table, dict):
            raise HostFileError(file, f"domains[{i}]", f"expected a table, got {_type_name(table)}")
        d = _Reader(file, table, f"domains[{i}].", _DOMAIN_KEYS)
        domid = d.get("domid", int)
        if domid is not None:
            if domid < 0:
                raise d.fail("domid", "must be >= 0")
            if domid in seen:
                raise d.fail("domid", f"domid {domid} appears twice")
            seen.add(domid)
        dtype = d.choice("type", DOMAIN_TYPES, required=True)
        pci, iomem, ioports = d.strings("pci"), d.strings("iomem"), d.strings("ioports")
        passthrough: bool | None = None
        unknown = False
        if "passthrough" in table:
            value = table["passthrough"]
            if value == "unknown":
                unknown = True
            elif isinstance(value, bool):
                passthrough = value
                if not value and (pci or iomem or ioports):
                    raise d.fail("passthrough", "false, but pci/iomem/ioports are listed")
            else:
                raise d.fail(
                    "passthrough", f'expected true, false or "unknown", got {one_line(repr(value))}'
                )
        domains.append(
            DomainFacts(
                name=d.get("name", str, required=True),
                domid=domid,
                type=dtype,
                pci=pci,
                iomem=iomem,
                ioports=ioports,
                hap=d.get("hap", bool),
                passthrough=passthrough,
                passthrough_unknown=unknown,
                stubdomain=bool(d.get("stubdomain", bool)),
                source=file,
            )
        )
    return HostFile(host, tuple(domains))
