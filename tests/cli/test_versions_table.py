"""``pagerace versions``: bundled scenarios x variants, with [expect] marked."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from pagerace.cli.check import variant_names
from pagerace.cli.main import main
from pagerace.cli.versions import cell


def fake(kinds: list[str], expected: tuple[str, ...] | None, status: str = "found") -> object:
    met = None if expected is None else (set(expected) <= set(kinds) if expected else not kinds)
    return SimpleNamespace(
        kinds=kinds,
        expected=expected,
        meets_expectation=met,
        result=SimpleNamespace(status=status if kinds else "clean"),
    )


def test_a_cell_says_what_was_found_and_whether_it_was_expected() -> None:
    assert cell(fake(["use-after-free"], ("use-after-free",))) == "use-after-free ✓"
    assert cell(fake([], ())) == "clean ✓"
    assert cell(fake([], None)) == "clean"
    assert cell(fake(["leak"], ())) == "leak ✗ (expected clean)"
    assert cell(fake([], ("bug",))) == "clean ✗ (expected bug)"


def test_every_bundled_scenario_meets_its_expectation_on_every_variant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["versions", "--quiet", "--json", "-"])
    runs = json.loads(capsys.readouterr().out)
    assert exit_.value.code == 0
    variants = variant_names()
    assert {r["variant"] for r in runs} == set(variants)
    assert len(runs) % len(variants) == 0
    assert all(r["meets_expectation"] is not False for r in runs)
    assert sum(r["meets_expectation"] is True for r in runs) >= 16
