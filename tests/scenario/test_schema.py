"""Scenario files: the example parses to the expected values; each bad file fails with
exactly one ``file: key: reason`` line."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest

from pagerace.errors import PageraceInputError, ScenarioError
from pagerace.paging.pte import INVALID_MFN, get_pte_flags
from pagerace.scenario import (
    FINDING_KINDS,
    KNOWN_VARIANTS,
    AccessOp,
    DestroyOp,
    ExploreDefaults,
    LookupOp,
    MapOp,
    ModifyOp,
    PopulateOp,
    Scenario,
    load_scenario,
    parse_scenario,
)

# The example of ARCHITECTURE.md, "Scenario files (TOML)", verbatim (its long line is
# spliced in to keep this file within the line length).
MAP_LINE = (
    '  { op = "map", virt = "DIRECTMAP + L3_SPAN + 5 * L2_SPAN + 3 * PAGE_SIZE",'
    ' mfn = "L3_PAGES + 5 * L2_PAGES + 3", nr = 1,'
    ' flags = "PAGE_HYPERVISOR | _PAGE_PCD | _PAGE_PWT" },'
)
EXAMPLE = """\
name = "xsa345-r1"                  # required, [a-z0-9-]+
description = "free text"           # optional
variant = "xen-4.14"                # required: "xen-4.14" (vulnerable) | "xsa-345" (fixed)
entries = 512                       # optional, default 512; power of two, 4..512
page1gb = true                      # optional, default true (cpu_has_page1gb)

[[setup]]                           # optional; applied in order on one CPU before exploring
op = "map"
virt = "DIRECTMAP"
mfn = 0
nr = "2 * L3_PAGES"
flags = "PAGE_HYPERVISOR"

[[cpus]]                            # 1..8 of these; CPU n runs its ops in order
ops = [
{map_line}
]

[[cpus]]
ops = [ { op = "destroy", s = "DIRECTMAP", e = "DIRECTMAP + L2_SPAN" } ]

[expect]                            # optional: what a run must show, per variant
"xen-4.14" = ["use-after-free"]     # kinds that must be found on this variant
"xsa-345" = []                      # [] = the run must be clean
""".replace("{map_line}", MAP_LINE)

HEAD = 'name = "t"\nvariant = "xen-4.14"\n'
ONE_CPU = '[[cpus]]\nops = [{ op = "access", virt = "DIRECTMAP" }]\n'
FILE = "bad.toml"
OPS = "map, unmap, populate, modify, destroy, lookup, access"


def error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, FILE)
    err = info.value
    assert err.file == FILE
    assert "\n" not in str(err)
    assert str(err) == (f"{FILE}: {err.key}: {err.reason}" if err.key else f"{FILE}: {err.reason}")
    return err


def message(text: str) -> str:
    return str(error(text))


def op_message(op: str, entries: int = 512) -> str:
    """The error of a scenario whose only CPU runs the one inline-table op ``op``."""
    return message(HEAD + f"entries = {entries}\n[[cpus]]\nops = [{op}]\n")


def op_of(op: str, entries: int = 512) -> object:
    text = HEAD + f"entries = {entries}\n[[cpus]]\nops = [{op}]\n"
    return parse_scenario(text, "ok.toml").cpus[0][0]


# -- the example ------------------------------------------------------------------------
def test_the_architecture_example_parses_to_the_expected_values() -> None:
    sc = parse_scenario(EXAMPLE, "xsa345-r1.toml")
    assert sc.name == "xsa345-r1"
    assert sc.description == "free text"
    assert sc.variant == "xen-4.14"
    assert (sc.entries, sc.page1gb) == (512, True)
    assert sc.setup == (MapOp(0xFFFF830000000000, 0, 2 * 262144, 0x8000_0000_0000_0163),)
    assert sc.cpus == (
        (MapOp(0xFFFF830040A03000, 0x40A03, 1, 0x8000_0000_0000_017B),),
        (DestroyOp(0xFFFF830000000000, 0xFFFF830000200000),),
    )
    assert dict(sc.expect) == {"xen-4.14": ("use-after-free",), "xsa-345": ()}
    assert sc.source == "xsa345-r1.toml"
    assert sc.explore == ExploreDefaults()
    assert sc.expected() == ("use-after-free",)
    assert sc.expected("xsa-345") == ()


def test_the_same_example_at_8_entries_scales_every_named_value() -> None:
    sc = parse_scenario(EXAMPLE.replace("entries = 512", "entries = 8"), "small.toml")
    assert sc.geometry.entries == 8
    assert sc.setup == (MapOp(0x800000, 0, 128, 0x8000_0000_0000_0163),)
    # DIRECTMAP + L3_SPAN + 5 * L2_SPAN + 3 pages; mfn L3_PAGES + 5 * L2_PAGES + 3
    assert sc.cpus[0] == (
        MapOp(0x800000 + 0x40000 + 5 * 0x8000 + 0x3000, 64 + 40 + 3, 1, 0x8000_0000_0000_017B),
    )
    assert sc.cpus[1] == (DestroyOp(0x800000, 0x808000),)


def test_the_example_loads_from_a_file_and_names_the_file_as_its_source(tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(EXAMPLE)
    sc = load_scenario(path)
    assert sc.source == str(path)
    assert sc.cpus[0][0].describe() == (
        "map_pages_to_xen(0xffff830040a03000, mfn 0x40a03, 1, PAGE_HYPERVISOR_UC)"
    )


def test_a_scenario_is_frozen_and_its_expectations_are_read_only() -> None:
    sc = parse_scenario(EXAMPLE, "x.toml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sc.expect["xsa-345"] = ("leak",)  # type: ignore[index]
    assert hash(sc) == hash(parse_scenario(EXAMPLE, "x.toml"))
    assert dataclasses.replace(sc, variant="xsa-345").variant == "xsa-345"


def test_defaults_are_512_entries_1gb_pages_no_setup_no_expectations_no_description() -> None:
    sc = parse_scenario(HEAD + ONE_CPU, "min.toml")
    assert (sc.entries, sc.page1gb, sc.setup, dict(sc.expect), sc.description) == (
        512,
        True,
        (),
        {},
        "",
    )
    assert sc.expected() is None
    assert sc.cpus == ((AccessOp(0xFFFF830000000000),),)


def test_every_op_kind_parses_with_irqs_defaulting_to_true() -> None:
    text = (
        HEAD
        + """
[[setup]]
op = "populate"
virt = "DIRECTMAP"
nr = "L2_PAGES"
irqs = false

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP"
mfn = "INVALID_MFN"
nr = 3
flags = "MAP_SMALL_PAGES"
[[cpus.ops]]
op = "modify"
s = "DIRECTMAP"
e = "DIRECTMAP + L2_SPAN"
nf = "PAGE_HYPERVISOR_RO"
irqs = false
[[cpus.ops]]
op = "destroy"
s = "DIRECTMAP"
e = "DIRECTMAP + PAGE_SIZE"
[[cpus.ops]]
op = "access"
virt = 0
"""
    )
    sc = parse_scenario(text, "all.toml")
    dm = 0xFFFF830000000000
    assert sc.setup == (PopulateOp(dm, 512, irqs=False),)
    assert sc.cpus == (
        (
            MapOp(dm, INVALID_MFN, 3, 0x200, irqs=True),
            ModifyOp(dm, dm + 0x200000, 0x8000_0000_0000_0121, irqs=False),
            DestroyOp(dm, dm + 0x1000, irqs=True),
            AccessOp(0),
        ),
    )
    modify = sc.cpus[0][1]
    assert isinstance(modify, ModifyOp)
    assert modify.xen_nf == get_pte_flags(modify.nf) == 0x800121


def test_unmap_is_a_map_of_invalid_mfn_with_no_flags_and_lookup_takes_an_address() -> None:
    dm = 0xFFFF830000000000
    assert op_of('{ op = "unmap", virt = "DIRECTMAP", nr = "L2_PAGES" }') == MapOp(
        dm, INVALID_MFN, 512, 0
    )
    assert op_of('{ op = "unmap", virt = "DIRECTMAP", nr = 1, irqs = false }') == MapOp(
        dm, INVALID_MFN, 1, 0, irqs=False
    )
    assert op_of('{ op = "lookup", virt = "DIRECTMAP + PAGE_SIZE" }') == LookupOp(dm + 0x1000)
    unmap = op_of('{ op = "unmap", virt = "DIRECTMAP", nr = 2 }')
    assert isinstance(unmap, MapOp)
    assert unmap.describe() == (
        "map_pages_to_xen(0xffff830000000000, mfn INVALID_MFN, 2, _PAGE_NONE)"
    )
    assert op_message('{ op = "unmap", virt = "DIRECTMAP", nr = 2, mfn = 3 }') == (
        f'{FILE}: cpus[0].ops[0].mfn: unknown key for op "unmap"; known: op, virt, nr, irqs'
    )
    assert op_message('{ op = "lookup" }') == (
        f'{FILE}: cpus[0].ops[0].virt: missing: op "lookup" requires virt'
    )
    assert "is not 4 KiB aligned" in op_message('{ op = "lookup", virt = "DIRECTMAP + 8" }')


def test_integer_values_may_be_plain_toml_integers() -> None:
    op = op_of('{ op = "map", virt = 0xffff830000000000, mfn = 5, nr = 2, flags = 0x63 }')
    assert op == MapOp(0xFFFF830000000000, 5, 2, 0x63)


def test_an_explore_table_gives_per_scenario_defaults() -> None:
    text = (
        HEAD
        + ONE_CPU
        + (
            '[explore]\nstrategy = "pct"\npreemption_bound = 2\nmax_executions = 1000\n'
            "time_limit = 30\nseed = 7\n"
        )
    )
    assert parse_scenario(text, "e.toml").explore == ExploreDefaults("pct", 2, 1000, 30.0, 7)


def test_the_constants_list_the_variants_and_the_oracles_finding_kinds() -> None:
    assert KNOWN_VARIANTS == ("xen-4.14", "xsa-345", "xen-4.19", "xen-4.20.0", "xen-4.21")
    assert set(FINDING_KINDS) == {
        "use-after-free", "double-free", "bad-free", "bug", "wild-write",
        "torn-entry", "deadlock", "leak", "lost-update", "stale-tlb",
        "wrong-mapping", "alloc-on-unmap", "empty-table",
    }  # fmt: skip


def test_a_scenario_error_is_an_input_error_for_exit_status_2() -> None:
    assert isinstance(error("name = \n"), PageraceInputError)


# -- file-level errors ------------------------------------------------------------------
def test_a_toml_syntax_error_gives_the_line_and_column() -> None:
    assert message(HEAD + "[cpus\n") == (
        f"{FILE}: line 3, column 6: TOML syntax error: Expected ']' at the end of a table"
        " declaration"
    )


def test_a_toml_syntax_error_in_a_value_gives_the_line_and_column() -> None:
    err = error('name = "t"\nvariant = \n')
    assert err.key == "line 2, column 11"
    assert re.fullmatch(r"TOML syntax error: .+", err.reason)


def test_a_toml_syntax_error_at_the_end_of_the_file_says_so() -> None:
    assert message(HEAD + "x = [1,\n") == (
        f"{FILE}: end of document: TOML syntax error: Invalid value"
    )


def test_a_missing_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: cannot read: No such file or directory"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x = " + "[" * 600 + "]" * 600, "nested deeper than 32 levels"),
        ("x = " + "{a = " * 400 + "1" + "}" * 400, "nested deeper than 32 levels"),
        ("entries = " + "9" * 5000, "a number longer than 40 digits"),
        ("entries = " + "9" * 50, "a number longer than 40 digits"),
    ],
    ids=["600-arrays", "400-inline-tables", "5000-digits", "50-digits"],
)
def test_toml_that_python_cannot_parse_safely_is_one_line(text: str, reason: str) -> None:
    assert message(HEAD + text + "\n" + ONE_CPU) == f"{FILE}: {reason}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.mkdir(), "cannot read: it is a directory"),
        (lambda p: os.mkfifo(p), "the file is empty"),
        (lambda p: p.write_text(HEAD + "# " + "x" * (1 << 20) + "\n"), "too large: 1.0 MiB"),
    ],
    ids=["directory", "fifo-without-writer", "over-1-MiB"],
)
def test_what_is_not_a_scenario_file_is_refused_without_reading_it_all(
    tmp_path: Path, make: Any, reason: str
) -> None:
    path = tmp_path / "s.toml"
    make(path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: {reason}")


def test_a_device_is_refused_instead_of_read_for_ever() -> None:
    with pytest.raises(ScenarioError, match="/dev/zero: cannot read: a device"):
        load_scenario("/dev/zero")


def test_values_in_messages_are_escaped_and_cut() -> None:
    text = message('name = "\\u001b[31mRED\\n"\nvariant = "xen-4.14"\n' + ONE_CPU)
    assert text == f'{FILE}: name: "\\x1b[31mRED\\n" must match [a-z0-9-]+ (lower case, digits, -)'
    long = message(f'name = "{"A" * 10**6}"\nvariant = "xen-4.14"\n' + ONE_CPU)
    assert len(long) < 300 and "(999,880 more characters)" in long


def test_a_file_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not UTF-8 text (byte 11: 0xe9)"


# -- top-level keys ---------------------------------------------------------------------
KNOWN_TOP = "name, description, variant, entries, page1gb, setup, cpus, expect, explore"


def test_an_unknown_top_level_key_is_named_with_a_suggestion() -> None:
    assert message(HEAD + "entires = 8\n" + ONE_CPU) == (
        f"{FILE}: entires: unknown top-level key (did you mean entries?); known: {KNOWN_TOP}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('variant = "xen-4.14"\n' + ONE_CPU, "name: missing: a required key"),
        ('name = "t"\n' + ONE_CPU, "variant: missing: a required key"),
        (HEAD, "cpus: missing: at least one [[cpus]] table is required"),
    ],
)
def test_a_missing_required_top_level_key_is_named(text: str, expected: str) -> None:
    assert message(text) == f"{FILE}: {expected}"


@pytest.mark.parametrize("name", ["XSA345", "xsa_345", "xsa 345", ""])
def test_a_name_outside_lower_case_digits_and_dashes_is_refused(name: str) -> None:
    text = f'name = "{name}"\nvariant = "xen-4.14"\n' + ONE_CPU
    assert message(text) == f'{FILE}: name: "{name}" must match [a-z0-9-]+ (lower case, digits, -)'


def test_an_unknown_variant_is_refused_with_the_known_ones() -> None:
    assert message('name = "t"\nvariant = "xen_4.14"\n' + ONE_CPU) == (
        f'{FILE}: variant: unknown variant "xen_4.14" (did you mean xen-4.14?);'
        " known: xen-4.14, xsa-345, xen-4.19, xen-4.20.0, xen-4.21"
    )


@pytest.mark.parametrize("entries", [0, 2, 3, 100, 1024, -8])
def test_entries_must_be_a_power_of_two_from_4_to_512(entries: int) -> None:
    assert message(HEAD + f"entries = {entries}\n" + ONE_CPU) == (
        f"{FILE}: entries: {entries} is not a power of two from 4 to 512"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("entries = true", "entries: expected an integer, got a boolean (true)"),
        ('entries = "512"', 'entries: expected an integer, got a string ("512")'),
        ("entries = 8.0", "entries: expected an integer, got a float (8.0)"),
        ("page1gb = 1", "page1gb: expected true or false, got an integer (1)"),
        ("description = 5", "description: expected a string, got an integer (5)"),
        ("setup = 1", "setup: expected an array of tables, got an integer (1)"),
        ("setup = [1]", "setup[0]: expected a table, got an integer (1)"),
        ("expect = 1", "expect: expected a table, got an integer (1)"),
        ("explore = []", "explore: expected a table, got an array"),
    ],
)
def test_a_top_level_value_of_the_wrong_type_is_refused(line: str, expected: str) -> None:
    assert message(HEAD + line + "\n" + ONE_CPU) == f"{FILE}: {expected}"


def test_name_of_the_wrong_type_is_refused() -> None:
    assert message('name = 5\nvariant = "xen-4.14"\n' + ONE_CPU) == (
        f"{FILE}: name: expected a string, got an integer (5)"
    )


# -- CPUs -------------------------------------------------------------------------------
def test_zero_cpus_are_refused() -> None:
    assert message(HEAD + "cpus = []\n") == (
        f"{FILE}: cpus: no CPUs: at least one [[cpus]] table is required"
    )


def test_more_than_8_cpus_are_refused() -> None:
    assert message(HEAD + ONE_CPU * 9) == f"{FILE}: cpus: 9 CPUs; at most 8 are supported"
    assert len(parse_scenario(HEAD + ONE_CPU * 8, "ok.toml").cpus) == 8


def test_cpus_written_as_a_single_table_are_refused() -> None:
    assert message(HEAD + "[cpus]\nops = []\n") == (
        f"{FILE}: cpus: expected an array of tables, got a table"
    )


def test_a_cpu_with_an_empty_op_list_is_refused() -> None:
    assert message(HEAD + ONE_CPU + "[[cpus]]\nops = []\n") == (
        f"{FILE}: cpus[1].ops: empty: each CPU needs at least one op"
    )


def test_a_cpu_without_ops_is_refused() -> None:
    assert message(HEAD + ONE_CPU + "[[cpus]]\n") == (
        f"{FILE}: cpus[1].ops: missing: each CPU needs a list of ops"
    )


def test_an_unknown_key_in_a_cpu_table_is_refused() -> None:
    assert message(HEAD + "[[cpus]]\nopz = []\n") == (
        f"{FILE}: cpus[0].opz: unknown key in a CPU table (did you mean ops?); known: ops"
    )


# -- ops --------------------------------------------------------------------------------
def test_an_op_without_op_is_refused() -> None:
    assert op_message("{ virt = 0 }") == (f"{FILE}: cpus[0].ops[0].op: missing: one of {OPS}")


def test_a_setup_error_is_keyed_by_its_setup_index() -> None:
    setup = '[[setup]]\nop = "populate"\nvirt = 0\nnr = 1\n' * 2 + '[[setup]]\nopp = "map"\n'
    assert message(HEAD + setup + ONE_CPU) == (f"{FILE}: setup[2].op: missing: one of {OPS}")


def test_an_unknown_op_is_refused_with_a_suggestion() -> None:
    assert op_message('{ op = "mapp", virt = 0 }') == (
        f'{FILE}: cpus[0].ops[0].op: unknown op "mapp" (did you mean map?);'
        " known: map, unmap, populate, modify, destroy, lookup, access"
    )


def test_an_op_name_of_the_wrong_type_is_refused() -> None:
    assert op_message("{ op = 1, virt = 0 }") == (
        f"{FILE}: cpus[0].ops[0].op: expected a string, got an integer (1)"
    )


def test_an_op_written_as_a_non_table_is_refused() -> None:
    assert message(HEAD + "[[cpus]]\nops = [1]\n") == (
        f"{FILE}: cpus[0].ops[0]: expected a table, got an integer (1)"
    )


def test_an_unknown_key_in_an_op_is_refused_with_the_ops_keys() -> None:
    assert op_message('{ op = "map", virt = 0, mfn = 0, nr = 1, flags = 0, colour = 1 }') == (
        f'{FILE}: cpus[0].ops[0].colour: unknown key for op "map";'
        " known: op, virt, mfn, nr, flags, irqs"
    )


def test_irqs_is_not_a_key_of_access() -> None:
    assert op_message('{ op = "access", virt = 0, irqs = false }') == (
        f'{FILE}: cpus[0].ops[0].irqs: unknown key for op "access"; known: op, virt'
    )


MAP_REQUIRES = 'op "map" requires virt, mfn, nr, flags'


@pytest.mark.parametrize(
    ("op", "field", "fields"),
    [
        ('{ op = "map", virt = 0, mfn = 0, nr = 1 }', "flags", MAP_REQUIRES),
        ('{ op = "map", mfn = 0, nr = 1, flags = 0 }', "virt", MAP_REQUIRES),
        ('{ op = "populate", virt = 0 }', "nr", 'op "populate" requires virt, nr'),
        ('{ op = "modify", s = 0, e = 4096 }', "nf", 'op "modify" requires s, e, nf'),
        ('{ op = "destroy", s = 0 }', "e", 'op "destroy" requires s, e'),
        ('{ op = "access" }', "virt", 'op "access" requires virt'),
    ],
)  # fmt: skip
def test_a_missing_required_field_of_an_op_is_named(op: str, field: str, fields: str) -> None:
    assert op_message(op) == f"{FILE}: cpus[0].ops[0].{field}: missing: {fields}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("true", "a boolean (true)"), ("1.5", "a float (1.5)"), ("[1]", "an array"),
     ("{ a = 1 }", "a table")],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_refused(value: str, shown: str) -> None:
    assert op_message(f'{{ op = "map", virt = {value}, mfn = 0, nr = 1, flags = 0 }}') == (
        f"{FILE}: cpus[0].ops[0].virt: expected an integer or an expression string, got {shown}"
    )


def test_irqs_of_the_wrong_type_is_refused() -> None:
    assert op_message('{ op = "destroy", s = 0, e = 4096, irqs = 0 }') == (
        f"{FILE}: cpus[0].ops[0].irqs: expected true or false, got an integer (0)"
    )


def test_a_negative_toml_integer_is_refused() -> None:
    assert op_message('{ op = "map", virt = 0, mfn = -1, nr = 1, flags = 0 }') == (
        f"{FILE}: cpus[0].ops[0].mfn: -1 is outside 0..0xffffffffffffffff (64 bits unsigned)"
    )


def test_an_expression_error_names_the_expression_and_the_problem() -> None:
    assert op_message('{ op = "access", virt = "DIRECTMAP + L3_SPN" }') == (
        f'{FILE}: cpus[0].ops[0].virt: expression "DIRECTMAP + L3_SPN", column 13:'
        " unknown name L3_SPN (did you mean L3_SPAN, L4_SPAN or L2_SPAN?)"
    )


def test_an_expression_out_of_range_names_the_expression() -> None:
    assert op_message('{ op = "populate", virt = 0, nr = "0 - 1" }') == (
        f'{FILE}: cpus[0].ops[0].nr: expression "0 - 1": value -0x1 is outside'
        " 0..0xffffffffffffffff (64 bits unsigned)"
    )


def test_an_unaligned_address_is_refused_showing_expression_and_value() -> None:
    assert op_message('{ op = "access", virt = "DIRECTMAP + 1" }') == (
        f'{FILE}: cpus[0].ops[0].virt: "DIRECTMAP + 1" = 0xffff830000000001 is not 4 KiB aligned'
    )
    assert op_message('{ op = "access", virt = 0x1001 }') == (
        f"{FILE}: cpus[0].ops[0].virt: 0x1001 is not 4 KiB aligned"
    )


def test_a_non_canonical_address_is_refused_at_512_entries() -> None:
    assert op_message('{ op = "access", virt = 0x800000000000 }') == (
        f"{FILE}: cpus[0].ops[0].virt: 0x800000000000 is not canonical for 512 entries per"
        " table (48-bit addresses)"
    )


def test_an_address_beyond_the_small_address_space_is_refused_at_8_entries() -> None:
    assert op_message('{ op = "access", virt = "0x1000000" }', entries=8) == (
        f'{FILE}: cpus[0].ops[0].virt: "0x1000000" = 0x1000000 is not canonical for 8 entries'
        " per table (24-bit addresses)"
    )


def test_nr_must_be_at_least_one() -> None:
    assert op_message('{ op = "populate", virt = 0, nr = 0 }') == (
        f"{FILE}: cpus[0].ops[0].nr: 0: must be at least 1"
    )


def test_nr_must_keep_the_range_inside_the_lower_canonical_half() -> None:
    assert op_message('{ op = "populate", virt = "0x800000000000 - PAGE_SIZE", nr = 2 }') == (
        f"{FILE}: cpus[0].ops[0].nr: 2 pages from 0x7ffffffff000 run past 0x800000000000,"
        " the end of the lower canonical half at 512 entries per table"
    )


def test_nr_must_keep_the_range_inside_the_address_space() -> None:
    assert op_message('{ op = "populate", virt = "~0xfff", nr = 2 }') == (
        f"{FILE}: cpus[0].ops[0].nr: 2 pages from 0xfffffffffffff000 run past"
        " 0x10000000000000000, the end of the address space at 512 entries per table"
    )
    assert op_message('{ op = "populate", virt = "DIRECTMAP", nr = "L4_SPAN" }', entries=8) == (
        f"{FILE}: cpus[0].ops[0].nr: 2097152 pages from 0x800000 run past 0x1000000,"
        " the end of the address space at 8 entries per table"
    )


def test_a_range_reaching_exactly_the_end_of_the_address_space_is_fine() -> None:
    assert op_of('{ op = "populate", virt = "~0xfff", nr = 1 }') == PopulateOp(2**64 - 4096, 1)
    assert op_of('{ op = "destroy", s = 0, e = "0x800000000000" }') == DestroyOp(0, 2**47)
    assert op_of('{ op = "destroy", s = 0, e = "0x1000000" }', entries=8) == DestroyOp(0, 2**24)


def test_mfn_plus_nr_must_stay_below_the_page_table_frames() -> None:
    assert op_message('{ op = "map", virt = 0, mfn = 0xffffff, nr = 2, flags = 0 }') == (
        f"{FILE}: cpus[0].ops[0].mfn: mfn 0xffffff + nr 2 = 0x1000001 exceeds 0x1000000,"
        " where the model's page-table frames start; data frames must lie below it"
        " (or use INVALID_MFN)"
    )
    assert op_of('{ op = "map", virt = 0, mfn = 0xffffff, nr = 1, flags = 0 }') == MapOp(
        0, 0xFFFFFF, 1, 0
    )


def test_invalid_mfn_is_allowed_with_any_nr() -> None:
    op = op_of('{ op = "map", virt = 0, mfn = "INVALID_MFN", nr = 1000, flags = 0 }')
    assert op == MapOp(0, INVALID_MFN, 1000, 0)


def test_flags_with_frame_number_bits_are_refused() -> None:
    text = '{ op = "map", virt = 0, mfn = 0, nr = 1, flags = "PAGE_HYPERVISOR | _PAGE_PSE_PAT" }'
    assert op_message(text) == (
        f'{FILE}: cpus[0].ops[0].flags: "PAGE_HYPERVISOR | _PAGE_PSE_PAT" = 0x8000000000001163'
        " sets bits 12..51 (0x1000), the frame-number field of an entry, not flags"
    )
    assert op_message('{ op = "modify", s = 0, e = 4096, nf = 0x10000 }') == (
        f"{FILE}: cpus[0].ops[0].nf: 0x10000 sets bits 12..51 (0x10000), the frame-number"
        " field of an entry, not flags"
    )


def test_s_must_be_below_e() -> None:
    assert op_message('{ op = "modify", s = "DIRECTMAP", e = "DIRECTMAP", nf = 0 }') == (
        f'{FILE}: cpus[0].ops[0].e: "DIRECTMAP" = 0xffff830000000000 must be above'
        " s = 0xffff830000000000"
    )
    assert op_message('{ op = "destroy", s = 8192, e = 4096 }') == (
        f"{FILE}: cpus[0].ops[0].e: 0x1000 must be above s = 0x2000"
    )


def test_e_must_be_aligned() -> None:
    assert op_message('{ op = "destroy", s = 0, e = "PAGE_SIZE + 5" }') == (
        f'{FILE}: cpus[0].ops[0].e: "PAGE_SIZE + 5" = 0x1005 is not 4 KiB aligned'
    )


def test_s_must_be_canonical_and_e_must_stay_in_the_same_half() -> None:
    assert op_message('{ op = "destroy", s = 0x800000000000, e = 0x800000001000 }') == (
        f"{FILE}: cpus[0].ops[0].s: 0x800000000000 is not canonical for 512 entries per"
        " table (48-bit addresses)"
    )
    assert op_message('{ op = "destroy", s = 0, e = "0x800000000000 + PAGE_SIZE" }') == (
        f'{FILE}: cpus[0].ops[0].e: "0x800000000000 + PAGE_SIZE" = 0x800000001000 lies past'
        " 0x800000000000, the end of the lower canonical half at 512 entries per table"
    )


# -- [expect] ---------------------------------------------------------------------------
def test_an_unknown_finding_kind_in_expect_is_refused() -> None:
    assert message(HEAD + ONE_CPU + '[expect]\n"xen-4.14" = ["use-after-fre"]\n') == (
        f'{FILE}: expect."xen-4.14"[0]: unknown finding kind "use-after-fre"'
        f" (did you mean use-after-free?); known: {', '.join(FINDING_KINDS)}"
    )


def test_an_unknown_variant_in_expect_is_refused() -> None:
    assert message(HEAD + ONE_CPU + '[expect]\n"xen_4.14" = []\n') == (
        f'{FILE}: expect."xen_4.14": unknown variant "xen_4.14" (did you mean xen-4.14?);'
        " known: xen-4.14, xsa-345, xen-4.19, xen-4.20.0, xen-4.21"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"xen-4.14" = ["leak", "leak"]', 'expect."xen-4.14"[1]: "leak" is listed twice'),
        ('"xen-4.14" = "leak"', 'expect."xen-4.14": expected an array of finding kinds,'
                                ' got a string ("leak")'),
        ('"xen-4.14" = [1]', 'expect."xen-4.14"[0]: expected a string, got an integer (1)'),
    ],
)  # fmt: skip
def test_a_malformed_expectation_is_refused(line: str, expected: str) -> None:
    assert message(HEAD + ONE_CPU + "[expect]\n" + line + "\n") == f"{FILE}: {expected}"


# -- [explore] --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('strategy = "bfs"',
         'explore.strategy: unknown strategy "bfs" (did you mean dfs?);'
         " known: dpor, dfs, random, pct"),
        ("strategy = 1", "explore.strategy: expected a string, got an integer (1)"),
        ("preemption_bound = -1", "explore.preemption_bound: -1: must be at least 0"),
        ("max_executions = 0", "explore.max_executions: 0: must be at least 1"),
        ("max_executions = 1.5", "explore.max_executions: expected an integer, got a float (1.5)"),
        ("time_limit = 0", "explore.time_limit: 0 seconds: must be a positive number"),
        ("time_limit = inf", "explore.time_limit: inf seconds: must be a positive number"),
        ('time_limit = "1s"',
         'explore.time_limit: expected a number of seconds, got a string ("1s")'),
        ("seed = true", "explore.seed: expected an integer, got a boolean (true)"),
        ("seed = -1", "explore.seed: -1: must be at least 0"),
        ("sed = 1", "explore.sed: unknown key in [explore] (did you mean seed?); known:"
                    " strategy, preemption_bound, max_executions, time_limit, seed"),
    ],
)  # fmt: skip
def test_a_bad_explore_default_is_refused(line: str, expected: str) -> None:
    assert message(HEAD + ONE_CPU + "[explore]\n" + line + "\n") == f"{FILE}: {expected}"


def test_a_scenario_is_a_scenario_dataclass() -> None:
    assert isinstance(parse_scenario(HEAD + ONE_CPU, "x.toml"), Scenario)


def test_the_example_in_the_scenario_guide_parses() -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
    text = guide.read_text()
    start = text.index("```toml\n") + len("```toml\n")
    sc = parse_scenario(text[start : text.index("```", start)], "guide.toml")
    assert sc.explore == ExploreDefaults(strategy="dpor", preemption_bound=2)
    assert sc.cpus[0][0].describe() == (
        "map_pages_to_xen(0xffff830040a03000, mfn 0x40a03, 1, PAGE_HYPERVISOR_UC)"
    )
