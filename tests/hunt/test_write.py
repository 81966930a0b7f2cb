"""Scenarios written back as files read as they were."""

from __future__ import annotations

import pytest

from pagerace.cli.options import bundled_scenarios
from pagerace.hunt.write import count_text, scenario_toml, va_text
from pagerace.paging.geometry import Geometry
from pagerace.scenario import load_scenario, parse_scenario


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_bundled_scenarios_round_trip(name: str) -> None:
    sc = load_scenario(bundled_scenarios()[name])
    again = parse_scenario(scenario_toml(sc), "again.toml")
    for field in ("name", "description", "variant", "entries", "page1gb", "setup", "cpus"):
        assert getattr(again, field) == getattr(sc, field), field
    assert dict(again.expect) == dict(sc.expect)
    assert again.explore == sc.explore


def test_names_are_used() -> None:
    g = Geometry(8)
    assert va_text(g.directmap + g.span[3] + 2 * g.span[2] + 3 * 4096, g) == (
        "DIRECTMAP + L3_SPAN + 2 * L2_SPAN + 3 * PAGE_SIZE"
    )
    assert va_text(0x1000, g) == "0x1000"
    assert count_text(g.l3_pages + 2 * g.l2_pages + 1, g) == "L3_PAGES + 2 * L2_PAGES + 1"
    assert count_text(0, g) == "0"


def test_header_and_comments_stay_comments() -> None:
    sc = load_scenario(bundled_scenarios()["xsa345-r1-small"])
    text = scenario_toml(sc, header="line one\nline two", op_comments={(0, 0): "the failing op"})
    assert text.startswith("# line one\n# line two\n")
    assert "# the failing op" in text
    assert parse_scenario(text).cpus == sc.cpus
