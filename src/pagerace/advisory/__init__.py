"""pagerace.advisory: is a real Xen host exposed to XSA-345 (CVE-2020-27672)?

Parsers turn what the host's tools print (`xl info`, `xl list -l`) or a TOML host
description into frozen facts; ``assess`` applies the advisory's rules to them.
This package stands beside ``pagerace.xen`` and imports nothing from pagerace but
``pagerace.errors`` and ``pagerace.userio``.
"""

from pagerace.advisory.facts import CPU_VENDORS, DomainFacts, HostFacts
from pagerace.advisory.hostfile import HostFile, HostFileError, load_host_file, parse_host_file
from pagerace.advisory.versions import (
    FIX_COMMITS,
    FixStatus,
    VersionVerdict,
    XenVersion,
    fix_status,
    parse_xen_version,
)
from pagerace.advisory.xlinfo import XlInfoError, parse_xl_info, parse_xl_info_text, read_xl_info
from pagerace.advisory.xllist import XlListError, parse_xl_list, read_xl_list
from pagerace.advisory.xsa345 import MITIGATION, Assessment, DomainVerdict, assess

__all__ = [
    "CPU_VENDORS",
    "FIX_COMMITS",
    "MITIGATION",
    "Assessment",
    "DomainFacts",
    "DomainVerdict",
    "FixStatus",
    "HostFacts",
    "HostFile",
    "HostFileError",
    "VersionVerdict",
    "XenVersion",
    "XlInfoError",
    "XlListError",
    "assess",
    "fix_status",
    "load_host_file",
    "parse_host_file",
    "parse_xen_version",
    "parse_xl_info",
    "parse_xl_info_text",
    "parse_xl_list",
    "read_xl_info",
    "read_xl_list",
]
