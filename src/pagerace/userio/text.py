"""User-provided strings in messages, and user numbers.

``one_line`` is the one place that makes a value safe inside a one-line message:
control characters (ESC, NUL, a newline ...), Unicode line separators and
bidirectional overrides are escaped, and a long value is cut with a note of how
much was left out.  ``printable`` does the same for free text shown on its own
lines (it keeps newlines and tabs and does not cut).  ``parse_uint`` is the one
parser of whole numbers a user types: ASCII digits only (``str.isdigit`` and
``int`` also accept superscripts and other scripts' digits), a bounded length (no
5,000-digit conversion), a range.  ``did_you_mean`` is the one suggestion for a
misspelt name.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from pagerace.errors import PageraceInputError

__all__ = ["MAX_SHOWN", "did_you_mean", "one_line", "parse_uint", "printable"]

#: How many characters of a user's value a message shows.
MAX_SHOWN = 120

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# categories escaped: controls, format characters (bidi overrides, zero-width
# joiners), line and paragraph separators, unassigned and surrogates
_UNSAFE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cn", "Cs", "Co"))


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _safe(ch: str) -> bool:
    return ch.isprintable() and unicodedata.category(ch) not in _UNSAFE


def one_line(value: object, limit: int = MAX_SHOWN) -> str:
    """``value`` as text that is one line and holds no terminal control: every
    unsafe character escaped, at most ``limit`` characters of
    the value kept."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    if not text.isascii() or not text.isprintable():
        text = "".join(ch if _safe(ch) else _escape(ch) for ch in text)
    if cut > 0:
        text += f"... ({cut:,} more characters)"
    return text


def printable(text: str) -> str:
    """Free text for a terminal: newlines and tabs kept, every other unsafe
    character escaped."""
    if text.isascii() and all(ch >= " " or ch in "\n\t" for ch in text) and "\x7f" not in text:
        return text
    return "".join(ch if ch in "\n\t" or _safe(ch) else _escape(ch) for ch in text)


def parse_uint(text: str, what: str, *, minimum: int = 0, maximum: int) -> int:
    """The whole number ``text`` (ASCII decimal digits, surrounding blanks allowed)
    in ``minimum .. maximum``; ``PageraceInputError`` naming ``what`` otherwise."""
    stripped = text.strip() if isinstance(text, str) else ""
    digits = stripped.lstrip("0") or "0"
    if not stripped or not stripped.isascii() or not stripped.isdigit():
        raise PageraceInputError(
            f"{what}: {one_line(text)!s} is not a whole number (digits 0-9 only)"
        )
    if len(digits) > len(str(maximum)) or int(digits) > maximum or int(digits) < minimum:
        raise PageraceInputError(f"{what}: {one_line(text)} is outside {minimum:,}..{maximum:,}")
    return int(digits)


def did_you_mean(
    word: object, choices: Iterable[str], most: int = 1, first: Iterable[str] = ()
) -> str:
    """`` (did you mean X?)`` for the known names closest to a misspelt ``word`` (up
    to ``most``, the closest first, after the sure ones in ``first``: ``A, B or C``),
    or "" when none is close."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=most, cutoff=0.6)
    close = [name for name in first if name not in close] + close
    if not close:
        return ""
    if len(close) > 1:
        close[-2:] = [f"{close[-2]} or {close[-1]}"]
    return f" (did you mean {', '.join(close)}?)"
