"""The scenario expression language: operators, precedence, names, errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerace.errors import PageraceInputError
from pagerace.paging.geometry import Geometry
from pagerace.paging.pte import pte_names
from pagerace.scenario.expr import MAX_NESTING, ExprError, evaluate, expression_names

MASK64 = (1 << 64) - 1
NAMES_512 = expression_names(Geometry(512))
NAMES_8 = expression_names(Geometry(8))


def ev(text: str, names: dict[str, int] | None = None) -> int:
    return evaluate(text, NAMES_512 if names is None else names)


def error_of(text: str, names: dict[str, int] | None = None) -> ExprError:
    with pytest.raises(ExprError) as info:
        ev(text, names)
    return info.value


# -- literals ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("4096", 4096),
        ("0x1000", 4096),
        ("0X1000", 4096),
        ("0xFfFf", 0xFFFF),
        ("262_144", 262144),
        ("0xffff_8300_0000_0000", 0xFFFF830000000000),
        ("0x_ff", 0xFF),
        ("18446744073709551615", MASK64),
        ("0xffffffffffffffff", MASK64),
        ("  \t42\n ", 42),
    ],
)
def test_decimal_and_hex_literals_with_single_underscores_evaluate_to_their_value(
    text: str, value: int
) -> None:
    assert ev(text) == value


@pytest.mark.parametrize("text", ["1__0", "1_", "0x", "0xg", "12abc", "0x1_"])
def test_a_malformed_number_is_an_error_at_its_column(text: str) -> None:
    err = error_of(f"1 + {text}")
    assert err.pos == 4
    assert "malformed number" in err.reason


def test_a_decimal_literal_with_a_leading_zero_is_refused_as_ambiguous_octal() -> None:
    err = error_of("010")
    assert err.pos == 0
    assert "leading zero" in err.reason


@pytest.mark.parametrize(
    "text", ["18446744073709551616", "0x1_0000_0000_0000_0000", "9" * 900, "0x" + "f" * 900]
)
def test_a_literal_above_64_bits_is_refused(text: str) -> None:
    assert "does not fit in 64 bits" in error_of(text).reason


@pytest.mark.parametrize("text", ["\u00b2", "1 + \u0661", "\uff11"])
def test_a_digit_of_another_script_is_an_unexpected_character(text: str) -> None:
    err = error_of(text)
    assert "unexpected character" in err.reason and err.pos == len(text) - 1


def test_an_expression_longer_than_the_bound_is_refused_at_once() -> None:
    from pagerace.scenario.expr import MAX_LENGTH

    assert evaluate("1" + "+1" * ((MAX_LENGTH - 1) // 2)) == (MAX_LENGTH + 1) // 2
    err = error_of("1*" * 950_000 + "1")  # was a 42 s quadratic parse
    assert err.pos is None and "characters long; at most" in err.reason
    assert len(str(err)) < 300  # the message shows the start of the text, not all of it


# -- operators and precedence ----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 + 3", 5),
        ("7 - 3", 4),
        ("6 * 7", 42),
        ("0xf0 | 0x0f", 0xFF),
        ("0xff & 0x0f", 0x0F),
        ("~0", MASK64),
        ("~0xfff", MASK64 ^ 0xFFF),
        ("-1 + 2", 1),
        ("--3", 3),
        ("~~5", 5),
    ],
)
def test_each_operator_computes_what_it_does_in_c(text: str, value: int) -> None:
    assert ev(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),  # * above +
        ("2 * 3 + 1", 7),
        ("10 - 2 * 3", 4),
        ("10 - 4 - 3", 3),  # left-associative
        ("1 | 2 & 0", 1),  # & above |
        ("(1 | 2) & 1", 1),
        ("1 + 1 & 2", 2),  # + above &
        ("6 & 3 + 1", 4),
        ("1 | 1 + 1", 3),  # + above |
        ("2 * (3 + 4)", 14),
        ("-2 * 3 + 7", 1),  # unary binds tighter than *
        ("~0 & 0xff", 0xFF),
        ("~(1 | 2) & 7", 4),
        ("~1 & 3", 2),
        ("((((1))))", 1),
    ],
)
def test_precedence_is_c_unary_then_times_then_plus_minus_then_and_then_or(
    text: str, value: int
) -> None:
    assert ev(text) == value


def test_complement_is_64_bit_so_page_masks_read_as_in_c() -> None:
    assert ev("~(PAGE_SIZE - 1)") == 0xFFFF_FFFF_FFFF_F000
    assert ev("-PAGE_SIZE & 0xffffffff") == 0xFFFF_F000
    assert ev("DIRECTMAP + 0x1234 & ~(PAGE_SIZE - 1)") == 0xFFFF_8300_0000_1000


def test_a_negative_intermediate_value_is_fine_when_the_final_value_is_in_range() -> None:
    assert ev("(0 - 5) + 10") == 5
    assert ev("-PAGE_SIZE + 2 * PAGE_SIZE") == 4096


@pytest.mark.parametrize("text", ["0 - 1", "DIRECTMAP * 2", "0xffffffffffffffff + 1", "-1"])
def test_a_final_value_outside_64_bits_unsigned_is_an_error_naming_the_expression(
    text: str,
) -> None:
    err = error_of(text)
    assert err.pos is None
    assert str(err).startswith(f'expression "{text}": value ')
    assert "is outside 0..0xffffffffffffffff" in str(err)


# -- names -------------------------------------------------------------------------
GEOMETRY_NAMES = {
    # name: (value at 512 entries, value at 8 entries)
    "PAGE_SIZE": (4096, 4096),
    "L2_SPAN": (0x200000, 0x8000),
    "L3_SPAN": (0x40000000, 0x40000),
    "L4_SPAN": (0x8000000000, 0x200000),
    "L2_PAGES": (512, 8),
    "L3_PAGES": (262144, 64),
    "DIRECTMAP": (0xFFFF830000000000, 0x800000),
    "INVALID_MFN": (MASK64, MASK64),
}


@pytest.mark.parametrize("name", sorted(GEOMETRY_NAMES))
def test_each_geometry_name_has_its_value_at_512_and_at_8_entries(name: str) -> None:
    at512, at8 = GEOMETRY_NAMES[name]
    assert ev(name, NAMES_512) == at512
    assert ev(name, NAMES_8) == at8


@pytest.mark.parametrize("name", sorted(pte_names()))
def test_each_flag_name_has_xens_value_in_the_64_bit_pte_layout_at_any_size(name: str) -> None:
    assert ev(name, NAMES_512) == pte_names()[name]
    assert ev(name, NAMES_8) == pte_names()[name]


def test_the_well_known_flag_names_have_their_xen_values() -> None:
    assert ev("PAGE_HYPERVISOR") == 0x8000_0000_0000_0163
    assert ev("PAGE_HYPERVISOR_RX") == 0x121
    assert ev("_PAGE_NX") == 1 << 63
    assert ev("MAP_SMALL_PAGES") == 0x200
    assert ev("PAGE_HYPERVISOR | _PAGE_PCD | _PAGE_PWT") == 0x8000_0000_0000_017B


def test_the_names_are_exactly_the_geometry_names_and_the_pte_names() -> None:
    assert set(NAMES_512) == set(GEOMETRY_NAMES) | set(pte_names())


def test_the_architecture_example_values_at_512_entries() -> None:
    virt = "DIRECTMAP + L3_SPAN + 5 * L2_SPAN + 3 * PAGE_SIZE"
    assert ev(virt) == 0xFFFF830040A03000
    assert ev("L3_PAGES + 5 * L2_PAGES + 3") == 0x40A03


def test_evaluate_defaults_to_the_512_entry_names() -> None:
    assert evaluate("DIRECTMAP") == 0xFFFF830000000000


def test_an_unknown_name_is_an_error_at_its_column_with_close_matches() -> None:
    err = error_of("DIRECTMAP + L3_SPN")
    assert err.pos == 12
    assert str(err) == (
        'expression "DIRECTMAP + L3_SPN", column 13: unknown name L3_SPN'
        " (did you mean L3_SPAN, L4_SPAN or L2_SPAN?)"
    )


def test_an_unknown_name_in_the_wrong_case_suggests_the_upper_case_name() -> None:
    assert "(did you mean PAGE_SIZE?)" in str(error_of("page_size"))


def test_an_unknown_name_with_nothing_close_has_no_suggestion() -> None:
    expected = 'expression "frobnicate", column 1: unknown name frobnicate'
    assert str(error_of("frobnicate")) == expected


# -- syntax errors ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "pos", "reason"),
    [
        ("1 $ 2", 2, "unexpected character '$'"),
        ("PAGE_SIZE ** 2", 11, "expected a number, a name or '(' but found '*'"),
        ("(1 + 2", 0, "unbalanced '(' is never closed"),
        ("1 + 2)", 5, "unbalanced ')' with no matching '('"),
        (")", 0, "unbalanced ')' with no matching '('"),
        ("(1 2)", 3, "expected ')' but found '2'"),
        ("1 2", 2, "unexpected '2' after a complete expression"),
        ("PAGE_SIZE L2_SPAN", 10, "unexpected 'L2_SPAN' after a complete expression"),
        ("1 +", 3, "expected a number, a name or '(' but found the end of the expression"),
        ("()", 1, "expected a number, a name or '(' but found ')'"),
        ("~", 1, "expected a number, a name or '(' but found the end of the expression"),
    ],
)
def test_each_syntax_error_names_the_expression_the_column_and_the_problem(
    text: str, pos: int, reason: str
) -> None:
    err = error_of(text)
    assert (err.pos, err.reason) == (pos, reason)
    assert str(err) == f'expression "{text}", column {pos + 1}: {reason}'


@pytest.mark.parametrize(("text", "shown"), [("", '""'), ("   ", '"   "'), ("\t\n", '"\\t\\n"')])
def test_an_empty_expression_is_an_error_on_one_line(text: str, shown: str) -> None:
    err = error_of(text)
    assert err.pos is None
    assert str(err) == f"expression {shown}: empty expression"


def test_deep_nesting_is_refused_cleanly_instead_of_overflowing_the_stack() -> None:
    ok = "(" * MAX_NESTING + "1" + ")" * MAX_NESTING
    assert ev(ok) == 1
    deep = "(" * 400 + "1" + ")" * 400
    assert "nested deeper" in error_of(deep).reason
    assert ev("-" * 998 + "1") == 1  # unary chains are iterative


def test_an_expression_error_is_an_input_error() -> None:
    assert isinstance(error_of("?"), PageraceInputError)


def test_a_quote_in_the_expression_is_escaped_in_the_message() -> None:
    assert str(error_of('1 "')).startswith('expression "1 \\"", column 3:')


def test_evaluate_refuses_a_non_string_as_a_programming_error() -> None:
    with pytest.raises(TypeError):
        evaluate(5)  # type: ignore[arg-type]


def test_a_long_expression_gives_the_value_c_precedence_gives_every_time() -> None:
    # & binds tighter than |, and both looser than +: (a + b) | (c & ~0xff)
    text = "DIRECTMAP + L3_SPAN + 5 * L2_SPAN + 3 * PAGE_SIZE | PAGE_HYPERVISOR & ~0xff"
    n = NAMES_512
    want = (n["DIRECTMAP"] + n["L3_SPAN"] + 5 * n["L2_SPAN"] + 3 * n["PAGE_SIZE"]) | (
        n["PAGE_HYPERVISOR"] & ~0xFF
    )
    assert want != n["DIRECTMAP"] + n["L3_SPAN"] + 5 * n["L2_SPAN"] + 3 * n["PAGE_SIZE"]
    assert {ev(text) for _ in range(50)} == {want}


# -- property: the parser agrees with a reference evaluation of a tree -----------
@dataclass(frozen=True)
class Leaf:
    text: str
    value: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object
    parens: bool


PREC = {"|": 1, "&": 2, "+": 3, "-": 3, "*": 4}
UNARY_PREC = 5
ATOM_PREC = 6


def reference(node: object) -> int:
    """Python's operators on the tree; ``~`` is the 64-bit complement."""
    if isinstance(node, Leaf):
        return node.value
    if isinstance(node, Unary):
        v = reference(node.operand)
        return v ^ MASK64 if node.op == "~" else -v
    assert isinstance(node, Binary)
    a, b = reference(node.left), reference(node.right)
    return {
        "|": lambda: a | b,
        "&": lambda: a & b,
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
    }[node.op]()


def prec(node: object) -> int:
    if isinstance(node, Binary):
        return ATOM_PREC if node.parens else PREC[node.op]
    return UNARY_PREC if isinstance(node, Unary) else ATOM_PREC


def render(node: object) -> str:
    """Text with the fewest parentheses C's precedence needs (plus random extra ones)."""
    if isinstance(node, Leaf):
        return node.text
    if isinstance(node, Unary):
        inner = render(node.operand)
        return node.op + (inner if prec(node.operand) >= UNARY_PREC else f"({inner})")
    assert isinstance(node, Binary)
    p = PREC[node.op]
    left = render(node.left)
    right = render(node.right)
    if prec(node.left) < p:
        left = f"({left})"
    if prec(node.right) <= p:
        right = f"({right})"
    text = f"{left} {node.op} {right}"
    return f"({text})" if node.parens else text


leaves = st.one_of(
    st.integers(0, 2**64 - 1).map(lambda v: Leaf(str(v), v)),
    st.integers(0, 2**64 - 1).map(lambda v: Leaf(hex(v), v)),
    st.integers(0, 4096).map(lambda v: Leaf(str(v), v)),
    st.sampled_from(sorted(NAMES_8)).map(lambda n: Leaf(n, NAMES_8[n])),
)
trees = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.builds(Unary, st.sampled_from("~-"), sub),
        st.builds(Binary, st.sampled_from(sorted(PREC)), sub, sub, st.booleans()),
    ),
    max_leaves=12,
)


@given(trees)
def test_the_parser_agrees_with_a_reference_evaluation_of_random_expression_trees(
    tree: object,
) -> None:
    text = render(tree)
    expected = reference(tree)
    if 0 <= expected <= MASK64:
        assert evaluate(text, NAMES_8) == expected
    else:
        with pytest.raises(ExprError, match="is outside"):
            evaluate(text, NAMES_8)
