"""Physical memory: the LIFO table allocator, generations, faults and clones."""

from __future__ import annotations

import pytest

from pagerace.errors import ExecutionSignal
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import (
    TABLE_FRAME_BASE,
    FrameKind,
    MemoryFault,
    PhysicalMemory,
)


def _alloc(memory: PhysicalMemory, level: int = 1) -> int:
    frame = memory.alloc(level)
    assert frame is not None
    return frame


def test_fresh_tables_are_numbered_from_the_table_base_and_are_zero() -> None:
    memory = PhysicalMemory(Geometry(8))
    a, b = _alloc(memory, 4), _alloc(memory, 3)
    assert (a, b) == (TABLE_FRAME_BASE, TABLE_FRAME_BASE + 1)
    assert memory.table(a) == [0] * 8
    assert memory.live_tables() == {a: 4, b: 3}


def test_freed_frames_are_reused_last_in_first_out() -> None:
    memory = PhysicalMemory(Geometry(8))
    a, b, c = (_alloc(memory) for _ in range(3))
    memory.free(a)
    memory.free(c)
    assert _alloc(memory) == c
    assert _alloc(memory) == a
    assert _alloc(memory) == c + 1
    assert memory.is_table(b)


def test_a_freed_table_keeps_its_words_and_a_reused_one_is_not_cleared() -> None:
    memory = PhysicalMemory(Geometry(8))
    a = _alloc(memory, 2)
    memory.write(a, 3, 0x1234063)
    memory.free(a, 2)
    assert memory.kind(a) is FrameKind.FREE
    assert memory.read(a, 3) == 0x1234063
    assert _alloc(memory, 1) == a
    assert memory.read(a, 3) == 0x1234063
    assert memory.table_level(a) == 1


def test_a_reference_goes_stale_when_its_table_is_freed_and_stays_stale_after_reuse() -> None:
    memory = PhysicalMemory(Geometry(8))
    a = _alloc(memory)
    ref = memory.ref(a)
    assert not memory.is_stale(ref)
    memory.free(a)
    assert memory.is_stale(ref)
    assert _alloc(memory) == a
    assert memory.is_stale(ref)
    assert not memory.is_stale(memory.ref(a))
    assert memory.ref(a).gen == ref.gen + 2


def test_freeing_a_table_twice_is_a_double_free() -> None:
    memory = PhysicalMemory(Geometry(8))
    a = _alloc(memory)
    memory.free(a)
    with pytest.raises(MemoryFault) as info:
        memory.free(a)
    assert info.value.kind == "double-free"
    assert info.value.frame == a
    assert f"{a:#x}" in str(info.value)


@pytest.mark.parametrize(("frame", "what"), [(0, "frame 0"), (0x1234, "data")])
def test_freeing_a_frame_that_never_was_a_table_is_a_bad_free(frame: int, what: str) -> None:
    memory = PhysicalMemory(Geometry(8))
    with pytest.raises(MemoryFault, match=f"bad-free: frame {frame:#x} freed but it is {what}"):
        memory.free(frame)


def test_freeing_a_table_as_the_wrong_level_is_a_bad_free_and_frees_nothing() -> None:
    memory = PhysicalMemory(Geometry(8))
    a = _alloc(memory, 2)
    with pytest.raises(MemoryFault) as info:
        memory.free(a, 1)
    assert info.value.kind == "bad-free"
    assert "as an L1 table but it is an L2" in info.value.message
    assert memory.is_table(a)


def test_memory_faults_cannot_be_swallowed_by_except_exception() -> None:
    assert issubclass(MemoryFault, ExecutionSignal)
    assert not issubclass(MemoryFault, Exception)


def test_the_nth_allocation_can_be_made_to_fail() -> None:
    memory = PhysicalMemory(Geometry(8), fail_allocations=[2, 4])
    first = memory.alloc(1)
    assert first is not None
    assert memory.alloc(1) is None
    third = memory.alloc(1)
    assert third == first + 1
    assert memory.alloc(1) is None
    assert memory.allocations == 4
    assert memory.live_tables() == {first: 1, third: 1}


@pytest.mark.parametrize("bad", [0, -1, True, "2"])
def test_allocation_failure_ordinals_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ValueError, match="is not a positive allocation ordinal"):
        PhysicalMemory(Geometry(8), fail_allocations=[bad])  # type: ignore[list-item]


@pytest.mark.parametrize("level", [0, 5])
def test_allocating_a_table_of_no_level_is_refused(level: int) -> None:
    with pytest.raises(ValueError, match=rf"level {level}: must be 1..4"):
        PhysicalMemory(Geometry(8)).alloc(level)


def test_frames_are_tables_free_data_or_frame_0() -> None:
    memory = PhysicalMemory(Geometry(8))
    a, b = _alloc(memory), _alloc(memory)
    memory.free(b)
    assert memory.kind(a) is FrameKind.TABLE
    assert memory.kind(b) is FrameKind.FREE
    assert memory.kind(0) is FrameKind.LOWMEM0
    assert memory.kind(0x42) is FrameKind.DATA


def test_data_frames_read_zero_until_written_and_then_what_was_stored() -> None:
    memory = PhysicalMemory(Geometry(8))
    assert memory.read(0x42, 5) == 0
    memory.write(0x42, 5, 0xDEAD)
    assert memory.read(0x42, 5) == 0xDEAD
    assert memory.read(0x42, 4) == 0
    assert memory.kind(0x42) is FrameKind.DATA


def test_a_clone_is_independent_of_its_original() -> None:
    memory = PhysicalMemory(Geometry(8), fail_allocations=[5])
    a, b = _alloc(memory), _alloc(memory)
    memory.write(a, 0, 1)
    memory.write(0x42, 0, 7)
    memory.free(b)
    copy = memory.clone()
    copy.write(a, 0, 2)
    copy.write(0x42, 0, 8)
    assert _alloc(copy) == b
    copy.free(a)
    assert memory.read(a, 0) == 1
    assert memory.read(0x42, 0) == 7
    assert memory.is_table(a) and not memory.is_table(b)
    assert memory.free_list == [b]
    assert copy.read(a, 0) == 2
    assert _alloc(memory) == b
    assert _alloc(copy) == a  # the clone's 4th allocation
    assert copy.alloc(1) is None  # its 5th fails, as the original's would
