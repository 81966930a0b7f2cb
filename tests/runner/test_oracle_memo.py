"""The oracles' memos (checks/memo.py) change no result: every report of every
execution (kind, message, key, detail, thread, log index), every finding (with its
schedule and ``at``) and the number of executions are the same with the memos and
without them, over generated and bundled scenarios, every variant and strategy; and
wherever two states of a search share a memo key, the oracles compute the same
result from both (so a key that left out something they read would fail here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scenario_gen import scenario_head

import pagerace.checks.memo as memo
import pagerace.checks.op_tracker as op_tracker
import pagerace.explore.explorer as explorer
import pagerace.runner as runner
from pagerace.checks.functional import judge_runs, promise_of
from pagerace.checks.memo import MISSING, Memo, memory_key, tlbs_key, walked_key
from pagerace.explore.execution import Execution
from pagerace.hunt.generate import GenOptions, generate
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.tlb import TLB
from pagerace.paging.walk import translate
from pagerace.program import _quiescence_key
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import LookupOp, MapOp, Scenario, load_scenario, parse_scenario
from pagerace.scenario.schema import KNOWN_VARIANTS

SCENARIOS = Path(runner.__file__).parent / "data" / "scenarios"
STRATEGIES = ("dpor", "dfs", "random", "pct")


def _options(strategy: str, executions: int) -> RunOptions:
    bound = "iterative" if strategy in ("dpor", "dfs") else None
    return RunOptions(
        strategy=strategy,
        preemption_bound=bound,
        max_executions=executions,
        time_limit=None,
        keep_going=True,
        seed=5,
    )


def _observed(
    sc: Scenario, variant: str, options: RunOptions, enabled: bool, monkeypatch: Any
) -> tuple[list[Any], list[Any], int]:
    """Every report of every execution, the findings and the executions of a run."""
    reports: list[Any] = []
    original = explorer._run_once

    def spy(*args: Any, **kwargs: Any) -> Execution:
        ex = original(*args, **kwargs)
        for f in ex.reports or ():
            reports.append((f.kind, f.message, f.key, f.detail, f.thread, f.index, f.label))
        return ex

    with monkeypatch.context() as m:
        m.setattr(memo, "ENABLED", enabled)
        m.setattr(explorer, "_run_once", spy)
        run = run_scenario(sc, options, variant=variant)
    r = run.result
    findings = [
        (f.kind, f.message, f.schedule, f.key, f.detail, f.at, f.thread, f.preemptions)
        for f in r.findings
    ]
    return reports, findings, r.executions


def _same_with_and_without(
    sc: Scenario, variant: str, options: RunOptions, monkeypatch: Any
) -> tuple[list[Any], int]:
    on = _observed(sc, variant, options, True, monkeypatch)
    off = _observed(sc, variant, options, False, monkeypatch)
    assert on[2] == off[2], "executions"
    assert on[1] == off[1], "findings"
    assert on[0] == off[0], "reports"
    return on[0], on[2]


def test_generated_scenarios_same_results_with_and_without_memos(monkeypatch: Any) -> None:
    reported = 0
    for i in range(24):
        sc = generate(29, i, GenOptions(max_cpus=3))
        variant = KNOWN_VARIANTS[i % len(KNOWN_VARIANTS)]
        strategy = STRATEGIES[i % len(STRATEGIES)]
        reports, _ = _same_with_and_without(sc, variant, _options(strategy, 150), monkeypatch)
        reported += len(reports)
    assert reported > 100  # the comparison covers findings of many kinds and executions


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*-small.toml")))
def test_bundled_scenarios_same_results_with_and_without_memos(name: str, monkeypatch: Any) -> None:
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    for variant in ("xen-4.14", "xsa-345"):
        _same_with_and_without(sc, variant, _options("dpor", 120), monkeypatch)


# CPU1 caches the page before or after CPU0 makes it read-only with interrupts off
# (whose flush stays local): the same final memory, with a stale TLB entry or not.
RACING_FILL = (
    scenario_head("racing-fill", "xen-4.14", 2)
    + """

[[cpus]]
ops = [ { op = "modify", s = "DIRECTMAP", e = "DIRECTMAP + PAGE_SIZE", nf = "PAGE_HYPERVISOR_RO", \
irqs = false } ]

[[cpus]]
ops = [ { op = "access", virt = "DIRECTMAP" }, { op = "access", virt = "DIRECTMAP + PAGE_SIZE" } ]
"""
)


def test_memos_that_forget_often_change_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr(memo, "DEFAULT_LIMIT", 60)  # a few keys at 8 entries a table
    for i in range(6):
        sc = generate(37, i, GenOptions(max_cpus=3))
        _same_with_and_without(sc, "xen-4.14", _options("dpor", 150), monkeypatch)


def test_same_memory_other_tlbs(monkeypatch: Any) -> None:
    sc = parse_scenario(RACING_FILL, "racing-fill.toml")
    reports, executions = _same_with_and_without(sc, "xen-4.14", _options("dpor", 200), monkeypatch)
    stale = [r for r in reports if r[0] == "stale-tlb"]
    assert 0 < len(stale) < executions  # some executions leave a stale entry, some none


def test_full_size_scenario_same_results_with_and_without_memos(monkeypatch: Any) -> None:
    sc = load_scenario(SCENARIOS / "xsa345-r1.toml")
    reports, _ = _same_with_and_without(sc, "xen-4.14", _options("dpor", 40), monkeypatch)
    assert reports


class _Checking(Memo):
    """A memo that never answers but checks: a key stored twice must come with equal
    results each time (the result depends on nothing the key leaves out)."""

    repeated = 0

    def get(self, key: Any) -> Any:
        self.misses += 1
        return MISSING

    def put(self, key: Any, value: Any, weight: int = 1) -> None:
        items = self._items
        if key in items:
            assert items[key] == value, f"one key, two results: {items[key]!r} != {value!r}"
            _Checking.repeated += 1
        else:
            items[key] = value


def test_equal_keys_mean_equal_results(monkeypatch: Any) -> None:
    monkeypatch.setattr(runner, "Memo", _Checking)
    monkeypatch.setattr(op_tracker, "Memo", _Checking)
    monkeypatch.setattr(_Checking, "repeated", 0)
    for i in range(16):
        sc = generate(31, i, GenOptions(max_cpus=3))
        variant = KNOWN_VARIANTS[i % len(KNOWN_VARIANTS)]
        run_scenario(sc, _options(STRATEGIES[i % 2], 150), variant=variant)
    for name in ("xsa345-r1b-small", "lookup-during-coalesce-small", "one-page-window-small"):
        sc = load_scenario(SCENARIOS / f"{name}.toml")
        run_scenario(sc, _options("dpor", 150), variant="xen-4.14")
    run_scenario(parse_scenario(RACING_FILL, "racing-fill.toml"), _options("dpor", 150))
    assert _Checking.repeated > 1000  # the keys did repeat: the check checked something


# -- the keys ------------------------------------------------------------------------
def _memory() -> PhysicalMemory:
    memory = PhysicalMemory(Geometry(8))
    root = memory.alloc(4)
    assert root is not None
    return memory


def test_memory_key_sees_every_word_of_every_frame() -> None:
    a = _memory()
    b = a.clone()
    assert memory_key(a) == memory_key(b)
    b.write(next(iter(b.words)), 3, 0x1063)  # a live table's word
    assert memory_key(a) != memory_key(b)
    # a freed table's words (a walk through a stale entry reads them)
    for m in (a, b):
        frame = m.alloc(1)
        assert frame is not None
        m.free(frame)
    b = a.clone()
    b.write(max(b.words), 5, 0x2063)
    assert memory_key(a) != memory_key(b)
    # a data frame stored into through a bogus pointer
    b = a.clone()
    b.write(0x52, 1, 0x7)
    assert memory_key(a) != memory_key(b)
    # a frame that has been a table, with all its words zero, against none
    a = _memory()
    b = a.clone()
    b.alloc(1)
    assert memory_key(a) != memory_key(b)


def test_tlbs_key_sees_entries_and_cached_tables_of_each_cpu() -> None:
    memory = _memory()
    root = next(iter(memory.words))
    g = memory.geometry
    l3 = memory.alloc(3)
    assert l3 is not None
    memory.write(root, 0, (l3 << 12) | 0x63)
    va = g.span[3]
    memory.write(l3, 1, (5 * va) | 0xE3)  # an L3 leaf
    a, b = TLB(g), TLB(g)
    assert tlbs_key([a, b]) == tlbs_key([b.copy(), a.copy()])
    a.fill(va, translate(memory, root, g, va))
    assert a.entries and a.psc
    assert tlbs_key([a, b]) != tlbs_key([b, a])  # which CPU caches it
    c = a.copy()
    c.psc.clear()
    assert tlbs_key([a]) != tlbs_key([c])


def test_quiescence_key_sees_levels_words_and_tlbs() -> None:
    a = _memory()
    root = next(iter(a.words))
    l3 = a.alloc(3)
    assert l3 is not None
    a.write(root, 1, (l3 << 12) | 0x63)
    tlbs = [TLB(a.geometry)]
    key = _quiescence_key(a, tlbs)
    assert _quiescence_key(a.clone(), [t.copy() for t in tlbs]) == key
    b = a.clone()
    b.free(l3)  # the same words, but the table is no longer live
    assert b.words == a.words and _quiescence_key(b, tlbs) != key
    b = a.clone()
    b.level[l3] = 2  # live at another level
    assert _quiescence_key(b, tlbs) != key
    b = a.clone()
    b.write(l3, 7, 0x1)
    assert _quiescence_key(b, tlbs) != key
    other = TLB(a.geometry)
    other.psc[(4, 0)] = l3
    assert _quiescence_key(a, [other]) != key


def test_a_memo_is_bounded_and_can_be_switched_off(monkeypatch: Any) -> None:
    m = Memo(limit=10)
    for i in range(100):
        m.put(i, str(i), weight=3)
        assert len(m) <= 4
    assert m.get(99) == "99" and m.get(0) is MISSING
    monkeypatch.setattr(memo, "ENABLED", False)
    off = Memo()
    off.put("k", 1)
    assert off.get("k") is MISSING and len(off) == 0


def test_walked_key_sees_what_a_walk_from_the_root_reads() -> None:
    a = _memory()
    root = next(iter(a.words))
    l3 = a.alloc(3)
    gone = a.alloc(2)
    assert l3 is not None and gone is not None
    a.write(root, 0, (l3 << 12) | 0x63)
    a.write(l3, 1, (5 << 30) | 0xE3)  # an L3 leaf: not followed
    a.free(gone)
    key = walked_key(a, root)
    b = a.clone()
    b.write(gone, 2, 0x1063)  # a frame no walk reaches
    assert walked_key(b, root) == key and memory_key(b) != memory_key(a)
    b = a.clone()
    b.write(l3, 6, 0x1)  # a non-present entry of a linked table
    assert walked_key(b, root) != key
    # an entry to a freed table, or to a data frame stored into: their words are read
    b = a.clone()
    b.write(l3, 2, (gone << 12) | 0x63)
    c = b.clone()
    c.write(gone, 4, 0x2063)
    assert walked_key(c, root) != walked_key(b, root) != key
    b = a.clone()
    b.write(l3, 2, (0x52 << 12) | 0x63)
    c = b.clone()
    c.write(0x52, 4, 0x2063)
    assert walked_key(c, root) != walked_key(b, root)
    assert walked_key(a, root) != memory_key(a)


def test_the_verdict_memo_keys_hold_the_exclusions_and_the_return_value() -> None:
    memory = _memory()
    root = next(iter(memory.words))
    g = memory.geometry
    ph = 0x8000000000000163  # PAGE_HYPERVISOR
    a, b = g.directmap, g.directmap + 5 * 4096
    promise = promise_of(MapOp(a, 0x70, 1, ph))
    assert promise is not None
    before = ((b, 1, 0x50, ph),)
    after = ((a, 1, 0x70, promise.flags),)  # b, outside the range, lost its page
    verdicts = Memo()

    def wrong(p: Any, was: Any, now: Any, rc: int, exclude: Any = ()) -> list[str]:
        found = judge_runs(p, was, now, memory, root, g, rc=rc, exclude=exclude, memo=verdicts)
        return [problem.kind for problem in found]

    for _ in range(2):  # (the second time from the memo)
        assert wrong(promise, before, after, 0) == ["wrong-mapping"]
        assert wrong(promise, before, after, 0, ((b, b + 4096),)) == []
        assert wrong(promise, before, after + before, 0) == []
    look = promise_of(LookupOp(b))
    assert look is not None
    for _ in range(2):
        assert wrong(look, before, before, 0x50) == []
        assert wrong(look, before, before, 0x51) == ["wrong-mapping"]
    assert verdicts.hits == 5
