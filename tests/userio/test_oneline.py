"""One-line messages and user numbers: pagerace.userio.text."""

from __future__ import annotations

import pytest

from pagerace.errors import PageraceInputError
from pagerace.userio import one_line, parse_uint, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain-name", "plain-name"),
        ("two\nlines", "two\\nlines"),
        ("\x1b[31mRED", "\\x1b[31mRED"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b", "csi\\x9b"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("sep\u2028x", "sep\\u2028x"),
        ("zen2[/]", "zen2[/]"),
        ("Grüße", "Grüße"),
    ],
)
def test_one_line_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    assert one_line(raw) == shown


def test_one_line_cuts_long_values_and_says_how_much() -> None:
    text = one_line("x" * 10**6, limit=50)
    assert text == "x" * 50 + "... (999,950 more characters)"


def test_printable_keeps_newlines_but_not_escapes() -> None:
    assert printable("a\n\tb") == "a\n\tb"
    assert printable("a\x1b[2Jb\r") == "a\\x1b[2Jb\\r"


@pytest.mark.parametrize(
    "text", ["\u00b2", "\u0661", "\u00bd", "-1", "+1", "1e3", "0x10", "", " ", "1_000", "\u0663"]
)
def test_parse_uint_takes_ascii_digits_only(text: str) -> None:
    with pytest.raises(PageraceInputError, match="not a whole number"):
        parse_uint(text, "--n", maximum=100)


def test_parse_uint_bounds_and_huge_numbers() -> None:
    assert parse_uint(" 007 ", "--n", maximum=100) == 7
    assert parse_uint("100", "--n", maximum=100) == 100
    with pytest.raises(PageraceInputError, match=r"--n: 101 is outside 1\.\.100"):
        parse_uint("101", "--n", minimum=1, maximum=100)
    with pytest.raises(PageraceInputError, match=r"more characters\) is outside"):
        parse_uint("9" * 5000, "--n", maximum=100)
    with pytest.raises(PageraceInputError, match="outside 1"):
        parse_uint("0", "--n", minimum=1, maximum=100)
