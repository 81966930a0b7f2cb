"""TOML and JSON from users, parsed without surprises.

Python's parsers recurse (600 nested arrays raise ``RecursionError``), convert any
run of digits (a 5,000-digit integer raises ``ValueError`` from the int digit
limit) and, for JSON, keep the last of two equal keys.  ``load_toml`` and
``load_json`` turn all of these into one ``StructuredTextError`` that says where
and what, refuse nesting deeper than ``MAX_NESTING`` and integers longer than
``MAX_DIGITS`` digits, and (JSON) refuse duplicated keys and ``NaN``/``Infinity``.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

from pagerace.errors import PageraceInputError

__all__ = ["MAX_DIGITS", "MAX_NESTING", "StructuredTextError", "load_json", "load_toml"]

#: Arrays and tables (objects) nested deeper than this are refused.
MAX_NESTING = 32
#: Integers with more digits than this are refused (2**64 has 20).
MAX_DIGITS = 40


class StructuredTextError(PageraceInputError):
    """Text that is not valid TOML/JSON (or is nested too deeply, has a huge number
    or a duplicated key).  ``where`` is ``"line L, column C"``, ``"end of document"``
    or ``""``; ``reason`` says what is wrong."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


_TOML_WHERE = re.compile(
    r"^(?P<msg>.*?)\s*\((?:at line (?P<line>\d+), column (?P<col>\d+)|at end of document)\)$"
)


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML ``text``; ``StructuredTextError`` when it is not acceptable."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        m = _TOML_WHERE.match(message)
        if not m:
            raise StructuredTextError("", f"TOML syntax error: {message}") from None
        where = f"line {m['line']}, column {m['col']}" if m["line"] else "end of document"
        raise StructuredTextError(where, f"TOML syntax error: {m['msg']}") from None
    except RecursionError:
        raise StructuredTextError("", f"nested deeper than {MAX_NESTING} levels") from None
    except ValueError:  # the int digit limit, inside tomllib
        raise StructuredTextError("", f"a number longer than {MAX_DIGITS} digits") from None
    _check_tree(doc)
    return doc


def _int_literal(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise StructuredTextError("", f"a number of {digits:,} digits (at most {MAX_DIGITS})")
    return int(text)


def _float_literal(text: str) -> float:
    if len(text) > 100:
        raise StructuredTextError("", f"a number of {len(text):,} characters (at most 100)")
    value = float(text)
    if not math.isfinite(value):
        raise StructuredTextError("", f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise StructuredTextError("", f"{name} is not a JSON number")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StructuredTextError("", f"key {json.dumps(key[:60])} appears twice in one object")
        out[key] = value
    return out


def load_json(text: str) -> Any:
    """Parse JSON ``text``; ``StructuredTextError`` when it is not acceptable."""
    try:
        value = json.loads(
            text,
            parse_int=_int_literal,
            parse_float=_float_literal,
            parse_constant=_no_constant,
            object_pairs_hook=_pairs,
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise StructuredTextError(where, f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise StructuredTextError("", f"nested deeper than {MAX_NESTING} levels") from None
    _check_tree(value)
    return value


def _check_tree(value: object) -> None:
    """Refuse nesting deeper than MAX_NESTING and over-long integers (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int) and not isinstance(item, bool):
                if item.bit_length() > 3.33 * MAX_DIGITS:
                    raise StructuredTextError("", f"a number longer than {MAX_DIGITS} digits")
            continue
        if depth >= MAX_NESTING:
            raise StructuredTextError("", f"nested deeper than {MAX_NESTING} levels")
        stack.extend((child, depth + 1) for child in children)
