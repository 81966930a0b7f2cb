"""Parse the output of `xl list -l` (JSON) into DomainFacts.

`xl list -l` prints a JSON array with one ``{"domid": N, "config": {...}}`` per
domain whose libxl configuration could be retrieved (tools/xl/xl_info.c,
list_domains_details); ``config`` is a libxl_domain_config as generated from
libxl_types.idl.  Dom0 and device-model stub domains usually have no stored
configuration and are then absent.

libxl's JSON generator leaves out every field still at its default value, so a
missing key means "default".  The fields read here (libxl_types.idl, 4.10-4.14):

* ``c_info.name`` (string), ``c_info.type`` ("pv" | "hvm" | "pvh"; "pvh" from 4.10;
  before that PVHv1 was ``c_info.type = "pv"`` plus ``c_info.pvh = "True"``);
* ``c_info.hap``: a libxl_defbool, printed as "True", "False" or "<default>";
* ``c_info.passthrough`` (4.13 on): "default" | "disabled" | "enabled" | "sync_pt" |
  "share_pt";
* ``b_info.iomem``: ``[{"start": mfn, "number": n, "gfn": g}]``;
  ``b_info.ioports``: ``[{"first": port, "number": n}]``;
  ``b_info.device_model_stubdomain``: defbool;
* ``pcidevs``: ``[{"domain": d, "bus": b, "dev": s, "func": f, ...}]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pagerace.advisory.facts import DOMAIN_TYPES, DomainFacts
from pagerace.errors import PageraceInputError
from pagerace.userio import (
    StructuredTextError,
    UserFileError,
    load_json,
    one_line,
    read_user_text,
)

__all__ = ["PASSTHROUGH_MODES", "XlListError", "parse_xl_list", "read_xl_list"]

PASSTHROUGH_MODES = ("default", "disabled", "enabled", "sync_pt", "share_pt")
_DEFBOOL = {"True": True, "False": False, "<default>": None}


class XlListError(PageraceInputError):
    """An `xl list -l` file is unreadable or is not its JSON output."""


#: `xl list -l` prints a few KiB per domain.
MAX_XL_LIST_BYTES = 64 << 20


def read_xl_list(path: str | Path) -> tuple[DomainFacts, ...]:
    try:
        text = read_user_text(str(path), limit=MAX_XL_LIST_BYTES, strict=False)
    except UserFileError as exc:
        raise XlListError(str(exc)) from None
    return parse_xl_list(text, str(path))


def parse_xl_list(text: str, where: str = "xl list -l") -> tuple[DomainFacts, ...]:
    stripped = text.strip()
    if not stripped:
        raise XlListError(f"{where}: the file is empty; expected the JSON output of `xl list -l`")
    if stripped.startswith("(domain"):
        raise XlListError(
            f"{where}: this is SXP output; run `xl list -l` with the default JSON "
            'output format (output_format="json" in xl.conf)'
        )
    try:
        data = load_json(stripped)
    except StructuredTextError as exc:
        raise XlListError(f"{where}: {exc}") from None
    if not isinstance(data, list):
        raise XlListError(f"{where}: expected a JSON array of domains, got {_kind(data)}")
    domains = tuple(_domain(entry, f"{where}: [{i}]") for i, entry in enumerate(data))
    seen: set[int] = set()
    for dom in domains:
        if dom.domid is not None:
            if dom.domid in seen:
                raise XlListError(f"{where}: domid {dom.domid} appears twice")
            seen.add(dom.domid)
    return domains


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _fail(where: str, key: str, reason: str) -> XlListError:
    return XlListError(f"{where}: {key}: {reason}")


def _obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise _fail(where, key, f"expected an object, got {_kind(value)}")
    return value


def _objects(
    container: dict[str, Any], key: str, prefix: str, where: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of the list ``container[key]``, each with its place for messages."""
    for i, item in enumerate(_list(container, key, where)):
        w = f"{prefix}[{i}]"
        if not isinstance(item, dict):
            raise XlListError(f"{w}: expected an object, got {_kind(item)}")
        yield w, item


def _list(parent: dict[str, Any], key: str, where: str) -> list[Any]:
    value = parent.get(key, [])
    if not isinstance(value, list):
        raise _fail(where, key, f"expected an array, got {_kind(value)}")
    return value


def _int(item: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise _fail(where, key, f"expected a non-negative integer below 2**64, got {_shown(value)}")
    return value


def _shown(value: object) -> str:
    """A JSON value in a message: one line, cut."""
    return one_line(json.dumps(value) if not isinstance(value, str) else repr(value), 60)


def _defbool(parent: dict[str, Any], key: str, where: str, label: str) -> bool | None:
    value = parent.get(key, "<default>")
    if not isinstance(value, str) or value not in _DEFBOOL:
        raise _fail(
            where,
            f"{label}.{key}",
            f'expected "True", "False" or "<default>", got {_shown(value)}',
        )
    return _DEFBOOL[value]


def _domain(entry: object, where: str) -> DomainFacts:
    if not isinstance(entry, dict):
        raise XlListError(f"{where}: expected an object with domid and config, got {_kind(entry)}")
    if "domid" not in entry or "config" not in entry:
        raise XlListError(f"{where}: expected keys domid and config (is this `xl list -l`?)")
    domid_value = entry["domid"]
    domid = None if domid_value is None else _int(entry, "domid", where)
    config = _obj(entry, "config", where)
    where = f"{where} (domid {domid})" if domid is not None else where
    c_info = _obj(config, "c_info", where)
    b_info = _obj(config, "b_info", where)

    name = c_info.get("name", f"domid {domid}" if domid is not None else "(unnamed)")
    if not isinstance(name, str):
        raise _fail(where, "c_info.name", f"expected a string, got {_kind(name)}")
    dtype = c_info.get("type")
    if dtype is not None and (not isinstance(dtype, str) or dtype not in DOMAIN_TYPES):
        raise _fail(where, "c_info.type", f'expected "pv", "hvm" or "pvh", got {_shown(dtype)}')
    if dtype == "pv" and _defbool(c_info, "pvh", where, "c_info"):
        dtype = "pvh"  # PVHv1 (libxl 4.4-4.9): type pv with c_info.pvh = True
    mode = c_info.get("passthrough")
    if mode is not None and (not isinstance(mode, str) or mode not in PASSTHROUGH_MODES):
        raise _fail(
            where,
            "c_info.passthrough",
            f"expected one of {', '.join(PASSTHROUGH_MODES)}, got {_shown(mode)}",
        )

    iomem = []
    for w, item in _objects(b_info, "iomem", f"{where}: b_info.iomem", where):
        start, number = _int(item, "start", w), _int(item, "number", w, 1)
        iomem.append(f"{start:#x},{number:#x}")
    ioports = []
    for w, item in _objects(b_info, "ioports", f"{where}: b_info.ioports", where):
        first, number = _int(item, "first", w), _int(item, "number", w, 1)
        ioports.append(f"{first:#x}-{first + max(number, 1) - 1:#x}")
    pci = []
    for w, item in _objects(config, "pcidevs", f"{where}: pcidevs", where):
        pci.append(
            f"{_int(item, 'domain', w, 0):04x}:{_int(item, 'bus', w, 0):02x}:"
            f"{_int(item, 'dev', w, 0):02x}.{_int(item, 'func', w, 0)}"
        )

    return DomainFacts(
        name=name,
        domid=domid,
        type=dtype,
        pci=tuple(pci),
        iomem=tuple(iomem),
        ioports=tuple(ioports),
        hap=_defbool(c_info, "hap", where, "c_info"),
        passthrough_mode=mode,
        stubdomain=bool(_defbool(b_info, "device_model_stubdomain", where, "b_info")),
        source="xl list -l",
    )
