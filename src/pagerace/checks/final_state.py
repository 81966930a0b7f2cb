"""The lost-update oracle: the final translation against every serial order.

A concurrent run is correct, for this oracle, when the translation it leaves behind
equals the one left by *some* serial order of the CPUs' whole operations that keeps
each CPU's program order (a linearizability check over operations).  Translations
are compared in a normal form that ignores how they are represented: 512 4 KiB
leaves and one 2 MiB leaf that map the same frames with the same attributes are
equal; Accessed and Dirty are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pagerace.paging.dump import StateDump
from pagerace.paging.geometry import Geometry
from pagerace.paging.pte import _PAGE_PSE

__all__ = ["Translation", "acceptable_translations", "serial_orders", "translation_of"]

# (va, pages, mfn, flags) runs, merged where contiguous
Translation = tuple[tuple[int, int, int, int], ...]

_IGNORED = 0x20 | 0x40  # _PAGE_ACCESSED | _PAGE_DIRTY (64-bit layout)


def translation_of(state: StateDump, geometry: Geometry) -> Translation:
    """The state's present leaves as maximal runs of contiguous 4 KiB translations."""
    runs: list[list[int]] = []
    for va, level, mfn, flags, count in state.leaves:
        pages = geometry.pages(level)
        f = flags & ~_IGNORED
        if level > 1:
            f &= ~_PAGE_PSE  # PSE marks the size; PAT of superpages is never set here
        total = pages * count
        if runs:
            last = runs[-1]
            if last[3] == f and last[0] + (last[1] << 12) == va and last[2] + last[1] == mfn:
                last[1] += total
                continue
        runs.append([va, total, mfn, f])
    return tuple((a, b, c, d) for a, b, c, d in runs)


def serial_orders(program: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every interleaving of whole operations that keeps each CPU's order.

    ``program[c]`` is the number of operations of CPU c; each order is a tuple of
    CPU numbers (the k-th occurrence of c is c's k-th operation).
    """
    remaining = list(program)
    order: list[int] = []
    total = sum(program)

    def rec() -> Iterator[tuple[int, ...]]:
        if len(order) == total:
            yield tuple(order)
            return
        for c, left in enumerate(remaining):
            if left:
                remaining[c] -= 1
                order.append(c)
                yield from rec()
                order.pop()
                remaining[c] += 1

    yield from rec()


def acceptable_translations(
    program: Sequence[int], run_serial: Callable[[tuple[int, ...]], Translation | None]
) -> set[Translation]:
    """The translations of every serial order (``run_serial`` returns None for an
    order in which the sequential model itself fails, e.g. an ASSERT)."""
    found = set()
    for order in serial_orders(program):
        t = run_serial(order)
        if t is not None:
            found.add(t)
    return found
