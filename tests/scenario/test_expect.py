"""``[expect]``: require, forbid, allow and the shorthand list; the verdict on a run."""

from __future__ import annotations

import pytest

from pagerace.errors import ScenarioError
from pagerace.scenario import (
    MET,
    NOT_ESTABLISHED,
    NOT_MET,
    Expectation,
    judge,
    parse_scenario,
)

HEAD = 'name = "t"\nvariant = "xen-4.14"\n'
ONE_CPU = '[[cpus]]\nops = [{ op = "access", virt = "DIRECTMAP" }]\n'


def expect(lines: str) -> dict[str, Expectation]:
    return dict(parse_scenario(HEAD + ONE_CPU + "[expect]\n" + lines + "\n", "e.toml").expect)


def test_the_shorthand_list_requires_its_kinds_and_the_empty_list_means_clean() -> None:
    got = expect('"xen-4.14" = ["double-free"]\n"xsa-345" = []')
    assert got["xen-4.14"] == Expectation(require=("double-free",))
    assert got["xsa-345"] == Expectation(allow=())
    assert got["xsa-345"].clean
    assert got["xsa-345"].forbids("lost-update")
    assert not got["xen-4.14"].forbids("use-after-free")


def test_a_table_requires_forbids_and_allows() -> None:
    got = expect(
        '"xen-4.14" = { require = ["double-free"], forbid = ["leak"] }\n'
        '"xsa-345" = { allow = ["lost-update"] }'
    )
    vulnerable, fixed = got["xen-4.14"], got["xsa-345"]
    assert vulnerable.require == ("double-free",)
    assert vulnerable.forbids("leak") and not vulnerable.forbids("use-after-free")
    assert fixed.forbids("use-after-free") and fixed.forbids("exception")
    assert not fixed.forbids("lost-update")
    assert fixed.describe() == "nothing but lost-update"
    assert vulnerable.describe() == "double-free; no leak"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"xen-4.14" = {}', 'expect."xen-4.14": empty: give require, forbid or allow'),
        ('"xen-4.14" = { forbid = ["leak"], allow = [] }',
         'expect."xen-4.14".allow: forbid and allow exclude each other'),
        ('"xen-4.14" = { require = ["leak"], forbid = ["leak"] }',
         'expect."xen-4.14".forbid: "leak" is also required (in require)'),
        ('"xen-4.14" = { tolerate = ["leak"] }',
         'expect."xen-4.14".tolerate: unknown key of an expectation; known: require, forbid,'
         " allow"),
        ('"xen-4.14" = { forbid = ["use-after-fre"] }',
         'expect."xen-4.14".forbid[0]: unknown finding kind "use-after-fre" (did you mean'
         " use-after-free?)"),
        ('"xen-4.14" = { forbid = "leak" }',
         'expect."xen-4.14".forbid: expected an array of finding kinds, got a string ("leak")'),
        ('"xen-4.14" = 3',
         'expect."xen-4.14": expected an array of finding kinds or a table with require,'
         " forbid or allow, got an integer (3)"),
    ],
)  # fmt: skip
def test_a_malformed_expectation_names_the_key(line: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        expect(line)
    assert str(info.value).startswith("e.toml: " + message)


def test_the_verdict_distinguishes_met_not_met_and_not_established() -> None:
    clean = Expectation(allow=())
    assert judge(clean, [], complete=True).status == MET
    assert judge(clean, [], complete=False).status == NOT_ESTABLISHED
    assert judge(clean, ["leak"], complete=False).status == NOT_MET

    require = Expectation(require=("double-free",))
    assert judge(require, ["use-after-free", "double-free"], complete=False).status == MET
    assert judge(require, ["use-after-free"], complete=True).status == NOT_MET
    assert judge(require, ["use-after-free"], complete=False).status == NOT_ESTABLISHED

    tolerant = Expectation(allow=("lost-update",))
    assert judge(tolerant, ["lost-update"], complete=True).status == MET
    assert judge(tolerant, ["lost-update"], complete=False).status == NOT_ESTABLISHED
    verdict = judge(tolerant, ["lost-update", "double-free"], complete=True)
    assert verdict.status == NOT_MET
    assert verdict.reason == "found double-free, which is not allowed"


def test_an_expectation_is_decided_as_soon_as_findings_settle_it() -> None:
    require = Expectation(require=("use-after-free", "double-free"))
    assert not require.decided({"use-after-free"})
    assert require.decided({"use-after-free", "double-free"})
    forbid = Expectation(require=("double-free",), forbid=("leak",))
    assert not forbid.decided({"double-free"})  # a complete search must rule out leaks
    assert forbid.decided({"leak"})
    assert Expectation(allow=("lost-update",)).decided({"bug"})
    assert not Expectation(allow=("lost-update",)).decided({"lost-update"})


@pytest.mark.parametrize(
    "expectation",
    [
        Expectation(require=("use-after-free",)),
        Expectation(require=("use-after-free",), forbid=("leak",)),
        Expectation(allow=("use-after-free",)),
        Expectation(forbid=("leak",)),
    ],
)
def test_a_crash_of_the_model_meets_no_expectation(expectation: Expectation) -> None:
    # ("exception": the model code raised -- it answers nothing about Xen)
    verdict = judge(expectation, ["use-after-free", "exception"], complete=True)
    assert verdict.status == NOT_MET
    assert "exception" in verdict.reason
    assert expectation.decided({"exception"})
