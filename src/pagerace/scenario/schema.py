"""Scenario files (TOML) to a validated, frozen ``Scenario``.

``load_scenario(path)`` reads a file, ``parse_scenario(text, filename)`` a string.
Every problem is one ``ScenarioError(file, key, reason)``, whose ``str`` is the one
line ``file: key: reason``; ``key`` is a dotted path such as ``cpus[1].ops[0].virt``
or ``expect."xen-4.14"[0]`` (for a TOML syntax error it is ``line L, column C``).
The first problem found is reported.  docs/scenarios.md is the user's guide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pagerace.checks import FINDING_KINDS
from pagerace.errors import ScenarioError
from pagerace.explore.options import (
    SEARCH_STRATEGIES,
    ExploreOptions,
    OptionError,
    check_search_strategy,
)
from pagerace.paging.geometry import PAGE_SIZE, Geometry
from pagerace.paging.memory import TABLE_FRAME_BASE
from pagerace.paging.pte import FLAGS_MASK_64, INVALID_MFN, MASK64
from pagerace.scenario.expect import Expectation
from pagerace.scenario.expr import ExprError, evaluate, expression_names
from pagerace.scenario.ops import AccessOp, DestroyOp, LookupOp, MapOp, ModifyOp, Op, PopulateOp
from pagerace.userio import (
    StructuredTextError,
    UserFileError,
    did_you_mean,
    load_toml,
    one_line,
    read_user_text,
)
from pagerace.xen.versions import VERSIONS, unknown_variant

__all__ = [
    "EXPLORE_KEYS",
    "FINDING_KINDS",
    "KNOWN_VARIANTS",
    "MAX_CPUS",
    "STRATEGIES",
    "Scenario",
    "load_scenario",
    "parse_scenario",
]

KNOWN_VARIANTS = tuple(VERSIONS)  # the modelled Xen versions
STRATEGIES = SEARCH_STRATEGIES
MAX_CPUS = 8

_NAME_RE = re.compile(r"[a-z0-9-]+")
_TOP_KEYS = (
    "name",
    "description",
    "variant",
    "entries",
    "page1gb",
    "setup",
    "cpus",
    "expect",
    "explore",
)
#: The options a scenario's [explore] may set (those of ``ExploreOptions`` that make
#: sense as a scenario's defaults).
EXPLORE_KEYS = (
    "strategy",
    "preemption_bound",
    "fewest_first",
    "max_executions",
    "time_limit",
    "seed",
    "pct_depth",
)
_EXPECT_KEYS = ("require", "forbid", "allow")
# op -> (required fields, optional fields); "op" itself is implied.
_OP_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "map": (("virt", "mfn", "nr", "flags"), ("irqs",)),
    "unmap": (("virt", "nr"), ("irqs",)),
    "populate": (("virt", "nr"), ("irqs",)),
    "modify": (("s", "e", "nf"), ("irqs",)),
    "destroy": (("s", "e"), ("irqs",)),
    "lookup": (("virt",), ("irqs",)),
    "access": (("virt",), ()),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario: every value evaluated for its ``entries``."""

    name: str
    description: str
    variant: str
    entries: int
    page1gb: bool
    setup: tuple[Op, ...]
    cpus: tuple[tuple[Op, ...], ...]
    expect: Mapping[str, Expectation] = field(hash=False)  # variant -> what a run must show
    source: str  # the file name the scenario was read from, as given
    #: the [explore] table: option name -> value, checked by ``ExploreOptions``;
    #: defaults of a run that command-line options override
    explore: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.entries)

    def expected(self, variant: str | None = None) -> Expectation | None:
        """What ``[expect]`` says of a run on ``variant`` (default: the scenario's own);
        ``None``: nothing is expected."""
        return self.expect.get(self.variant if variant is None else variant)


#: A scenario file larger than this is refused (the bundled ones are about 2 KiB).
MAX_SCENARIO_BYTES = 1 << 20


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    filename = str(path)
    try:
        text = read_user_text(filename, limit=MAX_SCENARIO_BYTES)
    except UserFileError as exc:
        raise ScenarioError(filename, "", exc.reason) from None
    if not text.strip():
        raise ScenarioError(filename, "", "the file is empty")
    return parse_scenario(text, filename)


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Validate the TOML ``text`` of a scenario; ``filename`` names it in errors."""
    try:
        doc = load_toml(text)
    except StructuredTextError as exc:
        raise ScenarioError(filename, exc.where, exc.reason) from None
    return _Loader(filename).scenario(doc)


# -- helpers -------------------------------------------------------------------
def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f'a string ("{one_line(value)}")'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} ({value})"  # dates and times


def _bare(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + one_line(key) + '"'


class _Loader:
    """Walks one parsed document; ``fail`` raises the one error of the file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.geometry = Geometry(512)
        self.names = expression_names(self.geometry)

    def fail(self, key: str, reason: str) -> ScenarioError:
        return ScenarioError(self.filename, key, reason)

    # -- the document ----------------------------------------------------------
    def scenario(self, doc: dict[str, Any]) -> Scenario:
        self.unknown_keys(doc, _TOP_KEYS, "", "top-level key")
        name = self.string(doc, "name", "name", required=True)
        if not _NAME_RE.fullmatch(name):
            raise self.fail(
                "name", f'"{one_line(name)}" must match [a-z0-9-]+ (lower case, digits, -)'
            )
        description = self.string(doc, "description", "description", required=False)
        variant = self.string(doc, "variant", "variant", required=True)
        if variant not in KNOWN_VARIANTS:
            raise self.fail(
                "variant",
                unknown_variant(one_line(variant)),
            )
        entries = self.entries(doc)
        page1gb = self.boolean(doc, "page1gb", "page1gb", default=True)
        setup = tuple(
            self.op(raw, f"setup[{i}]") for i, raw in enumerate(self.tables(doc, "setup", "setup"))
        )
        cpus = self.cpus(doc)
        expect = self.expect(doc.get("expect"))
        explore = self.explore(doc.get("explore"))
        return Scenario(
            name=name,
            description=description,
            variant=variant,
            entries=entries,
            page1gb=page1gb,
            setup=setup,
            cpus=cpus,
            expect=expect,
            source=self.filename,
            explore=explore,
        )

    def entries(self, doc: dict[str, Any]) -> int:
        raw = doc.get("entries", 512)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.fail("entries", f"expected an integer, got {_toml_type(raw)}")
        if raw < 4 or raw > 512 or raw & (raw - 1):
            raise self.fail("entries", f"{raw} is not a power of two from 4 to 512")
        self.geometry = Geometry(raw)
        self.names = expression_names(self.geometry)
        return raw

    def cpus(self, doc: dict[str, Any]) -> tuple[tuple[Op, ...], ...]:
        if "cpus" not in doc:
            raise self.fail("cpus", "missing: at least one [[cpus]] table is required")
        tables = self.tables(doc, "cpus", "cpus")
        if not tables:
            raise self.fail("cpus", "no CPUs: at least one [[cpus]] table is required")
        if len(tables) > MAX_CPUS:
            raise self.fail("cpus", f"{len(tables)} CPUs; at most {MAX_CPUS} are supported")
        out = []
        for i, cpu in enumerate(tables):
            key = f"cpus[{i}]"
            self.unknown_keys(cpu, ("ops",), key + ".", "key in a CPU table")
            if "ops" not in cpu:
                raise self.fail(key + ".ops", "missing: each CPU needs a list of ops")
            ops = self.tables(cpu, "ops", key + ".ops")
            if not ops:
                raise self.fail(key + ".ops", "empty: each CPU needs at least one op")
            out.append(tuple(self.op(raw, f"{key}.ops[{j}]") for j, raw in enumerate(ops)))
        return tuple(out)

    def optional_table(self, raw: object, key: str) -> dict[str, Any]:
        """An optional top-level table ({} when absent)."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(key, f"expected a table, got {_toml_type(raw)}")
        return raw

    def expect(self, raw: object) -> Mapping[str, Expectation]:
        raw = self.optional_table(raw, "expect")
        out: dict[str, Expectation] = {}
        for variant, value in raw.items():
            key = f"expect.{_bare(variant)}"
            if variant not in KNOWN_VARIANTS:
                raise self.fail(
                    key,
                    unknown_variant(one_line(variant)),
                )
            if isinstance(value, list):  # the shorthand: required kinds, [] = clean
                kinds = self.kinds(value, key)
                out[variant] = Expectation(require=kinds) if kinds else Expectation(allow=())
                continue
            if not isinstance(value, dict):
                raise self.fail(
                    key,
                    "expected an array of finding kinds or a table with require, forbid"
                    f" or allow, got {_toml_type(value)}",
                )
            self.unknown_keys(value, _EXPECT_KEYS, key + ".", "key of an expectation")
            if not value:
                raise self.fail(key, "empty: give require, forbid or allow")
            if "forbid" in value and "allow" in value:
                raise self.fail(
                    key + ".allow",
                    "forbid and allow exclude each other (allow forbids every kind not listed)",
                )
            parts = {name: self.kinds(value.get(name, []), f"{key}.{name}") for name in value}
            require = parts.get("require", ())
            for name in ("forbid", "allow"):
                both = [k for k in parts.get(name, ()) if k in require]
                if both:
                    raise self.fail(f"{key}.{name}", f'"{both[0]}" is also required (in require)')
            out[variant] = Expectation(
                require=require, forbid=parts.get("forbid", ()), allow=parts.get("allow")
            )
        return MappingProxyType(out)

    def kinds(self, raw: object, key: str) -> tuple[str, ...]:
        """A list of distinct finding kinds."""
        if not isinstance(raw, list):
            raise self.fail(key, f"expected an array of finding kinds, got {_toml_type(raw)}")
        seen: list[str] = []
        for i, kind in enumerate(raw):
            if not isinstance(kind, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {_toml_type(kind)}")
            if kind not in FINDING_KINDS:
                raise self.fail(
                    f"{key}[{i}]",
                    f'unknown finding kind "{one_line(kind)}"{did_you_mean(kind, FINDING_KINDS)};'
                    f" known: {', '.join(FINDING_KINDS)}",
                )
            if kind in seen:
                raise self.fail(f"{key}[{i}]", f'"{one_line(kind)}" is listed twice')
            seen.append(kind)
        return tuple(seen)

    def explore(self, raw: object) -> Mapping[str, Any]:
        raw = self.optional_table(raw, "explore")
        self.unknown_keys(raw, EXPLORE_KEYS, "explore.", "key in [explore]")
        try:
            if "strategy" in raw:
                check_search_strategy(raw["strategy"])
            ExploreOptions(**raw)  # the rules of every face: same checks, same messages
        except OptionError as exc:
            raise self.fail(f"explore.{exc.field}", exc.reason) from None
        return MappingProxyType(dict(raw))

    # -- one op ------------------------------------------------------------------
    def op(self, raw: dict[str, Any], key: str) -> Op:
        if "op" not in raw:
            raise self.fail(key + ".op", f"missing: one of {', '.join(_OP_FIELDS)}")
        kind = raw["op"]
        if not isinstance(kind, str):
            raise self.fail(key + ".op", f"expected a string, got {_toml_type(kind)}")
        if kind not in _OP_FIELDS:
            raise self.fail(
                key + ".op",
                f'unknown op "{one_line(kind)}"{did_you_mean(kind, list(_OP_FIELDS))};'
                f" known: {', '.join(_OP_FIELDS)}",
            )
        required, optional = _OP_FIELDS[kind]
        self.unknown_keys(
            raw, ("op", *required, *optional), key + ".", f'key for op "{one_line(kind)}"'
        )
        for name in required:
            if name not in raw:
                raise self.fail(
                    f"{key}.{name}",
                    f'missing: op "{one_line(kind)}" requires {", ".join(required)}',
                )
        irqs = self.boolean(raw, "irqs", f"{key}.irqs", default=True)
        if kind == "map":
            return self.map_op(raw, key, irqs)
        if kind == "unmap":
            # map_pages_to_xen(virt, INVALID_MFN, nr, _PAGE_NONE)
            virt = self.address(raw, key, "virt")
            return MapOp(virt, INVALID_MFN, self.nr(raw, key, virt), 0, irqs)
        if kind == "lookup":
            return LookupOp(self.address(raw, key, "virt"), irqs)
        if kind == "populate":
            return self.populate_op(raw, key, irqs)
        if kind == "modify":
            return self.modify_op(raw, key, irqs)
        if kind == "destroy":
            return self.destroy_op(raw, key, irqs)
        return AccessOp(self.address(raw, key, "virt"))

    def map_op(self, raw: dict[str, Any], key: str, irqs: bool) -> MapOp:
        virt = self.address(raw, key, "virt")
        mfn = self.value(raw, key, "mfn")
        nr = self.nr(raw, key, virt)
        if mfn != INVALID_MFN and mfn + nr > TABLE_FRAME_BASE:
            raise self.fail(
                f"{key}.mfn",
                f"mfn {mfn:#x} + nr {nr} = {mfn + nr:#x} exceeds {TABLE_FRAME_BASE:#x},"
                " where the model's page-table frames start; data frames must lie below it"
                " (or use INVALID_MFN)",
            )
        return MapOp(virt, mfn, nr, self.flags(raw, key, "flags"), irqs)

    def populate_op(self, raw: dict[str, Any], key: str, irqs: bool) -> PopulateOp:
        virt = self.address(raw, key, "virt")
        return PopulateOp(virt, self.nr(raw, key, virt), irqs)

    def modify_op(self, raw: dict[str, Any], key: str, irqs: bool) -> ModifyOp:
        s, e = self.range(raw, key)
        return ModifyOp(s, e, self.flags(raw, key, "nf"), irqs)

    def destroy_op(self, raw: dict[str, Any], key: str, irqs: bool) -> DestroyOp:
        s, e = self.range(raw, key)
        return DestroyOp(s, e, irqs)

    # -- op fields -----------------------------------------------------------------
    def value(self, raw: dict[str, Any], key: str, name: str) -> int:
        """An integer field: a TOML integer or an expression string."""
        value = raw[name]
        where = f"{key}.{name}"
        if isinstance(value, str):
            try:
                return evaluate(value, self.names)
            except ExprError as exc:
                raise self.fail(where, str(exc)) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                where, f"expected an integer or an expression string, got {_toml_type(value)}"
            )
        if not 0 <= value <= MASK64:
            raise self.fail(where, f"{value} is outside 0..{MASK64:#x} (64 bits unsigned)")
        return value

    def shown(self, raw: dict[str, Any], name: str, value: int) -> str:
        """How an error names a value: the expression and its value, or the value."""
        text = raw[name]
        return f'"{one_line(text)}" = {value:#x}' if isinstance(text, str) else f"{value:#x}"

    def address(self, raw: dict[str, Any], key: str, name: str) -> int:
        va = self.value(raw, key, name)
        if not self.geometry.is_canonical(va):
            raise self.fail(
                f"{key}.{name}",
                f"{self.shown(raw, name, va)} is not canonical for {self.geometry.entries}"
                f" entries per table ({self.geometry.va_bits}-bit addresses)",
            )
        if va % PAGE_SIZE:
            raise self.fail(f"{key}.{name}", f"{self.shown(raw, name, va)} is not 4 KiB aligned")
        return va

    def nr(self, raw: dict[str, Any], key: str, virt: int) -> int:
        nr = self.value(raw, key, "nr")
        if nr < 1:
            raise self.fail(f"{key}.nr", f"{nr}: must be at least 1")
        top = self.half_end(virt)
        if virt + nr * PAGE_SIZE > top:
            raise self.fail(
                f"{key}.nr",
                f"{nr} pages from {virt:#x} run past {top:#x}, the end of the"
                f" {self.half_name(virt)} at {self.geometry.entries} entries per table",
            )
        return nr

    def range(self, raw: dict[str, Any], key: str) -> tuple[int, int]:
        s = self.address(raw, key, "s")
        e = self.value(raw, key, "e")
        if e % PAGE_SIZE:
            raise self.fail(f"{key}.e", f"{self.shown(raw, 'e', e)} is not 4 KiB aligned")
        if not s < e:
            raise self.fail(f"{key}.e", f"{self.shown(raw, 'e', e)} must be above s = {s:#x}")
        top = self.half_end(s)
        if e > top:
            raise self.fail(
                f"{key}.e",
                f"{self.shown(raw, 'e', e)} lies past {top:#x}, the end of the"
                f" {self.half_name(s)} at {self.geometry.entries} entries per table",
            )
        return s, e

    def half_end(self, va: int) -> int:
        """End (exclusive) of the contiguous canonical range holding canonical ``va``."""
        geo = self.geometry
        low_end = 1 << (geo.va_bits - 1 if geo.entries == 512 else geo.va_bits)
        return low_end if va < low_end else MASK64 + 1

    def half_name(self, va: int) -> str:
        if self.geometry.entries != 512:
            return "address space"
        return "lower canonical half" if va < self.half_end(0) else "address space"

    def flags(self, raw: dict[str, Any], key: str, name: str) -> int:
        flags = self.value(raw, key, name)
        if flags & ~FLAGS_MASK_64:
            raise self.fail(
                f"{key}.{name}",
                f"{self.shown(raw, name, flags)} sets bits 12..51"
                f" ({flags & ~FLAGS_MASK_64:#x}), the frame-number field of an entry, not flags",
            )
        return flags

    # -- generic checks ----------------------------------------------------------------
    def unknown_keys(
        self, table: dict[str, Any], known: tuple[str, ...], prefix: str, what: str
    ) -> None:
        for name in table:
            if name not in known:
                raise self.fail(
                    prefix + _bare(name),
                    f"unknown {what}{did_you_mean(name, known)}; known: {', '.join(known)}",
                )

    def string(self, doc: dict[str, Any], name: str, key: str, *, required: bool) -> str:
        if name not in doc:
            if required:
                raise self.fail(key, "missing: a required key")
            return ""
        value = doc[name]
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_toml_type(value)}")
        return value

    def boolean(self, doc: dict[str, Any], name: str, key: str, *, default: bool) -> bool:
        value = doc.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_toml_type(value)}")
        return value

    def tables(self, doc: dict[str, Any], name: str, key: str) -> list[dict[str, Any]]:
        value = doc.get(name, [])
        if not isinstance(value, list):
            raise self.fail(key, f"expected an array of tables, got {_toml_type(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", f"expected a table, got {_toml_type(item)}")
        return value
