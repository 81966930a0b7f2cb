"""The page of a hunt: its signatures, a plot of distinct signatures over time, and
links to each counterexample's own report.

Made from the hunt's JSON (``pagerace.hunt.records.hunt_dict``), as static HTML
with an inline SVG plot: no script, nothing fetched from the network.  Every
string is escaped (scenario paths and messages may hold any character).
"""

from __future__ import annotations

import html
import os
from typing import Any

__all__ = ["plot_svg", "render_hunt_html"]

_W, _H, _PAD = 640, 220, 40


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def plot_svg(timeline: list[list[float]], seconds: float) -> str:
    """Distinct signatures over time as a step line (an inline ``<svg>``)."""
    t_max = max(seconds, *(t for t, _ in timeline), 1e-9) if timeline else max(seconds, 1e-9)
    n_max = max((n for _, n in timeline), default=0) or 1
    w, h = _W - 2 * _PAD, _H - 2 * _PAD

    def x(t: float) -> float:
        return _PAD + w * t / t_max

    def y(n: float) -> float:
        return _H - _PAD - h * n / n_max

    points = [(x(0), y(0))]
    for t, n in timeline:
        points.append((x(t), points[-1][1]))
        points.append((x(t), y(n)))
    points.append((x(t_max), points[-1][1]))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return (
        f'<svg class="plot" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img"'
        ' aria-label="distinct signatures over time">'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" class="axis"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" class="axis"/>'
        f'<polyline points="{path}" class="line"/>'
        f'<text x="{_PAD}" y="{_H - 12}" class="tick">0 s</text>'
        f'<text x="{_W - _PAD}" y="{_H - 12}" class="tick" text-anchor="end">'
        f"{t_max:.0f} s</text>"
        f'<text x="{_PAD - 6}" y="{_PAD + 4}" class="tick" text-anchor="end">{n_max}</text>'
        f'<text x="{_PAD - 6}" y="{_H - _PAD}" class="tick" text-anchor="end">0</text>'
        "</svg>"
    )


def _link(path: str | None, base: str | None, text: str) -> str:
    if not path:
        return _e(text)
    href = os.path.relpath(path, base) if base else path
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def render_hunt_html(data: dict[str, Any], *, link_base: str | None = None) -> str:
    """The page for a hunt's JSON; links are made relative to ``link_base``."""
    st = data["stats"]
    o = data["options"]
    rows = []
    for k, s in enumerate(data["signatures"], 1):
        ops = "<br>".join(
            _e(f"CPU{op['cpu']}: {op.get('text') or op['function']}  [{' '.join(op['path'])}]")
            for op in s["ops"]
        )
        size = f"{s['cpus']} CPUs, ≤{s['max_ops_per_cpu']} ops" if s["cpus"] else ""
        if not s["minimised"]:
            size += " (not minimised)"
        rows.append(
            "<tr>"
            f"<td>{k}</td><td class='kind'>{_e(s['kind'])}</td><td>{_e(s['fault'])}</td>"
            f"<td>{_e(' '.join(s['labels']))}</td><td class='ops'>{ops}</td>"
            f"<td>{s['count']}</td><td>{s['first_seconds']:.1f}</td><td>{_e(size)}</td>"
            f"<td>{s['preemptions']}</td>"
            f"<td>{_link(s['scenario'], link_base, os.path.basename(s['scenario'] or '-'))}"
            f"<br>{_link(s.get('report'), link_base, 'report') if s.get('report') else ''}</td>"
            "</tr>"
        )
    kinds = ", ".join(f"{_e(k)} ({t:.1f} s)" for k, t in data["kinds"].items()) or "none"
    summary = (
        f"{len(data['signatures'])} distinct signatures of {len(data['kinds'])} kinds"
        f" (first found: {kinds}); {st['scenarios']:,} scenarios and {st['executions']:,}"
        f" executions in {st['seconds']:.1f} s ({st['scenarios_per_second']:.2f} scenarios/s)."
        f" Status: {_e(data['status'])}."
    )
    opts = ", ".join(f"{_e(k)} = {_e(v)}" for k, v in o.items())
    return _PAGE.format(
        title=_e(f"pagerace hunt on {o.get('variant', '')}"),
        summary=summary,
        options=opts,
        plot=plot_svg(data["timeline"], st["seconds"]),
        rows="\n".join(rows) or "<tr><td colspan='10'>nothing found</td></tr>",
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="pagerace">
<title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1d2330; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #dfe3ea; padding: 4px 8px; text-align: left;
  vertical-align: top; }}
td.ops {{ font-family: ui-monospace, monospace; font-size: 12px; }}
td.kind {{ font-weight: 600; color: #c62828; }}
.plot .axis {{ stroke: #6b7385; }}
.plot .line {{ fill: none; stroke: #1f6fd1; stroke-width: 2; }}
.plot .tick {{ font-size: 11px; fill: #6b7385; }}
.muted {{ color: #6b7385; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<p class="muted">{options}</p>
<h2>Distinct signatures over time</h2>
{plot}
<h2>Signatures</h2>
<table>
<tr><th>#</th><th>kind</th><th>fault</th><th>at</th><th>the two ops</th><th>count</th>
<th>first (s)</th><th>minimised</th><th>preemptions</th><th>counterexample</th></tr>
{rows}
</table>
</body>
</html>
"""
