"""The lost-update oracle's serial results: the sweep over states equals the
enumeration of every serial order, on toy programs and on generated scenarios."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagerace.checks import (
    acceptable_translations,
    count_serial_orders,
    serial_orders,
    serial_results,
    translation_of,
)
from pagerace.errors import XenBug
from pagerace.paging.dump import dump_state
from pagerace.paging.memory import MemoryFault
from pagerace.program import call_op
from pagerace.runner import MAX_SERIAL_RUNS, ReleaseBuild, prepare
from pagerace.scenario import AccessOp, parse_scenario

# A toy machine: a state is a tuple of small registers; an op writes, adds or
# fails when a register holds a given value (failures make orders drop out).
Op = tuple[str, int, int]
ops_strategy = st.tuples(
    st.sampled_from(["set", "add", "fail-if"]), st.integers(0, 2), st.integers(0, 2)
)


def _apply(state: tuple[int, ...], op: Op) -> tuple[int, ...] | None:
    what, reg, value = op
    regs = list(state)
    if what == "set":
        regs[reg] = value
    elif what == "add":
        regs[reg] = (regs[reg] + value) % 4
    elif regs[reg] == value:
        return None
    return tuple(regs)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(ops_strategy, min_size=0, max_size=3), min_size=1, max_size=4))
def test_the_sweep_finds_exactly_the_final_states_of_every_order(cpus: list[list[Op]]) -> None:
    program = [len(ops) for ops in cpus]
    expected = set()
    for order in serial_orders(program):
        state: tuple[int, ...] | None = (0, 0, 0)
        position = [0] * len(cpus)
        for cpu in order:
            assert state is not None
            state = _apply(state, cpus[cpu][position[cpu]])
            position[cpu] += 1
            if state is None:
                break
        if state is not None:
            expected.add(state)
    found = serial_results(
        program, (0, 0, 0), lambda s, c, k: _apply(s, cpus[c][k]), lambda s: s, 10**6
    )
    assert found.complete
    assert set(found.finals) == expected
    assert len(found.finals) == len(expected)  # one representative per final state
    assert found.orders == count_serial_orders(program)


def test_independent_operations_cost_n_times_2_to_the_n_minus_1_runs_not_n_factorial() -> None:
    # six CPUs, each setting its own register: 720 orders, one final state
    cpus: list[list[Op]] = [[("set", c, 1)] for c in range(6)]
    found = serial_results(
        [1] * 6, (0,) * 6, lambda s, c, k: (*s[:c], 1, *s[c + 1 :]), lambda s: s, 10**6
    )
    assert found.finals == [(1,) * 6] and found.orders == 720
    assert found.runs == 6 * 2**5
    del cpus


def test_the_sweep_stops_at_its_limit_and_says_so() -> None:
    # every order gives a different state: nothing merges
    found = serial_results([2, 2, 2], (), lambda s, c, k: (*s, c), lambda s: s, max_runs=50)
    assert not found.complete and found.finals == [] and found.runs == 50


# -- on the Xen model: generated small scenarios ---------------------------------------

_FLAGS = ["PAGE_HYPERVISOR", "PAGE_HYPERVISOR_RO", "PAGE_HYPERVISOR_UC", "0"]


def _op(rnd: random.Random) -> str:
    page = rnd.randrange(0, 20)
    nr = rnd.choice([1, 1, 2, 8, 9])
    kind = rnd.choice(["map", "map", "modify", "destroy", "populate"])
    virt = f"DIRECTMAP + L3_SPAN + {page} * PAGE_SIZE"
    if kind == "map":
        flags = rnd.choice(_FLAGS[:3])
        mfn = 0x4000 + page
        return f'{{ op = "map", virt = "{virt}", mfn = {mfn}, nr = {nr}, flags = "{flags}" }}'
    if kind == "populate":
        return f'{{ op = "populate", virt = "{virt}", nr = {nr} }}'
    end = f"{virt} + {nr} * PAGE_SIZE"
    if kind == "destroy":
        return f'{{ op = "destroy", s = "{virt}", e = "{end}" }}'
    nf = rnd.choice(["PAGE_HYPERVISOR_RO", "0"])
    return f'{{ op = "modify", s = "{virt}", e = "{end}", nf = "{nf}" }}'


def _scenario(seed: int) -> str:
    rnd = random.Random(seed)
    lines = [
        f'name = "serial-{seed}"',
        'variant = "xen-4.14"',
        "entries = 8",
        "page1gb = true",
        "[[setup]]",
        'op = "map"',
        'virt = "DIRECTMAP + L3_SPAN"',
        "mfn = 0x4000",
        "nr = 24",
        'flags = "PAGE_HYPERVISOR"',
    ]
    for _ in range(rnd.choice([2, 3])):
        ops = ", ".join(_op(rnd) for _ in range(rnd.choice([1, 2])))
        lines += ["[[cpus]]", f"ops = [ {ops} ]"]
    return "\n".join(lines) + "\n"


def _every_order(sc_text: str, variant: str) -> set[tuple[tuple[int, int, int, int], ...]]:
    p = prepare(parse_scenario(sc_text), variant)
    queues = [[op for op in ops if not isinstance(op, AccessOp)] for ops in p.scenario.cpus]

    def run(order: Sequence[int]):  # type: ignore[no-untyped-def]
        memory = p.memory.clone()
        m = ReleaseBuild(memory, p.root, p.config)  # a failed ASSERT goes on, as in the sweep
        position = [0] * len(queues)
        try:
            for cpu in order:
                op = queues[cpu][position[cpu]]
                position[cpu] += 1
                m.begin_op(op.irqs)
                call_op(m, op)
        except (XenBug, MemoryFault):
            return None
        return translation_of(dump_state(memory, p.root, p.geometry), p.geometry)

    return acceptable_translations([len(q) for q in queues], run)


@pytest.mark.parametrize("variant", ["xen-4.14", "xsa-345"])
def test_on_generated_scenarios_the_sweep_equals_every_serial_order(variant: str) -> None:
    compared = merged = 0
    for seed in range(60):
        text = _scenario(seed)
        p = prepare(parse_scenario(text), variant)
        expected = _every_order(text, variant)
        if not expected:
            assert p.acceptable is None
            assert [c for c, _ in p.checks_skipped] == ["lost-update"]
            continue
        assert p.acceptable == expected, text
        assert p.checks_skipped == []
        compared += 1
        merged += len(expected) < p.serial_orders
    assert compared >= 40 and merged >= 10  # the comparison is not vacuous


def test_a_scenario_past_the_limit_skips_the_lost_update_oracle_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pagerace.runner as runner

    monkeypatch.setattr(runner, "MAX_SERIAL_RUNS", 3)
    p = prepare(parse_scenario(_scenario(1)), "xen-4.14")
    assert p.acceptable is None
    ((check, why),) = p.checks_skipped
    assert check == "lost-update" and "more than 3 sequential operation runs" in why
    assert MAX_SERIAL_RUNS >= 1000
