"""Frozen results of an exploration: ``Status``, ``Finding``, ``Stats``, ``Coverage``,
``Result``."""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pagerace.explore.events import TraceEvent

__all__ = ["STOP_REASONS", "BoundCoverage", "Coverage", "Finding", "Result", "Stats", "Status"]


class Status(enum.StrEnum):
    """``clean``: the search space within the bounds was explored completely and
    nothing was found; ``found``: at least one finding; ``incomplete``: a budget
    stopped the search, or the strategy (random, pct) cannot prove completeness."""

    CLEAN = "clean"
    FOUND = "found"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found in one execution, with the schedule that replays it.

    ``key`` is its identity: ``keep_going`` lists each key once.  Findings of the same
    execution (recorded by ``ctx.report`` as it went on, and the one that ended it)
    share its ``schedule`` and ``trace``; ``at`` is the length of the trace when a
    reported finding was made (None when the finding ended the execution).  The
    default key is
    ``(kind, label)`` where ``label`` is the label of the last event performed by the
    thread where it happened (``"check"`` for the check function; for deadlocks the
    labels of the blocked events; exceptions add the exception type; ``ctx.check``
    adds the message).
    """

    kind: str
    message: str
    schedule: str
    preemptions: int
    trace: tuple[TraceEvent, ...]
    key: Hashable
    thread: int | None = None
    detail: dict[str, Any] | None = None
    at: int | None = None

    def replay_hint(self) -> str:
        """The call that replays this finding."""
        return f'explore(program, strategy="replay", schedule="{self.schedule}")'


class Stats(NamedTuple):
    """Counters of one exploration (immutable; a named tuple because it is built after
    every execution for progress observers, ~0.2 us against ~1.8 us for a frozen
    dataclass).

    ``cut_executions`` are executions abandoned as redundant (sleep-set blocked, DPOR);
    ``bound_cut`` tells whether the preemption bound excluded any choice (so ``clean``
    holds only within the bound); ``preemption_bound`` is the bound in force at the end
    (the last K of iterative bounding); ``traces`` is set with ``count_traces=True``.
    """

    executions: int
    events: int
    cut_executions: int
    seconds: float
    executions_per_second: float
    max_depth: int
    bound_cut: bool
    preemption_bound: int | None
    traces: int | None
    findings: int
    deadlocks: int = 0
    #: a search split into work units: how many units ran, how many were left (the
    #: frontier) and the estimated executions still to run at the last bound
    units: int | None = None
    units_left: int | None = None
    remaining_estimate: int | None = None
    #: a resumed split search: the executions counted from its checkpoint (units done
    #: and the search states of units that went on), not run by it
    resumed_executions: int | None = None


class BoundCoverage(NamedTuple):
    """One preemption bound of iterative bounding: its executions, the findings first
    seen in it, and whether it was explored completely."""

    bound: int
    executions: int
    new_findings: int
    complete: bool


#: Why a search ended (``Coverage.stopped_by``).
STOP_REASONS = {
    "complete": "the search space within the bounds was explored completely",
    "finding": "stopped at the first finding",
    "stop rule": "stopped once the stop rule held",
    "nothing new": "stopped widening the bound: the last bound found nothing new",
    "max_executions": "cut by the execution limit",
    "time_limit": "cut by the time limit",
    "sampled": "a sampling strategy never covers the space",
    "interrupted": "interrupted",
    "paused": "paused to hand out what was left (a unit of a split search)",
}


class Coverage(NamedTuple):
    """What a search covered: why it ended (``stopped_by``, a key of
    ``STOP_REASONS``), whether the space within the bounds was explored completely,
    and under iterative bounding each bound explored (``bounds``, lowest first)."""

    stopped_by: str
    complete: bool
    bounds: tuple[BoundCoverage, ...] = ()


class Result(NamedTuple):
    """What ``explore`` returns (immutable)."""

    status: Status
    executions: int
    traces: int | None
    findings: tuple[Finding, ...]
    stats: Stats
    strategy: str = "dpor"
    coverage: Coverage = Coverage("complete", True)
