"""Both machines implement the ``Machine`` protocol the Xen model is written against."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from pagerace.errors import XenBug
from pagerace.explore import explore
from pagerace.machine import Machine
from pagerace.machine.direct import DirectMachine
from pagerace.machine.explored import ExploredCPU, World
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.tlb import TLB
from pagerace.xen.config import XenConfig

MEMBERS = sorted(
    name for name in dir(Machine) if not name.startswith("_") and name not in ("register",)
)


def direct() -> DirectMachine:
    memory = PhysicalMemory(Geometry(8))
    root = memory.alloc(4)
    assert root is not None
    return DirectMachine(memory, root, XenConfig())


def test_the_protocol_names_what_the_model_uses() -> None:
    for name in ("load", "store", "scan", "alloc", "free", "flush", "bug", "assertion"):
        assert name in MEMBERS


@pytest.mark.parametrize("name", MEMBERS)
def test_the_direct_machine_has_every_member(name: str) -> None:
    m = direct()
    assert isinstance(m, Machine)
    assert hasattr(m, name)
    if callable(getattr(Machine, name)):
        want = list(inspect.signature(getattr(Machine, name)).parameters)[1:]
        got = list(inspect.signature(getattr(m, name)).parameters)
        assert got == want


def test_an_explored_cpu_has_every_member_with_the_protocols_parameters() -> None:
    seen: list[Any] = []

    def program(ctx: Any) -> Any:
        g = Geometry(8)
        memory = PhysicalMemory(g)
        root = memory.alloc(4)
        world = World(ctx, memory, root, XenConfig(), [TLB(g), TLB(g)])
        cpu = ExploredCPU(world, 0)
        seen.append(cpu)
        return [lambda: None], None

    explore(program)
    cpu = seen[0]
    assert isinstance(cpu, Machine)
    assert cpu.ncpus == 2
    for name in MEMBERS:
        if callable(getattr(Machine, name)):
            want = list(inspect.signature(getattr(Machine, name)).parameters)[1:]
            assert list(inspect.signature(getattr(cpu, name)).parameters) == want, name


@pytest.mark.parametrize("method", ["bug", "assertion"])
def test_the_direct_machine_stops_at_a_bug_or_a_failed_assertion(method: str) -> None:
    with pytest.raises(XenBug, match="X0: ASSERT"):
        getattr(direct(), method)("X0", "ASSERT(IS_ALIGNED(s, PAGE_SIZE))")


@pytest.mark.parametrize("method", ["bug", "assertion"])
def test_an_explored_cpu_reports_a_bug_or_a_failed_assertion_as_a_bug_finding(
    method: str,
) -> None:
    def program(ctx: Any) -> Any:
        g = Geometry(8)
        memory = PhysicalMemory(g)
        root = memory.alloc(4)
        world = World(ctx, memory, root, XenConfig(), [TLB(g)])
        cpu = ExploredCPU(world, 0)
        return [lambda: getattr(cpu, method)("X5.2", "ASSERT(!(nf & _PAGE_PRESENT))")], None

    r = explore(program)
    assert [(f.kind, f.key) for f in r.findings] == [("bug", ("bug", "X5.2"))]
    assert "CPU0 X5.2: ASSERT" in r.findings[0].message
