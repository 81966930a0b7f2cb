"""The explored machine: footprints, references and the oracles it runs at once."""

from __future__ import annotations

from typing import Any

import pytest

from pagerace.explore import explore
from pagerace.machine.explored import ExploredCPU, World, frame_key, pte_key
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import __PAGE_HYPERVISOR, mk_pte
from pagerace.paging.tlb import TLB
from pagerace.xen.config import XenConfig


def world_program(body0: Any, body1: Any | None = None, entries: int = 8):  # type: ignore[no-untyped-def]
    """A program whose threads get an ExploredCPU over a tiny hierarchy."""
    g = Geometry(entries)
    base = PhysicalMemory(g)
    root = base.alloc(4)
    l3 = base.alloc(3)
    assert root is not None and l3 is not None
    base.write(root, 0, mk_pte(l3, __PAGE_HYPERVISOR))

    def program(ctx: Any) -> Any:
        memory = base.clone()
        world = World(ctx, memory, root, XenConfig(), [TLB(g), TLB(g)])
        cpus = [ExploredCPU(world, 0), ExploredCPU(world, 1)]
        bodies = [lambda: body0(cpus[0], l3)]
        if body1 is not None:
            bodies.append(lambda: body1(cpus[1], l3))
        return bodies, None

    return program


def test_a_load_through_a_reference_taken_before_a_free_is_a_use_after_free() -> None:
    def body(m: ExploredCPU, l3: int) -> None:
        t = m.alloc(2, "A")
        assert t is not None
        m.free(t, 2, "F")
        m.load(t, 0, "L")

    r = explore(world_program(body))
    assert [f.kind for f in r.findings] == ["use-after-free"]
    assert r.findings[0].key == ("use-after-free", "L")


def test_a_reference_to_a_freed_and_reused_frame_is_still_stale() -> None:
    def body(m: ExploredCPU, l3: int) -> None:
        t = m.alloc(1, "A")
        assert t is not None
        m.free(t, 1, "F")
        again = m.alloc(1, "A2")
        assert again is not None and again.frame == t.frame  # LIFO reuse
        m.load(again, 0, "ok")
        m.store(t, 0, 5, "S")

    r = explore(world_program(body))
    assert r.findings[0].kind == "use-after-free"
    assert "reused as an L1 table" in r.findings[0].message


def test_freeing_twice_is_a_double_free_and_freeing_data_a_bad_free() -> None:
    def twice(m: ExploredCPU, l3: int) -> None:
        t = m.alloc(1, "A")
        assert t is not None
        m.free(t, 1, "F1")
        m.free(t, 1, "F2")

    def data(m: ExploredCPU, l3: int) -> None:
        m.free(m.ref(mk_pte(0x1234, 0x63)), 1, "F")

    def wrong_level(m: ExploredCPU, l3: int) -> None:
        t = m.alloc(1, "A")
        assert t is not None
        m.free(t, 2, "F")

    assert explore(world_program(twice)).findings[0].kind == "double-free"
    assert explore(world_program(data)).findings[0].kind == "bad-free"
    assert "but it is an L1 table" in explore(world_program(wrong_level)).findings[0].message


def test_a_store_into_a_data_frame_or_frame_0_is_a_wild_write() -> None:
    def body(m: ExploredCPU, l3: int) -> None:
        m.store(m.ref(0), 3, 7, "W")  # a pointer made from an empty entry

    f = explore(world_program(body)).findings[0]
    assert f.kind == "wild-write" and "frame 0" in f.message


def test_an_entry_pointing_a_table_slot_at_a_data_frame_is_a_torn_entry() -> None:
    def body(m: ExploredCPU, l3: int) -> None:
        m.store(m.ref(mk_pte(l3, 0x63)), 0, mk_pte(0x42, __PAGE_HYPERVISOR), "T")

    assert explore(world_program(body)).findings[0].kind == "torn-entry"


def test_unlocking_a_lock_not_held_is_a_bug() -> None:
    def body(m: ExploredCPU, l3: int) -> None:
        m.unlock("map_pgdir_lock", "UL")

    assert explore(world_program(body)).findings[0].kind == "bug"


def test_footprints_make_different_entries_independent_and_a_free_conflict_with_all() -> None:
    def reader(i: int) -> Any:
        def body(m: ExploredCPU, l3: int) -> None:
            m.load(m.ref(mk_pte(l3, 0x63)), i, "R")
            m.store(m.ref(mk_pte(l3, 0x63)), i, 2, "W")  # not present

        return body

    # two CPUs on different entries of one table: a single trace
    r = explore(world_program(reader(0), reader(1)), count_traces=True)
    assert r.traces == 1
    # on the same entry: r0 w0 r1 w1, r1 w1 r0 w0, and both reads first with
    # either write first (the two reads commute): 4 traces
    r = explore(world_program(reader(0), reader(0)), count_traces=True)
    assert r.traces == 4


def test_pte_and_frame_keys_never_collide() -> None:
    keys = {pte_key(f, i) for f in (1, 2, 1 << 24) for i in range(512)}
    frames = {frame_key(f) for f in (1, 2, 1 << 24)}
    assert not keys & frames


def test_a_flush_reaches_every_tlb_and_a_local_flush_only_its_own() -> None:
    seen: dict[str, Any] = {}

    def body(m: ExploredCPU, l3: int) -> None:
        m.flush(0, 0x200, "F1")
        m.flush(0, 0x200, "F2", local=True)
        seen["tlbs"] = [t.flushes for t in m.world.tlbs]

    explore(world_program(body))
    assert seen["tlbs"] == [2, 1]


@pytest.mark.parametrize("entries", [8, 512])
def test_a_hardware_walk_fills_the_tlb_of_the_cpu_that_walked(entries: int) -> None:
    seen: dict[str, Any] = {}

    def body(m: ExploredCPU, l3: int) -> None:
        t = m.ref(mk_pte(l3, 0x63))
        m.store(t, 0, mk_pte(0x40000 if entries == 512 else 0x40, 0x800163 | 0x80), "S")
        m.access(0x1000)
        seen["tlb"] = len(m.world.tlbs[0]), len(m.world.tlbs[1])

    explore(world_program(body, entries=entries))
    assert seen["tlb"] == (1, 0)


def test_a_quiet_access_is_recorded_under_its_step_label() -> None:
    # The records of an execution run without details (DPOR's, trace counting's) carry
    # the shared descriptors; their labels are the model's step labels, whatever the
    # frame and index.
    worlds: list[World] = []
    g = Geometry(8)
    base = PhysicalMemory(g)
    root = base.alloc(4)
    l3 = base.alloc(3)
    assert root is not None and l3 is not None

    def program(ctx: Any) -> Any:
        world = World(ctx, base.clone(), root, XenConfig(), [TLB(g)])
        worlds.append(world)
        cpu = ExploredCPU(world, 0)
        table = cpu.ref(mk_pte(l3, 0x63))

        def body() -> None:
            cpu.load(table, 3, "V3.1")
            cpu.store(table, 5, 0, "M2.4")

        return [body], None

    explore(program, count_traces=True)
    accesses = worlds[-1].accesses
    assert accesses.load["V3.1"][l3][3].label == "V3.1"
    assert accesses.store["M2.4"][l3][5].label == "M2.4"


def test_a_fine_scan_loads_each_entry_as_the_loop_comes_to_it() -> None:
    # With one event per load, the C loop's order holds: what the caller does with an
    # entry (here a store, in Xen an L1 scan or a free) comes before the next load,
    # and a loop that stops at an entry loads none after it.
    g = Geometry(8)
    base = PhysicalMemory(g)
    root = base.alloc(4)
    l3 = base.alloc(3)
    assert root is not None and l3 is not None
    for i in range(8):
        base.write(l3, i, i + 1)
    labels: list[list[str]] = []

    def program(ctx: Any) -> Any:
        world = World(ctx, base.clone(), root, XenConfig(), [TLB(g)], fine_scans=True)
        cpu = ExploredCPU(world, 0)
        table = cpu.ref(mk_pte(l3, 0x63))

        def body() -> None:
            for value in cpu.scan(table, "S"):
                cpu.store(table, value - 1, value, "W")
                if value == 3:
                    break

        return [body], None

    class Labels:
        def on_execution(self, record: Any) -> None:
            labels.append([ev.label for ev in record.trace])

    explore(program, observers=[Labels()])
    assert labels == [["S", "W", "S", "W", "S", "W"]]
