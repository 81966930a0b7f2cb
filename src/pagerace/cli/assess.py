"""`pagerace assess`: is this Xen host exposed to XSA-345?  All output is here.

Exit status: 0 not exposed, 1 exposed (or exposure rests on an unknown fact),
2 bad input (raised as PageraceInputError; the CLI main prints one line).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pagerace import advisory
from pagerace.advisory import (
    CPU_VENDORS,
    Assessment,
    DomainVerdict,
    load_host_file,
    parse_xl_info,
    read_xl_info,
    read_xl_list,
)
from pagerace.errors import PageraceInputError
from pagerace.userio import one_line, plan_outputs, write_atomic

__all__ = ["assess", "assessment_to_json"]


def _vendor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in CPU_VENDORS:
        raise PageraceInputError(
            f"unknown CPU vendor {value!r}: expected one of {', '.join(CPU_VENDORS)}"
        )
    return lowered


@click.command(name="assess")
@click.option(
    "--xl-info", "xl_info", type=str, metavar="FILE", help="Output of `xl info` on the host."
)
@click.option(
    "--xl-list",
    "xl_list",
    type=str,
    metavar="FILE",
    help="Output of `xl list -l` (JSON) on the host.",
)
@click.option(
    "--host",
    "host_file",
    type=str,
    metavar="FILE.toml",
    help="TOML host description, instead of --xl-info/--xl-list.",
)
@click.option(
    "--cpu-vendor",
    callback=_vendor,
    metavar="VENDOR",
    help="intel, amd, centaur, shanghai or hygon, when xl info cannot tell.",
)
@click.option("--patched", is_flag=True, help="The vendor build is known to carry the XSA-345 fix.")
@click.option(
    "--count-dom0",
    is_flag=True,
    help="Treat dom0 as untrusted: count it in the host's verdict (by default dom0 is "
    "trusted with the host and its verdict is shown but not counted).",
)
@click.option(
    "--json",
    "json_out",
    type=str,
    metavar="FILE",
    help="Also write the result as JSON to FILE; '-' writes only JSON to stdout.",
)
def assess(
    xl_info: str | None,
    xl_list: str | None,
    host_file: str | None,
    cpu_vendor: str | None,
    patched: bool,
    count_dom0: bool,
    json_out: str | None,
) -> None:
    """Check a Xen host's exposure to XSA-345 (CVE-2020-27672) from what its tools print.

    Exit status: 0 not exposed, 1 exposed, 2 bad input.
    """
    plan_outputs(("--json",), json=json_out)
    if host_file is not None:
        if xl_info is not None or xl_list is not None:
            raise PageraceInputError("--host cannot be combined with --xl-info or --xl-list")
        if cpu_vendor is not None:
            raise PageraceInputError(
                "--cpu-vendor cannot be combined with --host; set host.cpu_vendor in the file"
            )
        described = load_host_file(host_file, patched=patched)
        result = advisory.assess(described.host, described.domains, count_dom0=count_dom0)
    else:
        if xl_info is None:
            raise PageraceInputError(
                "missing input: give --xl-info FILE (and --xl-list FILE) or --host FILE.toml"
            )
        host = parse_xl_info(read_xl_info(xl_info), xl_info, cpu_vendor=cpu_vendor, patched=patched)
        domains = read_xl_list(xl_list) if xl_list is not None else None
        result = advisory.assess(host, domains, count_dom0=count_dom0)

    document = assessment_to_json(result)
    if json_out == "-":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        if json_out is not None:
            write_atomic(json_out, json.dumps(document, indent=2) + "\n")
        _print(result)
    sys.exit(1 if result.exposed else 0)


def _domain_json(v: DomainVerdict) -> dict[str, Any]:
    d = v.domain
    return {
        "name": d.name,
        "domid": d.domid,
        "type": d.type,
        "passthrough": d.has_hardware,
        "pci": list(d.pci),
        "iomem": list(d.iomem),
        "ioports": list(d.ioports),
        "paging": v.paging,
        "exposed": v.exposed,
        "counted": v.counted,
        "reason": v.reason,
        "unknowns": list(v.unknowns),
        "source": d.source,
    }


def assessment_to_json(result: Assessment) -> dict[str, Any]:
    h = result.host
    return {
        "host": {
            "name": h.name,
            "arch": h.arch,
            "xen_version": str(h.version),
            "hypervisor_vulnerable": result.hypervisor_vulnerable,
            "hypervisor_reason": result.hypervisor_reason,
            "patched": h.patched,
            "cpu_vendor": h.vendor,
            "virt": h.virt,
            "virt_source": h.vendor_source,
            "hap": h.hap,
            "hap_source": h.hap_source,
            "dom0_type": h.dom0_type,
            "notes": list(h.notes),
        },
        "exposed": result.exposed,
        "count_dom0": result.count_dom0,
        "reason": result.reason,
        "unknowns": list(result.unknowns),
        "guests_listed": result.guests_listed,
        "domains": [_domain_json(v) for v in result.domains],
        "mitigation": result.mitigation,
    }


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _text(value: object) -> str:
    """A value from the host's files as Rich text: one line, no markup."""
    return escape(one_line(value, limit=1000))


def _verdict(v: DomainVerdict) -> str:
    if not v.exposed:
        return "[green]not exposed[/green]"
    return "[red]EXPOSED[/red]" if v.counted else "[yellow]trusted (not counted)[/yellow]"


def _print(result: Assessment) -> None:
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console.width = 150
    h = result.host
    console.print(
        f"[bold]Host[/bold] {_text(h.name)}: Xen {_text(h.version)}, "
        f"arch {_text(h.arch or 'unknown')}, "
        f"CPU {_text(h.virt or 'unknown')} ({_text(h.vendor_source)}), "
        f"HAP {_yes_no(h.hap)} ({_text(h.hap_source)}), dom0 {_text(h.dom0_type)}",
        markup=True,
        highlight=False,
    )
    for note in h.notes:
        console.print(f"note: {one_line(note, limit=1000)}", markup=False, highlight=False)
    state = (
        "[red]vulnerable[/red]" if result.hypervisor_vulnerable else "[green]not vulnerable[/green]"
    )
    console.print(f"[bold]Hypervisor[/bold] {state}: ", end="", highlight=False)
    console.print(one_line(result.hypervisor_reason, limit=1000), markup=False, highlight=False)

    table = Table(title="XSA-345 exposure per domain", show_lines=True)
    for column in ("name", "domid", "type", "passthrough", "paging", "verdict", "reason"):
        table.add_column(column, overflow="fold")
    for v in result.domains:
        d = v.domain
        table.add_row(
            _text(d.name),
            "-" if d.domid is None else str(d.domid),
            _text(d.type or "unknown"),
            _text(d.hardware_summary()),
            _text(v.paging),
            _verdict(v),
            _text(v.reason),
        )
    console.print(table)
    verdict = (
        "[bold red]EXPOSED[/bold red]" if result.exposed else "[bold green]NOT EXPOSED[/bold green]"
    )
    console.print(f"Host verdict: {verdict}", highlight=False)
    console.print(one_line(result.reason, limit=2000), markup=False, highlight=False)
    if result.unknowns:
        console.print(
            "Depends on unknown facts: " + one_line(", ".join(result.unknowns), limit=1000),
            markup=False,
            highlight=False,
        )
    if result.hypervisor_vulnerable:
        console.print("Mitigation: " + result.mitigation, markup=False, highlight=False)
