"""The HTML report in a real browser: headless Debian Chromium driven by playwright.

Nothing is downloaded: the system browser at /usr/bin/chromium is launched directly
(never ``playwright install``), and the report is opened from a file:// URL.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pagerace.report.html import write_html
from pagerace.report.json import result_dict
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario
from pagerace.xen.steps import versions

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_missing = []
if not os.path.exists(CHROMIUM):
    _missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
if importlib.util.find_spec("playwright") is None:
    _missing.append("the playwright package is not installed (pip install 'pagerace[browser]')")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(_missing), reason="; ".join(_missing) or "browser available"),
]

ROOT = Path(__file__).parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))

# A stale TLB through a local flush (irqs off): access steps, published tables.
TLB_SCENARIO = """
name = "tlb-local-flush"
description = "CPU0 caches a 1G superpage; CPU1 shatters it with IRQs off"
variant = "xen-4.14"
entries = 8

[[setup]]
op = "map"
virt = "DIRECTMAP"
mfn = 0
nr = "2 * L3_PAGES"
flags = "PAGE_HYPERVISOR"

[[cpus]]
ops = [ { op = "access", virt = "DIRECTMAP + L3_SPAN + 2 * L2_SPAN + PAGE_SIZE" } ]

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + L3_SPAN + 2 * L2_SPAN + PAGE_SIZE"
mfn = "L3_PAGES + 2 * L2_PAGES + 1"
nr = 1
flags = "PAGE_HYPERVISOR_UC"
irqs = false
"""


def _failing(finding: dict[str, Any]) -> dict[str, Any]:
    """The step where the finding was made (the last one for a check at quiescence)."""
    trace = finding["trace"]
    if finding["at"] is None:  # it ended the execution
        return trace[-1]
    # "at" counts the trace records made before the finding
    return [s for s in trace if s["index"] < finding["at"]][-1]


def _result(path: Path | str, variant: str | None = None, **kw: Any) -> dict[str, Any]:
    run = run_scenario(
        load_scenario(str(path)), RunOptions(**kw), variant=variant, until_expected=True
    )
    return result_dict(run)


class Page:
    """An opened report with the console errors and dialogs it produced."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)

    def caption(self) -> str:
        return self.page.inner_text(".panel-title")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    contexts = []

    def opener(result: dict[str, Any], name: str = "report.html") -> Page:
        out = tmp_path / name
        write_html(result, str(out))
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(ctx)
        report = Page(ctx.new_page())
        # refuse anything but the file itself: the page must not fetch
        ctx.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file://") else route.abort()
            ),
        )
        report.page.goto(out.as_uri())
        report.page.wait_for_selector(".workspace")
        return report

    yield opener
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="module")
def r1() -> dict[str, Any]:
    return _result(ROOT / "scenarios" / "xsa345-r1.toml")


def test_the_r1_report_shows_the_use_after_free_and_the_freed_l2_table(
    open_report: Any, r1: dict[str, Any]
) -> None:
    finding = r1["findings"][0]
    last = _failing(finding)
    freed_l2 = last["frame"]
    report = open_report(r1)
    page = report.page
    assert "use-after-free" in page.inner_text(".finding-list")
    assert "use-after-free" in page.inner_text("#cx-head")
    page.click(".finding-item")
    page.keyboard.press("Home")
    assert "#0" in report.caption()
    page.keyboard.press("End")
    assert f"#{finding['trace'][-1]['index']}" in report.caption()
    page.keyboard.press("f")
    assert f"#{last['index']}" in report.caption()
    row = page.locator(f'tr.step[data-index="{last["index"]}"]')
    assert "failing" in (row.get_attribute("class") or "")
    assert page.locator("tr.step.failing").count() == 1
    assert "selected" in (row.get_attribute("class") or "")
    assert finding["message"] in row.inner_text()
    card = page.locator(f'.table-card[data-frame="{freed_l2}"]')
    assert card.count() == 1
    assert "freed" in (card.get_attribute("class") or "").split()
    assert "L2" in card.inner_text() and "freed" in card.inner_text().lower()
    # CPU0 still holds a pointer to the freed L2: a stale reference
    stale = page.locator(f'.ref.stale[data-frame="{freed_l2}"]')
    assert stale.count() >= 1
    assert report.errors == []


def test_clicking_a_step_shows_the_state_at_that_moment(
    open_report: Any, r1: dict[str, Any]
) -> None:
    trace = r1["findings"][0]["trace"]
    freed_l2 = _failing(r1["findings"][0])["frame"]
    free_step = next(s for s in trace if s["op"] == "free" and s["frame"] == freed_l2)
    before = next(s for s in trace if s["index"] == free_step["index"] - 1)
    report = open_report(r1)
    page = report.page
    page.click(f'tr.step[data-index="{before["index"]}"]')
    card = page.locator(f'.table-card[data-frame="{freed_l2}"]')
    assert "freed" not in (card.get_attribute("class") or "").split()
    page.keyboard.press("j")
    assert f"#{free_step['index']}" in report.caption()
    assert "freed" in (card.get_attribute("class") or "").split()
    page.keyboard.press("k")
    assert f"#{before['index']}" in report.caption()
    assert "freed" not in (card.get_attribute("class") or "").split()
    assert report.errors == []


def test_long_loops_fold_into_one_row_and_every_step_stays_selectable(
    open_report: Any, r1: dict[str, Any]
) -> None:
    trace = r1["findings"][0]["trace"]
    report = open_report(r1)
    page = report.page
    assert len(trace) > 1000
    assert page.locator("tr.step").count() < 80
    groups = page.locator("tr.step.group")
    assert groups.count() >= 1
    # a folded fill loop shows the mm.c lines of both its reads (M6.6, M6.7)
    assert any("map_pages_to_xen:5297,5298" in g for g in groups.all_inner_texts())
    page.locator("tr.step.group .fold-toggle").last.click()
    assert page.locator("tr.step").count() > 1000
    inner = page.locator("tr.step.in-group")
    middle = inner.nth(inner.count() // 2)
    index = middle.get_attribute("data-index")
    middle.click()
    assert f"#{index}" in report.caption()
    page.keyboard.press("j")
    assert f"#{int(index or 0) + 1}" in report.caption()
    # Enter folds the loop again; the selection moves to the folded row
    page.keyboard.press("Enter")
    assert page.locator("tr.step").count() < 80
    assert page.locator("tr.step.group.selected").count() == 1
    assert report.errors == []


def test_the_copy_button_copies_the_replay_command(open_report: Any, r1: dict[str, Any]) -> None:
    replay = r1["findings"][0]["replay"]
    report = open_report(r1)
    page = report.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    assert page.inner_text("#replay-cmd") == replay
    page.click("#replay-copy")
    page.wait_for_function("document.getElementById('replay-copy').textContent === 'copied'")
    assert page.evaluate("navigator.clipboard.readText()") == replay
    assert report.errors == []


def test_without_a_clipboard_the_copy_button_selects_the_command(
    open_report: Any, r1: dict[str, Any]
) -> None:
    replay = r1["findings"][0]["replay"]
    report = open_report(r1)
    page = report.page
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); }"
    )
    page.keyboard.press("c")  # the key does what the button does
    page.wait_for_function("document.getElementById('replay-copy').textContent !== 'copy'")
    assert page.evaluate("window.getSelection().toString()") == replay
    assert report.errors == []


def test_several_findings_are_listed_and_each_selects_its_counterexample(
    open_report: Any,
) -> None:
    result = _result(ROOT / "scenarios" / "xsa345-r1b-small.toml", keep_going=True)
    assert len(result["findings"]) >= 2
    report = open_report(result)
    page = report.page
    items = page.locator(".finding-item")
    assert items.count() == len(result["findings"])
    for i, finding in enumerate(result["findings"]):
        items.nth(i).click()
        assert finding["message"] in page.inner_text("#cx-head")
        assert page.inner_text("#replay-cmd") == finding["replay"]
        last = _failing(finding)["index"]
        assert f"#{last}" in report.caption()
    assert report.errors == []


def test_tlbs_and_published_tables_follow_the_trace(open_report: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "tlb-local-flush.toml"
    scenario.write_text(TLB_SCENARIO)
    result = _result(scenario, keep_going=True)
    finding = next(f for f in result["findings"] if f["kind"] == "stale-tlb")
    trace = finding["trace"]
    published = [s for s in trace if s.get("child")]
    assert published and any(s["op"] == "access" for s in trace)
    report = open_report(result)
    page = report.page
    page.click(f'.finding-item[data-finding="{result["findings"].index(finding)}"]')
    page.keyboard.press("End")
    # CPU0 cached the superpage; CPU1's flushes were local: CPU0's entry is stale
    cpu0 = page.locator(".tlb").first
    assert "stale" in cpu0.inner_text().lower()
    # the tables published by stores are shown with their entries
    for step in published:
        child_frame = hex(int(step["new"], 16) >> 12 & ((1 << 40) - 1))
        card = page.locator(f'.table-card[data-frame="{child_frame}"]')
        assert card.count() == 1
        assert card.locator("tr.entry").count() == len(step["child"])
    # before the access, CPU0's TLB is empty (when the schedule has a step before it;
    # the state shown for a step is the state after it)
    access = next(i for i, s in enumerate(trace) if s["op"] == "access")
    page.keyboard.press("Home")
    if access > 0:
        assert "empty" in page.locator(".tlb").first.inner_text()
    else:
        assert "0x840000" in page.locator(".tlb").first.inner_text()
    assert report.errors == []


def test_strings_from_the_scenario_are_shown_as_text_not_run(
    open_report: Any, r1: dict[str, Any]
) -> None:
    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    result = copy.deepcopy(r1)
    result["scenario"] = evil
    result["description"] = evil
    result["findings"][0]["message"] = evil
    report = open_report(result)
    page = report.page
    page.wait_for_timeout(200)
    assert report.dialogs == []
    assert page.locator("img").count() == 0
    assert evil in page.inner_text(".scenario-name")
    assert evil in page.inner_text(".description")
    assert page.locator("script#pagerace-data").count() == 1
    assert report.errors == []


def test_a_clean_run_renders_without_errors(open_report: Any) -> None:
    run = run_scenario(
        load_scenario(str(ROOT / "scenarios" / "xsa345-r1-small.toml")), variant="xsa-345"
    )
    result = result_dict(run)
    assert result["status"] == "clean"
    report = open_report(result)
    page = report.page
    assert "clean" in page.inner_text(".workspace").lower()
    assert page.locator(".table-card").count() >= 3
    assert report.errors == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_bundled_scenario_report_has_no_console_errors(
    open_report: Any, scenario: Path
) -> None:
    # the file's variant, or the first version on which the scenario finds something
    # (some scenarios are clean on the variant they name and show a later change)
    result = _result(scenario)
    for variant in versions():
        if result["findings"]:
            break
        result = _result(scenario, variant=variant)
    assert result["findings"], f"{scenario.name}: no variant finds anything"
    report = open_report(result)
    page = report.page
    for i in range(len(result["findings"])):
        page.click(f'.finding-item[data-finding="{i}"]')
        for key in ("Home", "j", "j", "End", "k", "Enter", "End"):
            page.keyboard.press(key)
        for toggle in page.locator(".fold-toggle").all()[:2]:
            toggle.click()
    assert report.errors == []


def test_each_step_shows_its_function_and_mm_c_line_and_opens_its_description(
    open_report: Any, r1: dict[str, Any]
) -> None:
    steps = r1["steps"]
    assert r1["xen_source"]["commit"].startswith("a7f0831e58")
    last = _failing(r1["findings"][0])
    report = open_report(r1)
    page = report.page
    # every label of the trace is in the glossary, with its description
    page.click("#glossary summary")
    for label, info in steps.items():
        row = page.locator(f'tr.glossary-row[id="step-{label}"]')
        assert row.count() == 1, label
        assert info["does"] in row.inner_text()
    page.click("#glossary summary")
    # the failing step's row and detail carry its function and mm.c line
    row = page.locator(f'tr.step[data-index="{last["index"]}"]')
    where = f"{last['function']}:{','.join(map(str, last['lines']))}"
    assert last["lines"] and where in row.inner_text()
    assert where in page.inner_text(".step-detail")
    assert steps[last["step"]]["does"] in page.inner_text(".step-detail")
    # clicking the label opens its description, with the line at this variant
    row.locator(".step-link").first.click()
    pop = page.locator("#step-pop")
    assert pop.is_visible()
    text = pop.inner_text()
    assert steps[last["step"]]["does"] in text
    assert str(last["lines"][0]) in text and "a7f0831e58" in text
    assert "xsa-345" in text  # the same step at the other versions
    page.keyboard.press("Escape")
    assert not pop.is_visible()
    # "i" opens the description of the selected step
    page.keyboard.press("i")
    assert pop.is_visible() and pop.get_attribute("data-step") == last["step"]
    page.keyboard.press("i")
    assert not pop.is_visible()
    assert report.errors == []
