"""Physical memory: frames, page-table pages and the page-table allocator.

A frame is one of:

* a live **page table** of level 1..4 (allocated by ``alloc`` and not yet freed);
* **free**: it was a page table and has been freed; its words keep their last
  contents, so a use-after-free read sees what the freed table held, as in Xen;
* **frame 0** (``LOWMEM0``): where a pointer derived from an empty entry lands;
* **data**: every other frame (guest or Xen data mapped by leaf entries).

The allocator hands out freed frames again last-in-first-out, so that a stale
pointer lands in a reused table just as it would in Xen's heap.  Every frame has a
generation number, bumped at each allocation and each free: a ``TableRef`` taken
before a free is recognisably stale afterwards, even once the frame is reused.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import NamedTuple

from pagerace.errors import ExecutionSignal
from pagerace.paging.geometry import Geometry

__all__ = [
    "TABLE_FRAME_BASE",
    "FrameKind",
    "MemoryFault",
    "PhysicalMemory",
    "TableRef",
]

# Page-table frames are numbered from here, far above the data frames that
# scenarios and the conformance vectors map (all below 2**23), so that a pointer
# into "the first data frame of a superpage" is never mistaken for a table.
TABLE_FRAME_BASE = 1 << 24


class FrameKind(enum.Enum):
    TABLE = "table"
    FREE = "free"
    DATA = "data"
    LOWMEM0 = "frame 0"


class TableRef(NamedTuple):
    """A reference to a frame as a page table, taken at generation ``gen``."""

    frame: int
    gen: int


class MemoryFault(ExecutionSignal):
    """A memory-safety violation: ``kind`` is a finding kind (double-free, ...)."""

    def __init__(self, kind: str, frame: int, message: str) -> None:
        self.kind = kind
        self.frame = frame
        self.message = message
        super().__init__(f"{kind}: {message}")


class PhysicalMemory:
    """Frames with a state, page-table words, generations and a LIFO allocator."""

    def __init__(
        self,
        geometry: Geometry,
        *,
        fail_allocations: Iterable[int] = (),
        first_table_frame: int = TABLE_FRAME_BASE,
    ) -> None:
        self.geometry = geometry
        self.entries = geometry.entries
        self.words: dict[int, list[int]] = {}  # every frame that has been a table
        self.level: dict[int, int] = {}  # live tables -> level
        self.live: dict[int, list[int]] = {}  # live tables -> their words (same lists)
        self.freed_level: dict[int, int] = {}  # freed frames -> the level they last had
        self.gen: dict[int, int] = {}
        self.data: dict[int, dict[int, int]] = {}  # words stored into non-table frames
        self.free_list: list[int] = []
        self.next_frame = first_table_frame
        self.allocations = 0  # attempts, counting failed ones (1-based ordinals)
        #: called before every change (write, alloc, free): the functional oracle's
        #: way of charging each change to the operation that makes it
        self.on_change: Callable[[], None] | None = None
        ordinals: list[object] = list(fail_allocations)  # (checked, whatever they are)
        for n in ordinals:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"fail_allocations: {n!r} is not a positive allocation ordinal")
        self.fail_allocations = frozenset(n for n in ordinals if isinstance(n, int))

    # -- allocation ---------------------------------------------------------
    def alloc(self, level: int) -> int | None:
        """``alloc_xen_pagetable``: a frame for a level-``level`` table, or None.

        The frame's contents are whatever it last held (zeros for a new frame):
        callers clear or fill it before publishing, as Xen's callers do.
        """
        if self.on_change is not None:
            self.on_change()
        if not 1 <= level <= 4:
            raise ValueError(f"level {level}: must be 1..4")
        self.allocations += 1
        if self.allocations in self.fail_allocations:
            return None
        if self.free_list:
            frame = self.free_list.pop()
        else:
            frame = self.next_frame
            self.next_frame += 1
            self.words[frame] = [0] * self.entries
        self.level[frame] = level
        self.live[frame] = self.words[frame]
        self.gen[frame] = self.gen.get(frame, 0) + 1
        return frame

    def free(self, frame: int, level: int | None = None) -> None:
        """``free_xen_pagetable``; raises ``MemoryFault`` on a double or bad free."""
        if self.on_change is not None:
            self.on_change()
        live = self.level.get(frame)
        if live is None:
            if frame in self.words:
                raise MemoryFault("double-free", frame, f"frame {frame:#x} freed twice")
            raise MemoryFault(
                "bad-free", frame, f"frame {frame:#x} freed but it is {self.kind(frame).value}"
            )
        if level is not None and live != level:
            raise MemoryFault(
                "bad-free",
                frame,
                f"frame {frame:#x} freed as an L{level} table but it is an L{live}",
            )
        del self.level[frame]
        del self.live[frame]
        self.freed_level[frame] = live
        self.gen[frame] += 1
        self.free_list.append(frame)

    # -- state ----------------------------------------------------------------
    def kind(self, frame: int) -> FrameKind:
        if frame in self.level:
            return FrameKind.TABLE
        if frame in self.words:
            return FrameKind.FREE
        if frame == 0:
            return FrameKind.LOWMEM0
        return FrameKind.DATA

    def is_table(self, frame: int) -> bool:
        return frame in self.level

    def table_level(self, frame: int) -> int | None:
        return self.level.get(frame)

    def ref(self, frame: int) -> TableRef:
        return TableRef(frame, self.gen.get(frame, 0))

    def is_stale(self, ref: TableRef) -> bool:
        """True when the frame was freed (or freed and reused) since ``ref`` was taken."""
        return self.gen.get(ref.frame, 0) != ref.gen or ref.frame not in self.level

    def live_tables(self) -> dict[int, int]:
        return dict(self.level)

    # -- words ------------------------------------------------------------------
    def read(self, frame: int, index: int) -> int:
        """Any frame: tables (live or freed) hold words; other frames read as stored."""
        words = self.words.get(frame)
        if words is not None:
            return words[index]
        page = self.data.get(frame)
        return page.get(index, 0) if page else 0

    def frame_words(self, frame: int) -> list[int]:
        """Every word of any frame, as a walk through a pointer to it reads them: a
        table's (live or freed; its own list, not to be changed), what was stored
        into another frame, zeros elsewhere."""
        words = self.words.get(frame)
        if words is not None:
            return words
        page = self.data.get(frame)
        if not page:
            return [0] * self.entries
        return [page.get(i, 0) for i in range(self.entries)]

    def write(self, frame: int, index: int, value: int) -> None:
        if self.on_change is not None:
            self.on_change()
        words = self.words.get(frame)
        if words is not None:
            words[index] = value
        else:
            self.data.setdefault(frame, {})[index] = value

    def table(self, frame: int) -> list[int]:
        """The word list of a (live or freed) table frame."""
        return self.words[frame]

    def clone(self) -> PhysicalMemory:
        """An independent copy (each execution of the explorer starts from one)."""
        other = PhysicalMemory(self.geometry)
        other.words = {f: w.copy() for f, w in self.words.items()}
        other.level = self.level.copy()
        other.live = {f: other.words[f] for f in self.level}
        other.freed_level = self.freed_level.copy()
        other.gen = self.gen.copy()
        other.data = {f: d.copy() for f, d in self.data.items()}
        other.free_list = self.free_list.copy()
        other.next_frame = self.next_frame
        other.allocations = self.allocations
        other.fail_allocations = self.fail_allocations
        return other
