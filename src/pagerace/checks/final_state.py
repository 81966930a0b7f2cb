"""The lost-update oracle: the final translation against every serial order.

A concurrent run is correct, for this oracle, when the translation it leaves behind
equals the one left by *some* serial order of the CPUs' whole operations that keeps
each CPU's program order (a linearizability check over operations).  Translations
are compared in a normal form that ignores how they are represented: 512 4 KiB
leaves and one 2 MiB leaf that map the same frames with the same attributes are
equal; Accessed and Dirty are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Generic, NamedTuple, TypeVar

from pagerace.paging.dump import StateDump
from pagerace.paging.geometry import Geometry
from pagerace.paging.pte import _PAGE_PSE

__all__ = [
    "SerialResults",
    "Translation",
    "acceptable_translations",
    "count_serial_orders",
    "serial_orders",
    "serial_results",
    "translation_of",
]

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
    """The translations of every serial order, one order at a time (``run_serial``
    returns None for an order in which the sequential model itself fails, e.g. a
    BUG_ON).  ``serial_results`` gets the same set without running every order."""
    found = set()
    for order in serial_orders(program):
        t = run_serial(order)
        if t is not None:
            found.add(t)
    return found


def count_serial_orders(program: Sequence[int]) -> int:
    """How many serial orders ``program`` has (a multinomial coefficient)."""
    total, count = 0, 1
    for n in program:
        total += n
        count *= math.comb(total, n)
    return count


S = TypeVar("S")


class SerialResults(NamedTuple, Generic[S]):
    """What ``serial_results`` found: ``finals`` holds one state per distinct final
    state (empty when no order completes); ``complete`` is False when the search
    stopped at its limit (``finals`` is then a subset); ``runs`` counts the operations
    run; ``orders`` is the number of serial orders this stands for."""

    finals: list[S]
    complete: bool
    runs: int
    orders: int


def serial_results(
    program: Sequence[int],
    start: S,
    run_op: Callable[[S, int, int], S | None],
    key: Callable[[S], Hashable],
    max_runs: int,
) -> SerialResults[S]:
    """The final states of every serial order of ``program``, without running every
    order: operations that commute are run once per order of the states they lead to,
    not once per order of the operations.

    ``run_op(state, cpu, k)`` runs CPU ``cpu``'s k-th operation on a copy of ``state``
    and returns the new state, or None when the sequential model fails there (that
    order has no result); ``key(state)`` is the state's canonical form.

    Why this is exact.  A serial order is a path through the grid of positions
    ``(p_0, ..., p_n)`` (how many operations each CPU has done), one operation per
    step.  Sweep the grid level by level (by the number of operations done) and keep,
    at each position, one representative state per distinct key.  If running an
    operation is deterministic and depends on the state only through its key (two
    states with equal keys lead, operation by operation, to states with equal keys,
    and fail alike), then two prefixes that reach the same key at the same position
    have the same set of completions, so the representative stands for all of them:
    every order's final key is found, and nothing else is.  Operations on disjoint
    tables or ranges commute -- both orders reach the same state -- so their orders
    merge into one state instead of multiplying: n CPUs with one independent
    operation each cost n * 2**(n-1) runs instead of n * n! for every order.  When the
    operations do not commute the states stay apart and the sweep degrades to the
    enumeration it replaces, bounded by ``max_runs``.
    """
    ncpus = len(program)
    total = sum(program)
    level: dict[tuple[int, ...], dict[Hashable, S]] = {(0,) * ncpus: {key(start): start}}
    runs = 0
    for _ in range(total):
        following: dict[tuple[int, ...], dict[Hashable, S]] = {}
        for position, states in level.items():
            for cpu in range(ncpus):
                k = position[cpu]
                if k == program[cpu]:
                    continue
                after = (*position[:cpu], k + 1, *position[cpu + 1 :])
                bucket = following.setdefault(after, {})
                for state in states.values():
                    if runs >= max_runs:
                        return SerialResults([], False, runs, count_serial_orders(program))
                    runs += 1
                    new = run_op(state, cpu, k)
                    if new is not None:
                        bucket.setdefault(key(new), new)
        level = following
    finals = [state for states in level.values() for state in states.values()]
    return SerialResults(finals, True, runs, count_serial_orders(program))
