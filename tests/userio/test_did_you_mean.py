"""``did_you_mean``: the one suggestion for a misspelt name, used by every message
that names an unknown variant, scenario, op, finding kind, option or expression name."""

from __future__ import annotations

from pagerace.userio import did_you_mean

NAMES = ("xen-4.14", "xsa-345", "xen-4.19", "xen-4.20.0", "xen-4.21")


def test_the_closest_name() -> None:
    assert did_you_mean("xen_4.14", NAMES) == " (did you mean xen-4.14?)"


def test_nothing_close_says_nothing() -> None:
    assert did_you_mean("linux", NAMES) == ""
    assert did_you_mean("", NAMES) == ""


def test_not_a_string_says_nothing() -> None:
    assert did_you_mean(14, NAMES) == ""
    assert did_you_mean(None, NAMES) == ""


def test_several_names_read_as_a_list() -> None:
    hint = did_you_mean("xen-4.2", NAMES, most=3)
    assert hint.startswith(" (did you mean ") and hint.endswith("?)")
    assert hint.count(" or ") == 1 and hint.count(", ") == 1


def test_sure_names_come_first_once() -> None:
    names = ("PAGE_SIZE", "PAGE_SHIFT", "L2_PAGES")
    assert did_you_mean("page_size", names, 3, ["PAGE_SIZE"]).startswith(" (did you mean PAGE_SIZE")
    assert did_you_mean("PAGE_SIZ", names, 3, ["PAGE_SIZE"]).count("PAGE_SIZE") == 1


def test_the_same_wording_everywhere() -> None:
    from pagerace.scenario.expr import ExprError, evaluate
    from pagerace.xen.versions import unknown_variant

    assert unknown_variant("xen_4.14").startswith(
        'unknown variant "xen_4.14" (did you mean xen-4.14?)'
    )
    try:
        evaluate("PAGE_SIZ", {"PAGE_SIZE": 4096})
    except ExprError as exc:
        assert "(did you mean PAGE_SIZE?)" in str(exc)
    else:
        raise AssertionError("an unknown name evaluated")
