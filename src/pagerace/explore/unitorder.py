"""The units of a split bounded ``dpor`` bound that the single search enters, in its order.

A split bound's units branch on every candidate thread at every point of their
paths (``parallel.split``); the single DPOR search branches only where a race it
found asks for it.  ``SingleOrder`` follows the single search over the points of
the units' paths (the *top* of the tree): it holds their backtrack sets as that
search would, and after each unit it is handed the unit's notes for those points
(``explore``'s ``above``: what the unit's own search would have added there, in
order), it takes the next branch as ``Frontier.next_branch`` does.  The units it
hands out are those whose path the single search takes, in the order it takes them;
a unit it passes by (``ruled_out``) holds executions the single search never runs.

Below a unit's path, the unit's search is the single search's: it makes the same
executions in the same order, and its races add the same backtrack points there.
Above it, the single search applies each race's additions when it finds the race,
and the unit notes them in that order; notes the single search made in an earlier
unit (the first execution of a unit notes every race of its path) change nothing
when applied again: a walk adds a thread only at a point that has none of the
race's initials.  So merging the units in this order gives the executions, findings
and schedules of the single search at that bound.

**Division.**  A unit's search may stop between two executions to hand out what is
left of it (``divided``: a worker was idle).  Its frontier then holds every branch it
has still to take, on the points of its current path.  Those points, down to the
first one with a branch left, join the walk here as points of the top, with the
backtrack sets the unit gave them; what is left below that point goes on as a unit of
its own (a *continuation*, started from the frontier below it: ``rests``), and each
branch of a top point is a unit of its own, made when the walk comes to need it
(``_unit_at``).  The subtree below a path is explored alike whoever explores it, and
the notes come in the same order, so a divided unit and the units it became merge to
what the unit would have given: where a unit divides, and how often, changes nothing
in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pagerace.explore.strategies.dpor import bounded_addition

__all__ = ["SingleOrder", "branches_left", "path_of"]

Walk = tuple[tuple[int, ...], tuple[int, ...]]


def branches_left(
    enabled: Sequence[int],
    chosen: int,
    pool: Sequence[int],
    done: Sequence[int],
    sleep: Sequence[int] = (),
) -> list[int]:
    """The threads of ``pool`` still to take at a point (dpor: its backtrack set; dfs:
    its enabled threads), in the order a search takes them -- as
    ``Frontier.next_branch`` picks them."""
    return [
        t for t in sorted(pool) if t != chosen and t not in done and t not in sleep and t in enabled
    ]


def path_of(prefix: Sequence[Sequence[Any]]) -> tuple[int, ...]:
    """The threads chosen on a unit's path: what names a unit made by division (its
    index depends on when it was made)."""
    return tuple(point[1] for point in prefix)


class _Top:
    """A point of the current path: its threads, the one taken, the backtrack set."""

    __slots__ = ("backtrack", "chosen", "done", "enabled")

    def __init__(self, enabled: list[int], chosen: int) -> None:
        self.enabled = enabled
        self.chosen = chosen
        self.backtrack = [chosen]
        self.done: list[int] = []

    def branches(self) -> list[int]:
        """The threads still to take here, in the order the search takes them."""
        return branches_left(self.enabled, self.chosen, self.backtrack, self.done)


def _left(point: Sequence[Any]) -> bool:
    """A frontier point ``[enabled, chosen, backtrack, done, sleep]`` has a branch
    left to take."""
    enabled, chosen, backtrack, done, sleep = point
    return bool(branches_left(enabled, chosen, backtrack, done, sleep))


class SingleOrder:
    """The single search's walk over the units ``units`` (prefixes ``[enabled, chosen,
    done, sleep]`` per point, in the order ``split`` made them: depth first)."""

    def __init__(self, units: list[list[Any]]) -> None:
        self._units = units  # (units made by division are appended)
        paths = [tuple(point[1] for point in unit) for unit in units]
        # every path prefix -> the range of the units below it (depth first: adjacent)
        self._below: dict[tuple[int, ...], list[int]] = {}
        for i, path in enumerate(paths):
            for j in range(len(path) + 1):
                span = self._below.get(path[:j])
                if span is None:
                    self._below[path[:j]] = [i, i]
                else:
                    span[1] = i
        # How likely the search is to enter each unit, a guess from where its path
        # leaves the one it branches from: at a context switch of that path (bounded
        # POR adds a race's thread at every earlier switch), and near the root.
        self._likely: list[tuple[bool, int, int]] = []
        for i, path in enumerate(paths):
            d = next((j for j in range(len(path)) if self._below[path[: j + 1]][0] == i), 0)
            parent = paths[self._below[path[:d]][0]]
            switch = d == 0 or parent[d] != parent[d - 1]
            self._likely.append((not switch, d, i))
        self._stack: list[_Top] = []
        self._open = set(range(len(units)))  # neither entered nor ruled out
        # below a divided unit: the unit made for each path (``_unit_at``)
        self._made: dict[tuple[int, ...], int] = {}
        #: per continuation of a divided unit: the frontier below its path, to go on from
        self.rests: dict[int, list[list[Any]]] = {}
        #: called with the index of each unit made below a divided unit, as it is made
        self.on_make: Callable[[int], None] | None = None
        self._newly_ruled: list[int] = []
        self.current: int | None = None
        if units:
            self._enter(0, 0)

    def _enter(self, i: int, depth: int) -> None:
        """Unit ``i`` is next: the points of its path below ``depth`` are new."""
        for point in self._units[i][depth:]:
            self._stack.append(_Top(list(point[0]), point[1]))
        self._open.discard(i)
        self.current = i

    def merged(self, notes: Iterable[Walk]) -> None:
        """The current unit is merged: apply its notes for the points of its path."""
        stack = self._stack
        for walk, initials in notes:
            for j in walk:
                top = stack[j]
                t = bounded_addition(top.backtrack, top.enabled, initials)
                if t is not None:
                    top.backtrack.append(t)

    def divided(self, rest: Sequence[Sequence[Any]]) -> bool:
        """The current unit (merged: its notes are in) paused with ``rest``, its
        frontier below its path (``[enabled, chosen, backtrack, done, sleep]`` per
        point).  Its points down to the first with a branch left join the walk; what
        is left below that one becomes the current unit (True), unless nothing is
        (False: go on with ``next``)."""
        assert self.current is not None
        prefix = list(self._units[self.current])
        first = next((k for k, point in enumerate(rest) if _left(point)), len(rest))
        for point in rest[: first + 1]:
            top = _Top(list(point[0]), point[1])
            top.backtrack = list(point[2])
            top.done = list(point[3])
            self._stack.append(top)
            prefix.append([top.enabled, top.chosen, [], []])
        below = [list(point) for point in rest[first + 1 :]]
        if not any(_left(point) for point in below):
            return False
        i = self._make(prefix)
        self.rests[i] = below
        self.current = i
        return True

    def _make(self, prefix: list[Any]) -> int:
        """A new unit for ``prefix``, a path below a divided unit."""
        i = len(self._units)
        self._units.append(prefix)
        self._made[path_of(prefix)] = i
        if self.on_make is not None:
            self.on_make(i)
        return i

    def _unit_at(self, path: tuple[int, ...]) -> int:
        """The unit for ``path``, a point of the walk with one of its branches: the
        split's first unit below it, or below a divided unit the one made for it."""
        span = self._below.get(path)
        if span is not None:
            return span[0]
        i = self._made.get(path)
        if i is None:
            stack = self._stack
            depth = len(path) - 1
            prefix = [[t.enabled, t.chosen, [], []] for t in stack[:depth]]
            prefix.append([stack[depth].enabled, path[depth], [], []])
            i = self._make(prefix)
        return i

    def next(self) -> int | None:
        """The next unit the single search enters, or None when it is done."""
        stack = self._stack
        while stack:
            top = stack[-1]
            branches = top.branches()
            if branches:
                top.done.append(top.chosen)
                top.chosen = branches[0]
                i = self._unit_at(tuple(t.chosen for t in stack))
                self._enter(i, len(stack))
                return i
            stack.pop()
            # the units below this point that the search has not entered: never
            span = self._below.get(tuple(t.chosen for t in stack))
            if span is None:  # (a point below a divided unit: no unit of the split)
                continue
            for i in range(span[0], span[1] + 1):
                if i in self._open:
                    self._open.discard(i)
                    self._newly_ruled.append(i)
        self.current = None
        return None

    def _sure(self) -> Iterator[int]:
        """The current unit, then the first unit below each branch left on the current
        path, deepest first as the search takes them: it enters every one."""
        stack = self._stack
        if self.current is None:
            return
        yield self.current
        chosen = [t.chosen for t in stack]
        for depth in range(len(stack) - 1, -1, -1):
            for tid in stack[depth].branches():
                yield self._unit_at((*chosen[:depth], tid))

    def wanted(self) -> Iterator[int]:
        """The units worth running now, likeliest first: those the search surely
        enters (``certain``, in its order), then the others not ruled out, those that
        branch off at a context switch and nearest the root first (a guess: the
        search may not enter them)."""
        if self.current is None:
            return
        yield from self._sure()
        yield from sorted(self._open, key=self._likely.__getitem__)

    def certain(self) -> set[int]:
        """The units the search enters whatever the units before them turn out to
        say (``wanted`` without its guesses)."""
        return set(self._sure())

    def ruled_out(self) -> list[int]:
        """The units found never to be entered since the last call."""
        out, self._newly_ruled = self._newly_ruled, []
        return out

    @property
    def open(self) -> int:
        """The units neither entered nor ruled out."""
        return len(self._open)
