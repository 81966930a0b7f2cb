"""The HTML report as generated text: one self-contained file that embeds the JSON
result safely (the view itself is tested in a real browser in tests/browser/)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from pagerace.report.html import embed_json, render_html, write_html
from pagerace.report.json import result_dict
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

ROOT = Path(__file__).parents[2]
SCENARIOS = ROOT / "scenarios"

DATA_SCRIPT = re.compile(
    r'<script type="application/json" id="pagerace-data">(.*?)</script>', re.DOTALL
)
PAYLOADS = (
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<!-- --> & &amp; \u2028\u2029 ]]> \"quoted\" 'single'",
)


def _result(name: str, variant: str | None = None) -> dict:
    run = run_scenario(
        load_scenario(str(SCENARIOS / f"{name}.toml")),
        RunOptions(),
        variant=variant,
        until_expected=True,
    )
    return result_dict(run)


@pytest.fixture(scope="module")
def r1_small() -> dict:
    return _result("xsa345-r1-small")


@pytest.fixture(scope="module")
def r1() -> dict:
    return _result("xsa345-r1")


def _embedded(page: str) -> dict:
    found = DATA_SCRIPT.findall(page)
    assert len(found) == 1
    return json.loads(found[0])


def test_the_report_is_one_self_contained_page(r1_small: dict) -> None:
    page = render_html(r1_small)
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    lowered = page.lower()
    for external in (
        'src="http',
        "src='http",
        'href="http',
        "href='http",
        "@import",
        "url(http",
        "url(//",
        'src="//',
        'href="//',
    ):
        assert external not in lowered
    # CSS and JavaScript are inline: no element loads anything
    assert "<link" not in lowered
    assert re.search(r"<script[^>]*\bsrc=", lowered) is None
    assert lowered.count("<style>") == 1
    assert lowered.count("<script") == 2  # the data and the code


def test_the_embedded_json_parses_back_to_the_same_result(r1_small: dict) -> None:
    assert _embedded(render_html(r1_small)) == r1_small
    assert len(r1_small["findings"]) >= 1


def test_render_html_leaves_the_result_unchanged(r1_small: dict) -> None:
    before = copy.deepcopy(r1_small)
    render_html(r1_small)
    assert r1_small == before


@pytest.mark.parametrize("payload", PAYLOADS)
def test_scenario_strings_cannot_break_out_of_the_page(r1_small: dict, payload: str) -> None:
    result = copy.deepcopy(r1_small)
    result["scenario"] = payload
    result["description"] = payload
    result["source"] = payload
    result["cpus"] = [[payload]]
    result["findings"][0]["message"] = payload
    result["findings"][0]["trace"][0]["text"] = payload
    page = render_html(result)
    assert payload not in page
    for raw in ("</script><script>", "<img", "onerror=alert(1)>", "\u2028", "\u2029", "<!--"):
        assert raw not in page
    assert page.count('id="pagerace-data"') == 1
    assert page.lower().count("<script") == 2
    assert _embedded(page) == result


def test_embed_json_escapes_markup_characters_and_line_separators() -> None:
    data = {"s": "</script>&<!--\u2028\u2029", "n": [1, None, True]}
    text = embed_json(data)
    for raw in "<>&\u2028\u2029":
        assert raw not in text
    assert json.loads(text) == data


def test_a_clean_run_renders() -> None:
    result = _result("xsa345-r1-small", variant="xsa-345")
    assert result["status"] == "clean"
    assert result["findings"] == []
    page = render_html(result)
    assert _embedded(page) == result
    assert "<title>pagerace: xsa345-r1-small (xsa-345)</title>" in page


def test_the_512_entry_report_stays_small(r1: dict) -> None:
    """Loops are folded in the page, not copied out: the file is the compact JSON
    (1,073 steps) and the fixed CSS and JavaScript, nothing per step on top."""
    page = render_html(r1)
    data = embed_json(r1)
    assert len(r1["findings"][0]["trace"]) > 1000
    assert len(page) < len(data) + 120_000
    # each finding carries its execution's trace (this run's findings share one)
    assert len(page) < 500_000 * len(r1["findings"])


def test_write_html_writes_the_rendered_page(r1_small: dict, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_html(r1_small, str(out))
    assert out.read_text(encoding="utf-8") == render_html(r1_small)


def test_the_page_builds_its_view_from_the_data_as_text_only() -> None:
    """The script never hands data to the HTML parser (textContent, no innerHTML)."""
    from importlib import resources

    js = resources.files("pagerace.report").joinpath("assets", "report.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js
    assert "pagerace-data" in js


def test_each_trace_step_has_its_mm_c_lines_and_each_label_its_description(
    r1_small: dict,
) -> None:
    assert r1_small["xen_source"] == {
        "file": "xen/arch/x86/mm.c",
        "variant": "xen-4.14",
        "commit": "a7f0831e58bf4681d710e9a029644b6fa07b7cb0",
    }
    trace = r1_small["findings"][0]["trace"]
    labels = {s["step"].split(":")[0] for s in trace if s["step"]}
    assert labels == set(r1_small["steps"])
    for s in trace:
        if s["op"] in ("call", "return"):
            assert s["lines"] == []
        else:
            assert s["lines"] and all(isinstance(n, int) for n in s["lines"]), s
    m96 = r1_small["steps"]["M9.6"]
    assert m96["function"] == "map_pages_to_xen" and m96["lines"] == [5430]
    assert m96["at"]["xsa-345"] == [5501] and m96["does"]
    # the descriptions travel inside the page: nothing to fetch
    page = render_html(r1_small)
    assert m96["does"] in page
