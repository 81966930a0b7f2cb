"""``dpor``: source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014).

Explores at least one execution of every Mazurkiewicz trace of the program (two
executions are equivalent when they order every pair of dependent events alike), and
few more.  The search state is a ``Frontier``: per scheduling point the backtrack set,
the threads done and the sleep set.

* Sleep sets are computed online: after step i (thread p, footprint f), the sleep set
  of node i+1 keeps the threads of ``sleep(i) + done(i)`` whose pending event is
  independent of f.  A step where every enabled thread sleeps ends the execution as
  redundant (``CUT``, counted in ``Stats.cut_executions``).
* Races are found after each execution, for the events past the point where it left
  the previous one.  Happens-before is tracked with vector clocks; event ``e`` (thread
  q) and a later ``e'`` (thread p != q) are in a race when they are dependent and no
  other event lies between them in happens-before.  For the race, ``v`` is the events
  after ``e`` that do not happen after it, followed by ``e'``; if no initial of ``v``
  (a thread whose first event in ``v`` has no happens-before predecessor in ``v``) is
  in the backtrack or sleep set of the node before ``e``, the smallest one is added.
* Locks: a race between a release of L and a later acquire of L cannot be reversed
  (the acquirer is blocked until the release), so it is reversed at the releasing
  thread's acquire instead: the race is taken between the two acquires.
* An initial that the node cannot schedule (a preemption bound filtered it out) is
  added at the nearest earlier node that can, a conservative step in the spirit of
  bounded POR (Coons, Musuvathi, McKinley, OOPSLA 2013).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pagerace.errors import PageraceInputError
from pagerace.explore.events import ACQUIRE, NOTE, RELEASE, Pending, dependent
from pagerace.explore.execution import CUT, GRANT_ALL, Chooser, Execution
from pagerace.explore.frontier import Frontier, Node
from pagerace.explore.strategies.dfs import follow_path

__all__ = ["DporStrategy"]


class DporStrategy:
    """Source-DPOR with sleep sets."""

    complete = True
    records = True

    def __init__(self, *, bounded: bool = False) -> None:
        self.bounded = bounded
        self.frontier = Frontier()
        self._started = False
        self._start = 0
        self._steps = 0  # steps of the last execution
        self._error: str | None = None
        # A grant past the path: (enabled seen, thread), its nodes not yet added.
        self._fill: tuple[list[int], int] | None = None

    # -- one execution -----------------------------------------------------------

    def begin(self) -> Chooser | None:
        # Nodes of a grant not yet added have nothing to try (backtrack = chosen, no
        # done, no sleep): next_branch would only drop them.
        self._fill = None
        if self._started:
            depth = self.frontier.next_branch("backtrack")
            if depth is None:
                return None
            self._start = depth
        self._started = True
        return self._choose

    def _fill_to(self, step: int) -> None:
        """Add the nodes of the granted steps before ``step`` (empty sleep sets)."""
        fill = self._fill
        if fill is not None:
            self._fill = None
            enabled, tid = fill
            nodes = self.frontier.nodes
            for _ in range(step - len(nodes)):
                nodes.append(Node(enabled[:], tid, [tid], [], []))

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        step = len(ex.choices)
        nodes = self.frontier.nodes
        if step < len(nodes):
            tid, error = follow_path(nodes, step, enabled, ex)
            if error is not None:
                self._error = error
            return tid
        if self._fill is not None:
            self._fill_to(step)
        sleep = []
        if step and not self.bounded:
            prev = nodes[step - 1]
            if prev.sleep or prev.done:
                sleep = self._sleep_after(prev, pending, ex.log)
        awake = [t for t in enabled if t not in sleep] if sleep else enabled
        if not awake:
            return CUT
        tid = current if current in awake else awake[0]
        seen = list(enabled)
        nodes.append(Node(seen, tid, [tid], [], sleep))
        if not sleep:
            # No sleep set here, none after (a new node has no done threads): the
            # running thread goes on until the enabled set changes.
            self._fill = (seen, tid)
            ex.grant = GRANT_ALL
        return tid

    def _sleep_after(
        self, prev: Node, pending: list[Pending | None], log: list[Any]
    ) -> list[int]:
        """Sleep set of the node after ``prev``, whose chosen event is the last step
        record of ``log``."""
        candidates = prev.sleep + prev.done
        if not candidates:
            return []
        footprint = _last_step(log).footprint
        sleep = []
        for tid in candidates:
            ev = pending[tid]
            if ev is not None and not dependent(ev.footprint, footprint):
                sleep.append(tid)
        return sorted(sleep)

    def end(self, execution: Execution) -> None:
        # The nodes of a final grant are added only if the race analysis needs them.
        self._steps = len(execution.choices)
        if self._error is not None:
            raise PageraceInputError(self._error)
        self._find_races(execution.choices, _step_items(execution.log), execution.nthreads)

    # -- races -------------------------------------------------------------------

    def _find_races(self, threads: list[int], steps: list[Pending], n: int) -> None:
        start = self._start
        shared = _shared_keys(threads, steps)
        if not shared:
            return  # no two threads' events depend on each other: no race, no edge
        if not any(key in shared for ev in steps[start:] for key, _ in ev.footprint):
            return  # no event past the divergence point can be the second of a race
        clocks: list[list[int]] = []
        seen: list[list[int]] = []
        counts = [0] * n
        last_step = [-1] * n
        # Only shared keys order events of different threads; the others are skipped.
        last: dict[Hashable, list[int]] = {}  # key -> last read per thread + last write
        # footprint (by id: they are alive during the call) -> its pairs on shared keys
        relevant_of: dict[int, list[tuple[Hashable, bool]]] = {}
        for i, ev in enumerate(steps):
            p = threads[i]
            footprint = ev.footprint
            relevant = relevant_of.get(id(footprint))
            if relevant is None:
                relevant = [pair for pair in footprint if pair[0] in shared]
                relevant_of[id(footprint)] = relevant
            prev = last_step[p]
            clock = clocks[prev][:] if prev >= 0 else [0] * n
            counts[p] += 1
            clock[p] = counts[p]
            clocks.append(clock)
            seen.append(counts[:])
            last_step[p] = i
            if not relevant:
                continue
            cand = [-1] * n
            for key, is_write in relevant:
                acc = last.get(key)
                if acc is None:
                    continue
                for q in range(n):
                    if q != p:
                        s = acc[n + q]
                        if is_write and acc[q] > s:
                            s = acc[q]
                        if s > cand[q]:
                            cand[q] = s
            for q in range(n):
                s = cand[q]
                if s >= 0:
                    other = clocks[s]
                    for u in range(n):
                        if u != p and other[u] > clock[u]:
                            clock[u] = other[u]
            if i >= start:
                for q in range(n):
                    s = cand[q]
                    if s < 0:
                        continue
                    local = clocks[s][q]
                    if prev >= 0 and clocks[prev][q] >= local:
                        continue
                    if any(
                        r != q and cand[r] >= 0 and clocks[cand[r]][q] >= local for r in range(n)
                    ):
                        continue
                    self._reverse(threads, steps, clocks, seen, prev, s, i, n)
            for key, is_write in relevant:
                acc = last.get(key)
                if acc is None:
                    acc = last[key] = [-1] * (2 * n)
                acc[(n if is_write else 0) + p] = i

    def _reverse(
        self,
        threads: list[int],
        steps: list[Pending],
        clocks: list[list[int]],
        seen: list[list[int]],
        prev: int,
        s: int,
        i: int,
        n: int,
    ) -> None:
        """Schedule the reversal of the race between steps ``s`` and ``i``."""
        first = steps[s]
        second = steps[i]
        redirected = first.kind is RELEASE and second.kind is ACQUIRE
        if redirected:
            q = threads[s]
            j = s - 1
            while j >= 0 and not (
                threads[j] == q
                and steps[j].kind is ACQUIRE
                and steps[j].footprint == first.footprint
            ):
                j -= 1
            if j < 0:
                return
            s = j
            local = clocks[s][q]
            if prev > s and clocks[prev][q] >= local:
                return  # the acquirer depends on the critical section: not this race
        q = threads[s]
        local = clocks[s][q]
        base = seen[s]
        initials: list[int] = []
        present: set[int] = set()
        for j in range(s + 1, i):
            t = threads[j]
            if t in present:
                continue
            cj = clocks[j]
            if cj[q] >= local:
                continue  # happens after steps[s]: not in v
            present.add(t)
            if all(cj[u] <= base[u] for u in range(n) if u != t):
                initials.append(t)
        p = threads[i]
        if p not in present:
            ci = clocks[i]
            if redirected or all(ci[u] <= base[u] for u in range(n) if u != p):
                initials.append(p)
        if initials:
            self._add_backtrack(s, initials)

    def _add_backtrack(self, s: int, initials: list[int]) -> None:
        self._fill_to(self._steps)
        nodes = self.frontier.nodes
        node = nodes[s]
        if self.bounded:
            self._add_bounded(s, initials)
            return
        for t in initials:
            if t in node.backtrack or t in node.sleep:
                return
        for t in sorted(initials):
            if t in node.enabled:
                node.backtrack.append(t)
                return
        for j in range(s - 1, -1, -1):
            ancestor = nodes[j]
            for t in sorted(initials):
                if t in ancestor.enabled:
                    if t not in ancestor.backtrack:
                        ancestor.backtrack.append(t)
                    return

    def _add_bounded(self, s: int, initials: list[int]) -> None:
        """Bounded POR: add the initial where it can be scheduled, and also at every
        earlier context switch, where scheduling it costs no extra preemption."""
        nodes = self.frontier.nodes
        for j in range(s, -1, -1):
            if j != s and j > 0 and nodes[j].chosen == nodes[j - 1].chosen:
                continue
            node = nodes[j]
            if any(t in node.backtrack for t in initials):
                continue
            for t in sorted(initials):
                if t in node.enabled:
                    node.backtrack.append(t)
                    break


def _shared_keys(threads: list[int], steps: list[Pending]) -> set[Hashable]:
    """The keys that two threads touch, one of them writing: only they make races
    and happens-before edges between threads."""
    touched: dict[Hashable, int] = {}  # key -> bit mask of the threads touching it
    written: set[Hashable] = set()
    for i, ev in enumerate(steps):
        bit = 1 << threads[i]
        for key, is_write in ev.footprint:
            touched[key] = touched.get(key, 0) | bit
            if is_write:
                written.add(key)
    return {key for key in written if touched[key] & (touched[key] - 1)}


def _last_step(log: list[Any]) -> Pending:
    """The event of the last step in an execution's log (notes skipped)."""
    for j in range(len(log) - 1, -1, -1):
        record = log[j]
        if type(record) is tuple:
            access: Pending = record[1]
            return access
        if record.kind is not NOTE:
            step: Pending = record
            return step
    raise AssertionError("no step in the log")


def _step_items(log: list[Any]) -> list[Pending]:
    """The event of each step (a cell's access descriptor or a ``TraceEvent``)."""
    return [
        record[1] if type(record) is tuple else record
        for record in log
        if type(record) is tuple or record.kind is not NOTE
    ]
