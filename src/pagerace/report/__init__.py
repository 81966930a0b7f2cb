"""pagerace.report: what a run shows a person.

Traces as readable steps (trace), text counterexamples (text), the JSON result
(json), the self-contained HTML report generated from that JSON (html), and the
page-table tree (tree).
"""

from pagerace.report.html import embed_json, render_html, write_html
from pagerace.report.json import result_dict, write_json
from pagerace.report.text import collapse, format_counterexample, replay_command
from pagerace.report.trace import function_of, preemption_points, trace_steps
from pagerace.report.tree import format_tree

__all__ = [
    "collapse",
    "embed_json",
    "format_counterexample",
    "format_tree",
    "function_of",
    "preemption_points",
    "render_html",
    "replay_command",
    "result_dict",
    "trace_steps",
    "write_html",
    "write_json",
]
