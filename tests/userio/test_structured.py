"""TOML and JSON parsed without RecursionError, digit-limit ValueError or lost keys."""

from __future__ import annotations

import pytest

from pagerace.userio import MAX_NESTING, StructuredTextError, load_json, load_toml


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x = " + "[" * 600 + "]" * 600, "nested deeper"),
        ("x = " + "{a = " * 400 + "1" + "}" * 400, "nested deeper"),
        ("x = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), "nested deeper"),
        ("x = " + "9" * 5000, "digits"),
        ("x = " + "9" * 100, "digits"),
        ("x = 1\nx = 2", "Cannot overwrite a value"),
        ("x = ", "TOML syntax error"),
    ],
    ids=["600-arrays", "400-tables", "just-too-deep", "5000-digits", "100-digits", "dup", "eof"],
)
def test_bad_toml_is_one_error(text: str, reason: str) -> None:
    with pytest.raises(StructuredTextError, match=reason):
        load_toml(text)


def test_toml_within_the_bounds_is_parsed() -> None:
    depth = MAX_NESTING - 1
    doc = load_toml("x = " + "[" * depth + "1" + "]" * depth + "\ny = 18446744073709551615")
    assert doc["y"] == 2**64 - 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ("9" * 5000, "digits"),
        ("[NaN]", "not a JSON number"),
        ("[1e999999]", "number"),
        ('{"a": ', "line 1, column"),
    ],
    ids=["deep", "duplicate", "5000-digits", "nan", "long-float", "truncated"],
)
def test_bad_json_is_one_error(text: str, reason: str) -> None:
    with pytest.raises(StructuredTextError, match=reason):
        load_json(text)


def test_json_keeps_64_bit_integers_exact() -> None:
    assert load_json('{"v": 18446744073709551615}') == {"v": 2**64 - 1}
