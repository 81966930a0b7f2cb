"""Where a depth-first search (``dpor``, ``dfs``) stands between two executions.

A ``SearchState`` holds the frontier of the current path (plain data, see
``frontier.py``), the counters of the executions run so far and their findings.  An
``explore`` call with ``on_state`` observers hands them one about every
``PROGRESS_SECONDS``, taken after an execution ended and before the next one began;
``explore(..., resume=state)`` goes on from there and ends exactly as the search that
was never stopped would have: the next execution is the branch ``next_branch`` picks
from the same nodes, and the strategy rebuilds what else it knows (DPOR's clocks,
footprints, sleep sets) by running it, the program being deterministic.

``to_data``/``from_data`` turn a state into JSON-ready data and back.  A finding is
kept as its kind, message, key (its ``repr``) and schedule, and rebuilt -- trace and
all -- by replaying the schedule (``parallel.finding_from_data``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pagerace.errors import PageraceInputError
from pagerace.explore.results import Finding
from pagerace.explore.schedule import MAX_THREADS

__all__ = ["SearchState", "above_data", "above_from_data", "finding_data", "nodes_from_data"]


@dataclass
class SearchState:
    """A depth-first search between two executions (see the module docstring)."""

    nodes: list[list[Any]]  # ``Frontier.to_data()``: the current path
    finished: int  # ``Frontier.finished``
    sizes: list[list[int]]  # ``Frontier.sizes`` (for the share-done estimate)
    executions: int
    events: int
    cut_executions: int
    max_depth: int
    deadlocks: int
    bound_cut: bool  # the preemption bound has excluded a choice
    findings: list[Finding]
    #: what the search noted for the prefix's nodes (``explore``'s ``above``)
    above: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "finished": self.finished,
            "sizes": self.sizes,
            "executions": self.executions,
            "events": self.events,
            "cut": self.cut_executions,
            "max_depth": self.max_depth,
            "deadlocks": self.deadlocks,
            "bound_cut": self.bound_cut,
            "findings": [finding_data(f) for f in self.findings],
            "above": above_data(self.above),
        }

    @classmethod
    def from_data(cls, data: Any, rebuild: Callable[[Any], Finding], where: str) -> SearchState:
        """The state ``to_data`` gave; ``rebuild`` makes a finding of its data
        (``parallel.finding_from_data``); ``PageraceInputError`` naming ``where`` when the
        data is not a state's."""
        try:
            nodes = [_node(item) for item in data["nodes"]]
            sizes = [[int(v) for v in entry] for entry in data["sizes"]]
            finished = int(data["finished"])
            counts = [
                int(data[k]) for k in ("executions", "events", "cut", "max_depth", "deadlocks")
            ]
            bound_cut = data["bound_cut"]
            findings = data["findings"]
            if not isinstance(bound_cut, bool) or not isinstance(findings, list):
                raise TypeError
            above = above_from_data(data["above"])
        except (KeyError, TypeError, ValueError):
            raise PageraceInputError(f"{where}: a damaged search state") from None
        if finished < 0 or any(n < 0 for n in counts):
            raise PageraceInputError(f"{where}: a damaged search state (negative counts)")
        executions, events, cut, max_depth, deadlocks = counts
        findings = [rebuild(f) for f in findings]
        return cls(
            nodes,
            finished,
            sizes,
            executions,
            events,
            cut,
            max_depth,
            deadlocks,
            bound_cut,
            findings,
            above,
        )


def nodes_from_data(data: Any) -> list[list[Any]]:
    """Frontier points ``[enabled, chosen, backtrack, done, sleep]`` from their data,
    checked (``ValueError`` or ``TypeError`` otherwise)."""
    if not isinstance(data, list):
        raise TypeError
    return [_node(item) for item in data]


def _node(item: Any) -> list[Any]:
    """A node's data ``[enabled, chosen, backtrack, done, sleep]``, checked: thread
    numbers, the chosen one among the enabled ones."""
    enabled, chosen, backtrack, done, sleep = item
    threads = [_thread(t) for t in enabled]
    if _thread(chosen) not in threads:
        raise ValueError
    return [threads, chosen, *([_thread(t) for t in part] for part in (backtrack, done, sleep))]


def above_data(notes: Iterable[tuple[tuple[int, ...], tuple[int, ...]]]) -> list[list[list[int]]]:
    """``explore``'s ``above`` notes as data (``[[walk], [initials]]`` each)."""
    return [[list(walk), list(initials)] for walk, initials in notes]


def above_from_data(data: Any) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``explore``'s ``above`` notes from their data (``[[walk], [initials]]`` each),
    checked: depths and thread numbers; ``ValueError`` or ``TypeError`` otherwise."""
    out = []
    for walk, initials in data:
        depths = tuple(_depth(j) for j in walk)
        out.append((depths, tuple(_thread(t) for t in initials)))
    return out


def _depth(j: Any) -> int:
    if type(j) is not int or j < 0:
        raise ValueError
    return j


def _thread(t: Any) -> int:
    if type(t) is not int or not 0 <= t < MAX_THREADS:
        raise ValueError
    return t


def finding_data(f: Finding) -> dict[str, Any]:
    """A finding as data: what identifies it, and the schedule that replays it."""
    return {"kind": f.kind, "message": f.message, "key": repr(f.key), "schedule": f.schedule}
