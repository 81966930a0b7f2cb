"""The scenario expression language: integers, names and ``+ - * | & ~``.

Scenario values may be written as strings such as
``"DIRECTMAP + L3_SPAN + 5 * L2_SPAN"`` or ``"PAGE_HYPERVISOR | _PAGE_PCD"``.  This
module is their parser: a tokenizer and a recursive-descent parser that evaluates as it
goes.  It never calls ``eval`` and never hands user text to Python's own parser.

Grammar (precedence as in C, lowest first; binary operators are left-associative)::

    expr    := and ( "|" and )*
    and     := sum ( "&" sum )*
    sum     := product ( ( "+" | "-" ) product )*
    product := unary ( "*" unary )*
    unary   := ( "~" | "-" )* primary
    primary := NUMBER | NAME | "(" expr ")"

Literals are decimal (``4096``) or hexadecimal (``0x1000``, ``0X1000``).  A single
``_`` may separate digits, as in Python (``0xffff_8300_0000_0000``, ``262_144``).
A decimal literal may not start with ``0`` unless it is ``0`` (C would read ``010``
as octal; write ``8`` or ``0x8``).  A literal must itself fit in 64 bits.

Arithmetic is exact on Python integers; ``~x`` is ``x ^ (2**64 - 1)``, the 64-bit
complement.  Only the *final* value is checked: it must lie in ``0 .. 2**64 - 1``,
so ``~(PAGE_SIZE - 1)`` and ``-PAGE_SIZE & X`` mean what they mean in C, while an
overflow such as ``DIRECTMAP * 2`` is an error rather than a silent wrap-around.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pagerace.errors import PageraceInputError
from pagerace.paging.geometry import PAGE_SIZE, Geometry
from pagerace.paging.pte import INVALID_MFN, MASK64, pte_names
from pagerace.userio import MAX_SHOWN, did_you_mean, one_line

__all__ = ["MAX_LENGTH", "MAX_NESTING", "ExprError", "evaluate", "expression_names"]

MAX_NESTING = 64  # parentheses deeper than this are refused (no RecursionError)
#: Expressions longer than this are refused: parsing stays fast, and products of
#: many 64-bit literals stay small.
MAX_LENGTH = 1000

_NUMBER = re.compile(r"0[xX](?:_?[0-9a-fA-F])+|[0-9](?:_?[0-9])*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_TAIL = re.compile(r"[A-Za-z0-9_]+")
_OPERATORS = frozenset("+-*|&~()")


class ExprError(PageraceInputError):
    """An expression is wrong; ``pos`` is the 0-based offset of the problem or None.

    ``str()`` is one line: ``expression "TEXT", column N: REASON`` (columns count
    from 1), or without the column for problems of the whole expression.
    """

    def __init__(self, text: str, pos: int | None, reason: str) -> None:
        self.text = text
        self.pos = pos
        self.reason = reason
        where = "" if pos is None else f", column {pos + 1}"
        super().__init__(f"expression {_quote(text)}{where}: {reason}")


def _quote(text: str) -> str:
    """The expression in double quotes, control characters escaped, a long one cut:
    one line."""
    cut = len(text) - MAX_SHOWN
    quoted = one_line(json.dumps(text[:MAX_SHOWN], ensure_ascii=False), limit=4 * MAX_SHOWN)
    return quoted + (f" (+{cut:,} more characters)" if cut > 0 else "")


def expression_names(geometry: Geometry | None = None) -> dict[str, int]:
    """Every name an expression may use, with its value for ``geometry``.

    The spans and counts and ``DIRECTMAP`` depend on the table size; the flag names
    (``_PAGE_*``, ``PAGE_HYPERVISOR*``, ``__PAGE_HYPERVISOR*``, ``MAP_SMALL_PAGES``,
    ``PAGE_CACHE_ATTRS``) are Xen's values in the 64-bit PTE layout, with NX.
    """
    geo = geometry if geometry is not None else Geometry(512)
    names = {
        "PAGE_SIZE": PAGE_SIZE,
        "L2_SPAN": geo.span[2],
        "L3_SPAN": geo.span[3],
        "L4_SPAN": geo.span[4],
        "L2_PAGES": geo.pages(2),
        "L3_PAGES": geo.pages(3),
        "DIRECTMAP": geo.directmap,
        "INVALID_MFN": INVALID_MFN,
    }
    names.update(pte_names(nx=True))
    return names


# -- tokens --------------------------------------------------------------------
_NUM, _ID, _OP, _END = "number", "name", "op", "end"


class _Token:
    __slots__ = ("kind", "pos", "text", "value")

    def __init__(self, kind: str, text: str, pos: int, value: int = 0) -> None:
        self.kind = kind
        self.text = text
        self.pos = pos
        self.value = value

    def shown(self) -> str:
        return "the end of the expression" if self.kind == _END else repr(self.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _OPERATORS:
            tokens.append(_Token(_OP, ch, i))
            i += 1
            continue
        if "0" <= ch <= "9":
            tokens.append(_number(text, i))
            i += len(tokens[-1].text)
            continue
        m = _NAME.match(text, i)
        if m:
            tokens.append(_Token(_ID, m.group(), i))
            i = m.end()
            continue
        raise ExprError(text, i, f"unexpected character {ch!r}")
    tokens.append(_Token(_END, "", n))
    return tokens


def _number(text: str, i: int) -> _Token:
    m = _NUMBER.match(text, i)
    assert m is not None  # text[i] is a digit
    literal = m.group()
    tail = _WORD_TAIL.match(text, m.end())
    if tail:
        bad = literal + tail.group()
        raise ExprError(text, i, f"malformed number {bad!r}")
    digits = literal.replace("_", "")
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    else:
        if len(digits) > 1 and digits[0] == "0":
            raise ExprError(
                text, i, f"decimal number {literal} has a leading zero (write 0x... for hex)"
            )
        if len(digits) > 20:
            raise ExprError(text, i, f"number {literal} does not fit in 64 bits")
        value = int(digits)
    if value > MASK64:
        raise ExprError(text, i, f"number {literal} does not fit in 64 bits")
    return _Token(_NUM, literal, i, value)


# -- parser --------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, names: Mapping[str, int]) -> None:
        self.text = text
        self.names = names
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, op: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == _OP and tok.text == op

    def parse(self) -> int:
        if self.peek().kind == _END:
            raise ExprError(self.text, None, "empty expression")
        value = self.expr()
        tok = self.peek()
        if tok.kind != _END:
            if tok.kind == _OP and tok.text == ")":
                raise ExprError(self.text, tok.pos, "unbalanced ')' with no matching '('")
            raise ExprError(
                self.text, tok.pos, f"unexpected {tok.shown()} after a complete expression"
            )
        if not 0 <= value <= MASK64:
            raise ExprError(
                self.text, None, f"value {value:#x} is outside 0..{MASK64:#x} (64 bits unsigned)"
            )
        return value

    def expr(self) -> int:
        value = self.and_()
        while self.at("|"):
            self.take()
            value |= self.and_()
        return value

    def and_(self) -> int:
        value = self.sum()
        while self.at("&"):
            self.take()
            value &= self.sum()
        return value

    def sum(self) -> int:
        value = self.product()
        while self.at("+") or self.at("-"):
            if self.take().text == "+":
                value += self.product()
            else:
                value -= self.product()
        return value

    def product(self) -> int:
        value = self.unary()
        while self.at("*"):
            self.take()
            value *= self.unary()
        return value

    def unary(self) -> int:
        prefix: list[str] = []
        while self.at("~") or self.at("-"):
            prefix.append(self.take().text)
        value = self.primary()
        for op in reversed(prefix):
            value = value ^ MASK64 if op == "~" else -value
        return value

    def primary(self) -> int:
        tok = self.take()
        if tok.kind == _NUM:
            return tok.value
        if tok.kind == _ID:
            return self.name(tok)
        if tok.kind == _OP and tok.text == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExprError(self.text, tok.pos, f"parentheses nested deeper than {MAX_NESTING}")
            value = self.expr()
            close = self.take()
            if not (close.kind == _OP and close.text == ")"):
                if close.kind == _END:
                    raise ExprError(self.text, tok.pos, "unbalanced '(' is never closed")
                raise ExprError(self.text, close.pos, f"expected ')' but found {close.shown()}")
            self.depth -= 1
            return value
        if tok.kind == _OP and tok.text == ")" and self.depth == 0:
            raise ExprError(self.text, tok.pos, "unbalanced ')' with no matching '('")
        raise ExprError(
            self.text, tok.pos, f"expected a number, a name or '(' but found {tok.shown()}"
        )

    def name(self, tok: _Token) -> int:
        try:
            return self.names[tok.text]
        except KeyError:
            pass
        upper = tok.text.upper()
        hint = did_you_mean(tok.text, self.names, 3, [upper] if upper in self.names else [])
        raise ExprError(self.text, tok.pos, f"unknown name {tok.text}{hint}")


def evaluate(text: str, names: Mapping[str, int] | None = None) -> int:
    """The value of expression ``text``, in ``0 .. 2**64 - 1``; ``ExprError`` if wrong.

    ``names`` maps the names the expression may use to their values (default:
    ``expression_names()`` at 512 entries).
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(text, None, f"{len(text):,} characters long; at most {MAX_LENGTH:,}")
    return _Parser(text, expression_names() if names is None else names).parse()
