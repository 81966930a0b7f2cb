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
* The clocks are kept from one execution to the next: the steps before the point
  where an execution left the previous one are the same, so only the steps past it
  are processed (the table of last accesses per key is restored from an undo log).
  A big read-only footprint (a scan of a whole table) is noted once per step, not
  once per key (``_HappensBefore``'s read groups): the same edges and races.
* Locks: a race between a release of L and a later acquire of L cannot be reversed
  (the acquirer is blocked until the release), so it is reversed at the releasing
  thread's acquire instead: the race is taken between the two acquires.
* An initial that the node cannot schedule (a preemption bound filtered it out) is
  added at the nearest earlier node that can, a conservative step in the spirit of
  bounded POR (Coons, Musuvathi, McKinley, OOPSLA 2013).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence
from typing import Any

from mypy_extensions import mypyc_attr

from pagerace.explore.events import ACQUIRE, NOTE, RELEASE, Pending, dependent, footprint_keys
from pagerace.explore.execution import CUT, GRANT_ALL, Chooser, Execution
from pagerace.explore.frontier import Node
from pagerace.explore.strategies.dfs import PathSearch

__all__ = ["DporStrategy", "bounded_addition"]


@mypyc_attr(allow_interpreted_subclasses=True)
class DporStrategy(PathSearch):
    """Source-DPOR with sleep sets."""

    records = True
    candidates = "backtrack"

    def __init__(self, *, bounded: bool = False) -> None:
        super().__init__()
        self.bounded = bounded
        self._start = 0
        self._steps = 0  # steps of the last execution
        # The happens-before state of the last analysed execution; its first
        # ``_valid`` steps are on the current path (before the divergence point).
        self._hb = _HappensBefore()
        self._valid = 0
        #: Below a prefix under a preemption bound, when not None: what the search
        #: would add to the backtrack sets of the prefix's nodes (``above``).
        self.above: dict[tuple[tuple[int, ...], tuple[int, ...]], None] | None = None

    # -- one execution -----------------------------------------------------------

    def begin(self) -> Chooser | None:
        # Nodes of a grant not yet added have nothing to try (backtrack = chosen, no
        # done, no sleep): next_branch would only drop them.
        self._fill = None
        if self._started:
            depth = self.frontier.next_branch(self.candidates)
            if depth is None:
                return None
            self._start = depth
            if depth < self._valid:
                self._valid = depth
        elif self.above is None:
            self._start = self._floor  # (the races of a prefix are its units' siblings')
        # (else the first execution's races are all noted: those above the floor too)
        self._started = True
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        step = len(ex.choices)
        tid = self._on_path(step, enabled, ex)
        if tid is not None:
            return tid
        nodes = self.frontier.nodes
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

    def _sleep_after(self, prev: Node, pending: list[Pending | None], log: list[Any]) -> list[int]:
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
        # The nodes of a final grant are added only if a race is reversed at one.
        self._steps = len(execution.choices)
        self._raise_error()
        hb = self._hb
        threads = execution.choices
        if self._valid == 0 and not _shared(threads, execution.log):
            # Nothing to keep (no edge, no race) and a fresh start costs a full pass.
            hb.rewind(0, execution.nthreads)
            return
        hb.rewind(self._valid, execution.nthreads)
        races = hb.extend(threads, execution.log, self._start)
        self._valid = len(hb.items)
        for prev, s, i in races:
            self._reverse(hb, threads, prev, s, i)

    # -- races -------------------------------------------------------------------

    def _reverse(self, hb: _HappensBefore, threads: list[int], prev: int, s: int, i: int) -> None:
        """Schedule the reversal of the race between steps ``s`` and ``i``."""
        items = hb.items
        clocks = hb.clocks
        own = hb.own
        first = items[s]
        second = items[i]
        redirected = first.kind is RELEASE and second.kind is ACQUIRE
        if redirected:
            q = threads[s]
            mine = hb.steps[q]
            k = own[s] - 1  # q's steps before s, latest first
            while k and not (
                items[mine[k]].kind is ACQUIRE and items[mine[k]].footprint == first.footprint
            ):
                k -= 1
            if not k:
                return
            s = mine[k]
            if prev > s and clocks[prev][q] >= own[s]:
                return  # the acquirer depends on the critical section: not this race
        q = threads[s]
        local = own[s]
        p = threads[i]
        # Each thread's first step after s (and before i), with its own count.  A
        # thread's steps in v start there or nowhere: its later steps happen after
        # that one (and so after s if that one does).  A clock reaches past s on
        # thread u iff it counts u's first step after s.
        past = []  # (u, own count of u's first step after s, that step)
        for u, mine in enumerate(hb.steps):
            k = bisect_right(mine, s)  # (mine[k] has own count k)
            if k < len(mine) and mine[k] < i:
                past.append((u, k, mine[k]))
        # The initials of v: its threads whose first step there counts no step after
        # s of another thread (such a step would be in v too, before it).
        initials: list[int] = []
        p_in_v = False
        for t, _, j in past:
            if t == q:
                continue  # (q's steps after s happen after it)
            cj = clocks[j]
            if cj[q] >= local:
                continue  # happens after steps[s]: not in v
            if t == p:
                p_in_v = True
            for u, k, _ in past:
                if u != t and cj[u] >= k:
                    break
            else:
                initials.append(t)
        if not p_in_v:  # then v ends with steps[i]
            if redirected:
                # (its clock counts the critical section it waited for, which it
                # need not wait for when it acquires before steps[s])
                initials.append(p)
            else:
                ci = clocks[i]
                for u, k, _ in past:
                    if u != p and ci[u] >= k:
                        break
                else:
                    initials.append(p)
        if initials:
            self._add_backtrack(s, initials)

    def _add_backtrack(self, s: int, initials: list[int]) -> None:
        nodes = self.frontier.nodes
        if s >= len(nodes):  # only nodes up to s change
            self._fill_to(self._steps)
        floor = self._floor  # nodes above it branch on every candidate elsewhere
        if self.bounded:
            self._add_bounded(s, initials)
            return
        if s < floor:
            return
        node = nodes[s]
        for t in initials:
            if t in node.backtrack or t in node.sleep:
                return
        for t in sorted(initials):
            if t in node.enabled:
                nodes[s] = node.adding(t)
                return
        for j in range(s - 1, floor - 1, -1):
            ancestor = nodes[j]
            for t in sorted(initials):
                if t in ancestor.enabled:
                    if t not in ancestor.backtrack:
                        nodes[j] = ancestor.adding(t)
                    return

    def _add_bounded(self, s: int, initials: list[int]) -> None:
        """Bounded POR: add the initial where it can be scheduled, and also at every
        earlier context switch, where scheduling it costs no extra preemption."""
        nodes = self.frontier.nodes
        ordered = sorted(initials)
        switches = self._hb.switches
        floor = self._floor
        k = bisect_left(switches, s)  # switches[k - 1] is the latest before s
        j = s
        while True:
            if j < floor:
                if self.above is not None:
                    # the rest of the walk is over the prefix's nodes: noted for whoever
                    # explores the prefix's siblings (``parallel.SingleOrder``)
                    walk = (j, *reversed(switches[:k]))
                    self.above[walk, tuple(ordered)] = None
                break
            node = nodes[j]
            t = bounded_addition(node.backtrack, node.enabled, ordered)
            if t is not None:
                nodes[j] = node.adding(t)
            if not k:
                break
            k -= 1
            j = switches[k]


def bounded_addition(
    backtrack: list[int], enabled: list[int], initials: Sequence[int]
) -> int | None:
    """What bounded POR adds at a point of its walk for a race with ``initials``
    (sorted): nothing if one of them is in the backtrack set already, else the first
    that the point can schedule (None: none can)."""
    for t in initials:
        if t in backtrack:
            return None
    for t in initials:
        if t in enabled:
            return t
    return None


class _HappensBefore:
    """Vector clocks of the steps of the current path, kept from one execution to the
    next: an execution shares its steps before the divergence point with the previous
    one, so only the steps past it are (re)computed.

    Per step: its event, its log index, its own count (how many steps its
    thread has taken up to it) and its clock.  A step that depends on no other
    thread's step it did not already depend on shares its clock list with its
    thread's previous step (no copy): so a clock's component of its own thread may be
    stale (too small) -- read a step's own component from ``own``, never from its clock.
    Clock lists are never changed once made.

    ``last`` maps a key to the last step reading it per thread, then the last step
    writing it, then the bit mask of the threads that ever read it (it only grows: it
    says when the other threads' entries may be skipped, all -1).  One write is enough:
    the writes of a key are dependent, so each happens after the ones before it, and
    so do the reads before it -- what a step depends on through them, it depends on
    through the last write.  ``undo`` holds what the steps overwrote there, so
    ``rewind`` can restore it (a run of repeated accesses writes its entries once, see
    ``extend``).  ``steps`` holds each thread's steps in order, after a -1: its last
    step, and its step of a given own count.  Every key goes into ``last``, not only
    the shared ones (touched by two threads, one of them writing): a step is ordered
    after another thread's step on a key only when one of the two writes it, so the
    other keys add no edge.

    **Read groups.**  A read-only footprint of at least ``GROUP_KEYS`` keys (a scan
    of a whole table) is a *group* (one per set of keys, ``by_keys``; the footprint's
    keys come from ``events.footprint_keys``): instead of one entry per key, its steps note
    themselves once, per thread, in the group's ``scan`` list, and look for the last
    writes only among the group's keys ever written (``written``, a few).  A write
    to a key also checks the groups holding it (``member``) for reads since the
    key's last write, exactly as it checks the key's own entry: the same edges and
    races as key by key, without a pass over every key at every scan.
    """

    __slots__ = (
        "by_keys",
        "clocks",
        "items",
        "last",
        "marks",
        "member",
        "n",
        "others",
        "own",
        "positions",
        "steps",
        "switches",
        "undo",
        "zero",
    )

    def __init__(self) -> None:
        self.n = 0
        self.others: list[list[int]] = []  # per thread, the other threads
        self.items: list[Pending] = []
        self.positions: list[int] = []
        self.own: list[int] = []
        self.clocks: list[list[int]] = []
        self.zero: list[int] = []  # the clock before any step (shared, never changed)
        self.marks: list[int] = []  # length of ``undo`` before each step
        # per thread, -1 then its steps (``[-1]``: its last step, -1 before the first;
        # ``[k]``: its step of own count k)
        self.steps: list[list[int]] = []
        # 0, then the steps where the thread changes (the nodes where choosing another
        # thread costs no preemption)
        self.switches: list[int] = [0]
        self.last: dict[Hashable, list[int]] = {}
        self.undo: list[tuple[list[int], int, int]] = []  # (list, index, old value)
        self.by_keys: dict[frozenset[Hashable], _Group] = {}  # keys -> their read group
        self.member: dict[Hashable, list[_Group]] = {}  # key -> the groups holding it

    def rewind(self, keep: int, n: int) -> None:
        """Drop the steps from ``keep`` on (all of them for a new thread count)."""
        if n != self.n:
            self.n = n
            self.others = [[q for q in range(n) if q != p] for p in range(n)]
            self.zero = [0] * n
            self.steps = [[-1] for _ in range(n)]
            self.switches = [0]
            self.last = {}
            self.undo = []
            self.by_keys = {}
            self.member = {}
            keep = 0
        elif keep < len(self.marks):
            undo = self.undo
            mark = self.marks[keep]
            for values, index, old in reversed(undo[mark:]):
                values[index] = old
            del undo[mark:]
            del self.switches[bisect_left(self.switches, keep, 1) :]
            for p, mine in enumerate(self.steps):
                del mine[bisect_left(mine, keep) :]
                if mine[-1] == keep - 1 >= 0:
                    # Step keep - 1, now the last, is its keys' last access by p (a run
                    # of repeats cut after it had them name the run's last step).
                    self._settle(p, self.items[keep - 1].footprint, keep - 1)
        del self.items[keep:]
        del self.positions[keep:]
        del self.own[keep:]
        del self.marks[keep:]
        del self.clocks[keep:]

    def _settle(self, p: int, footprint: Any, i: int) -> None:
        """Make step ``i`` (thread ``p``) the last access of its footprint's keys (the
        end of a run of repeats)."""
        if len(footprint) >= GROUP_KEYS:
            group = self._group(footprint)
            if group is not None:
                group.scan[p] = i
                return
        last = self.last
        n = self.n
        for key, is_write in footprint:
            last[key][n if is_write else p] = i

    def _group(self, footprint: Any) -> _Group | None:
        """The read group of a big footprint, None if it writes (made the first time
        its keys are seen: those written so far go into ``written``)."""
        keys, written = footprint_keys(footprint)
        if written:
            return None
        group = self.by_keys.get(keys)
        if group is None:
            n = self.n
            group = self.by_keys[keys] = _Group(n)
            last = self.last
            member = self.member
            for key in keys:
                entry = last.get(key)
                if entry is not None and entry[n] >= 0:
                    group.seen.add(key)
                    group.written.append((key, None))
                holders = member.get(key)
                if holders is None:
                    member[key] = [group]
                else:
                    holders.append(group)
        return group

    def extend(self, choices: list[int], log: list[Any], start: int) -> list[tuple[int, int, int]]:
        """Add the steps of an execution (``choices``, ``log``) past the kept ones;
        return its races ``(prev, s, i)`` with ``i >= start``: step ``s`` of another
        thread is the last before ``i`` (``prev`` the previous step of i's thread)."""
        n = self.n
        others = self.others
        items = self.items
        positions = self.positions
        own = self.own
        clocks = self.clocks
        marks = self.marks
        undo = self.undo
        steps = self.steps
        switches = self.switches
        last = self.last
        zero = self.zero
        member = self.member
        readers = n + 1  # entry[readers]: the mask of the threads that ever read the key
        i = len(items)
        races: list[tuple[int, int, int]] = []
        last_footprint: Any = None  # the footprint of step i - 1 (when computed here)
        repeated = False  # step i - 1 repeats the one before it (entries not moved on)
        # The log up to the last kept step is the previous execution's (same steps).
        for j in range(positions[-1] + 1 if positions else 0, len(log)):
            item = log[j]
            if type(item) is tuple:
                item = item[1]
            elif item.kind is NOTE:
                continue
            items.append(item)
            positions.append(j)
            marks.append(len(undo))
            p = choices[i]
            mine_steps = steps[p]
            prev = mine_steps[-1]
            mine_steps.append(i)
            footprint = item.footprint
            if prev == i - 1 and footprint is last_footprint:
                # The thread repeats its previous step's access (about half the steps
                # of the Xen model): no other step since, so no new edge and no race.
                # Its entries in ``last`` move on once, when the run of repeats ends.
                own.append(own[prev] + 1)
                clocks.append(clocks[prev])
                repeated = True
                i += 1
                continue
            if repeated:
                self._settle(choices[i - 1], last_footprint, i - 1)
                repeated = False
            if prev != i - 1:
                switches.append(i)
            mine_count = len(mine_steps) - 1  # (after the -1 in front)
            own.append(mine_count)
            clock = clocks[prev] if prev >= 0 else zero
            last_footprint = footprint
            # cand[q]: the last step of thread q that step i depends on, unless the
            # thread's previous step already happens after it (then neither it nor
            # q's earlier steps add an edge or make a race).  None: no such step.
            cand: list[int] | None = None
            group = self._group(footprint) if len(footprint) >= GROUP_KEYS else None
            if group is not None:
                # A read of each of the group's keys, noted once; the last writes
                # are among its keys ever written (``(key, None)``: no read noted).
                scan = group.scan
                undo.append((scan, p, scan[p]))
                scan[p] = i
                group.readers |= 1 << p
                footprint = group.written
            for key, is_write in footprint:
                entry = last.get(key)
                if entry is None:
                    entry = last[key] = [-1] * n + [-1, 0]
                w = entry[n]  # the last write (its thread: choices[w])
                if w >= 0:
                    q = choices[w]
                    if q != p and own[w] > clock[q]:
                        if cand is None:
                            cand = [-1] * n
                        if w > cand[q]:
                            cand[q] = w
                if is_write:
                    # The reads since w (the earlier ones happen before w): of the
                    # key's entry, and of the read groups holding the key.
                    reads = [entry] if entry[readers] & ~(1 << p) else []
                    holders = member.get(key)
                    if holders is not None:
                        for held in holders:
                            if held.readers & ~(1 << p):
                                reads.append(held.scan)
                            if key not in held.seen:
                                held.seen.add(key)
                                held.written.append((key, None))
                    for read in reads:
                        for q in others[p]:
                            r = read[q]
                            if r > w and own[r] > clock[q]:
                                if cand is None:
                                    cand = [-1] * n
                                if r > cand[q]:
                                    cand[q] = r
                    undo.append((entry, n, w))
                    entry[n] = i
                elif is_write is not None:
                    r = entry[p]
                    if r < 0:
                        entry[readers] |= 1 << p
                    undo.append((entry, p, r))
                    entry[p] = i
            if cand is None:
                clocks.append(clock)
                i += 1
                continue
            # Merge the clocks of the steps i depends on: each of them changes it.
            clock = clock[:]
            mine = others[p]
            for q in mine:
                s = cand[q]
                if s < 0:
                    continue
                other = clocks[s]
                for u in mine:
                    if other[u] > clock[u]:
                        clock[u] = other[u]
                if own[s] > clock[q]:  # (s's own component of its clock may be stale)
                    clock[q] = own[s]
            clock[p] = mine_count
            clocks.append(clock)
            if i >= start:
                for q in mine:
                    s = cand[q]
                    if s < 0:
                        continue
                    # Not a race if another predecessor of i comes after s (prev
                    # does not: see cand).
                    local = own[s]
                    for r in mine:
                        t = cand[r]
                        if r != q and t >= 0 and clocks[t][q] >= local:
                            break
                    else:
                        races.append((prev, s, i))
            i += 1
        if repeated:
            self._settle(choices[i - 1], last_footprint, i - 1)
        return races


#: A read-only footprint of at least this many keys is a read group (``_HappensBefore``).
GROUP_KEYS = 32


class _Group:
    """A read group: per thread its last step reading it (-1: none), the threads that
    ever read it, and its keys ever written."""

    __slots__ = ("readers", "scan", "seen", "written")

    def __init__(self, n: int) -> None:
        self.scan = [-1] * n
        self.readers = 0
        self.written: list[tuple[Hashable, None]] = []  # (key, None) per key written
        self.seen: set[Hashable] = set()  # the keys in ``written``


def _shared(choices: list[int], log: list[Any]) -> bool:
    """True iff two threads touch a key that one of them writes: without one, no step
    is ordered after another thread's step and no two steps race."""
    touched: dict[Hashable, int] = {}  # key -> bit mask of the threads touching it
    written: set[Hashable] = set()
    # Accesses repeat (a cell's accesses share their footprint object): look at each
    # (thread, footprint) once.
    done: set[tuple[int, int]] = set()
    i = 0
    for record in log:
        if type(record) is tuple:
            footprint = record[1].footprint
        elif record.kind is NOTE:
            continue
        else:
            footprint = record.footprint
        tid = choices[i]
        i += 1
        pair = (tid, id(footprint))
        if pair in done:
            continue
        done.add(pair)
        bit = 1 << tid
        for key, is_write in footprint:
            mask = touched.get(key, 0) | bit
            touched[key] = mask
            if is_write:
                written.add(key)
            if mask & (mask - 1) and key in written:
                return True
    return False


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
