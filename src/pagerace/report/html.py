"""The visual counterexample report: one self-contained HTML file.

The page embeds the JSON result (``result_dict``) verbatim in a
``<script type="application/json" id="pagerace-data">`` element and builds the whole
view from it in JavaScript (report/assets/report.js), so the page and the JSON never
disagree.  CSS and JavaScript are package data, inlined here: nothing is fetched from
the network, and the file can be attached to a bug report as it is.

Every string of the result may come from a scenario file, so the embedded JSON has
``<``, ``>``, ``&`` and U+2028/U+2029 escaped (``\\u003c`` ...: still the same JSON,
but no ``</script>`` or comment opener can appear in it), and the script sets all
data as text (``textContent``), never as markup.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from pagerace.userio import write_atomic

__all__ = ["embed_json", "render_html", "write_html"]

_ESCAPES = (
    ("&", "\\u0026"),
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element.

    The characters replaced can only occur inside JSON strings, where the ``\\uXXXX``
    escape means the same character: ``json.loads`` of the result gives ``data``.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _asset(name: str) -> str:
    text = resources.files("pagerace.report").joinpath("assets", name).read_text("utf-8")
    tag = "</style" if name.endswith(".css") else "</script"
    if tag in text.lower():  # pragma: no cover - a broken asset, caught by the tests
        raise ValueError(f"report asset {name} contains {tag}")
    return text


def render_html(result: dict[str, Any]) -> str:
    """The report page for one JSON result (``pagerace.report.json.result_dict``)."""
    title = f"pagerace: {result.get('scenario', '')} ({result.get('variant', '')})"
    title = title.replace("\u2028", " ").replace("\u2029", " ")  # line separators: spaces
    return _PAGE.format(
        title=html.escape(title),
        css=_asset("report.css"),
        data=embed_json(result),
        js=_asset("report.js"),
    )


def write_html(result: dict[str, Any], path: str) -> None:
    """Write the report page for ``result`` to ``path`` atomically."""
    write_atomic(path, render_html(result))


# The page skeleton: everything inside <main> is built by report.js from the data.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pagerace">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<main id="app">
<noscript><p class="noscript">This report is drawn by JavaScript from the JSON result
embedded in the page (the script element with id "pagerace-data"); enable JavaScript
to see it.</p></noscript>
</main>
<script type="application/json" id="pagerace-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
