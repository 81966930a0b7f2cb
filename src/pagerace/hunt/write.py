"""A ``Scenario`` as the text of a scenario file, written with the geometry's names.

Addresses, frame numbers and counts are written in the expression language of
docs/scenarios.md (``DIRECTMAP + L3_SPAN + 2 * L2_SPAN + 3 * PAGE_SIZE``,
``L3_PAGES + 2 * L2_PAGES + 3``) and flags by name (``PAGE_HYPERVISOR_UC``), so
that a generated or minimised scenario reads like a hand-written one.
``parse_scenario(scenario_toml(sc))`` gives back ``sc`` (its name, description
and source aside).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pagerace.paging.geometry import PAGE_SIZE, Geometry
from pagerace.paging.pte import INVALID_MFN
from pagerace.scenario import (
    AccessOp,
    DestroyOp,
    ExploreDefaults,
    LookupOp,
    MapOp,
    ModifyOp,
    Op,
    PopulateOp,
    Scenario,
    flags_text,
)

__all__ = ["count_text", "op_table", "scenario_toml", "va_text"]


def _terms(parts: Sequence[tuple[int, str]]) -> list[str]:
    out = []
    for n, name in parts:
        if n == 1 and name:
            out.append(name)
        elif n:
            out.append(f"{n} * {name}" if name else str(n))
    return out


def count_text(n: int, g: Geometry) -> str:
    """A page count (or frame number) as ``a * L3_PAGES + b * L2_PAGES + c``."""
    if n == INVALID_MFN:
        return "INVALID_MFN"
    a, rest = divmod(n, g.l3_pages)
    b, c = divmod(rest, g.l2_pages)
    terms = _terms(((a, "L3_PAGES"), (b, "L2_PAGES"), (c, "")))
    return " + ".join(terms) if terms else "0"


def va_text(va: int, g: Geometry) -> str:
    """An address in the directmap's slot as ``DIRECTMAP + ...``; others in hex."""
    base = g.directmap
    if not base <= va <= base + g.span[4]:
        return f"{va:#x}"
    a, rest = divmod(va - base, g.span[3])
    b, rest = divmod(rest, g.span[2])
    c = rest // PAGE_SIZE
    return " + ".join(["DIRECTMAP", *_terms(((a, "L3_SPAN"), (b, "L2_SPAN"), (c, "PAGE_SIZE")))])


def _number(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def op_table(op: Op, g: Geometry) -> dict[str, str | int | bool]:
    """The fields of one op as a scenario file writes them."""
    fields: dict[str, str | int | bool] = {"op": op.op}
    if isinstance(op, MapOp):
        fields.update(
            virt=va_text(op.virt, g),
            mfn=_number(count_text(op.mfn, g)),
            nr=_number(count_text(op.nr, g)),
            flags=flags_text(op.flags),
        )
    elif isinstance(op, PopulateOp):
        fields.update(virt=va_text(op.virt, g), nr=_number(count_text(op.nr, g)))
    elif isinstance(op, ModifyOp):
        fields.update(s=va_text(op.s, g), e=va_text(op.e, g), nf=flags_text(op.nf))
    elif isinstance(op, DestroyOp):
        fields.update(s=va_text(op.s, g), e=va_text(op.e, g))
    else:
        assert isinstance(op, (LookupOp, AccessOp))
        fields["virt"] = va_text(op.virt, g)
    if not isinstance(op, AccessOp) and not op.irqs:
        fields["irqs"] = False
    return fields


def _value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    # a JSON string is a TOML basic string once DEL (which JSON leaves raw) is escaped
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def _inline(fields: Mapping[str, str | int | bool]) -> str:
    return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in fields.items()) + " }"


def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()]


def scenario_toml(
    sc: Scenario,
    *,
    header: str = "",
    op_comments: Mapping[tuple[int, int], str] | None = None,
) -> str:
    """The scenario file of ``sc``.  ``header`` becomes comment lines at the top;
    ``op_comments[(cpu, i)]`` a comment after that CPU's op."""
    g = sc.geometry
    lines = _comment(header) if header else []
    if lines:
        lines.append("")
    lines += [
        f"name = {_value(sc.name)}",
    ]
    if sc.description:
        lines.append(f"description = {_value(sc.description)}")
    lines += [
        f"variant = {_value(sc.variant)}",
        f"entries = {sc.entries}",
        f"page1gb = {_value(sc.page1gb)}",
    ]
    for op in sc.setup:
        lines += ["", "[[setup]]"]
        lines += [f"{k} = {_value(v)}" for k, v in op_table(op, g).items()]
    for c, ops in enumerate(sc.cpus):
        lines += ["", "[[cpus]]", "ops = ["]
        for i, op in enumerate(ops):
            note = (op_comments or {}).get((c, i))
            lines.append(f"  {_inline(op_table(op, g))}," + (f"  # {note}" if note else ""))
        lines.append("]")
    if sc.expect:
        lines += ["", "[expect]"]
        for variant, kinds in sc.expect.items():
            lines.append(f"{_value(variant)} = [{', '.join(_value(k) for k in kinds)}]")
    d = sc.explore
    if d != ExploreDefaults():
        lines += ["", "[explore]"]
        for key in ("strategy", "preemption_bound", "max_executions", "time_limit", "seed"):
            value = getattr(d, key)
            if value is not None:
                lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"
