"""Observers: the only way information leaves the explorer while it runs.

An observer is any object that implements some of these methods; missing ones are
skipped at no cost (they are looked up once per ``explore`` call):

* ``on_start(info: ExploreInfo)`` -- once, before the first execution (the options);
* ``on_execution(record: ExecutionRecord)`` -- after every execution that was not
  abandoned as redundant, with its schedule and trace (costs a schedule string per
  execution; define it only when needed, e.g. for a JSON writer or tests);
* ``on_execution_end(execution_index: int, stats_so_far: Stats)`` -- after every
  execution; called every time, so keep it cheap (a progress bar should redraw once per
  batch, e.g. ``if execution_index % 1000 == 0``); building ``stats_so_far`` costs
  about a microsecond and happens only when some observer defines this method;
* ``on_finding(finding: Finding)`` -- for each new distinct finding;
* ``on_progress(progress: Progress)`` -- about every ``PROGRESS_SECONDS`` (checked
  every 16 executions): the counters, the bound being explored, the frontier's size
  and an estimate of the share done (``pagerace.explore.progress``);
* ``on_state(state: SearchState)`` -- at the moments of ``on_progress``, in a search
  below a prefix (a work unit): where the search stands, to go on from it later
  (``explore(..., resume=state)``, see ``pagerace.explore.searchstate``); not when
  counting traces;
* ``on_end(result: Result)`` -- once, with the result (also when interrupted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pagerace.explore.events import TraceEvent
from pagerace.explore.options import ExploreOptions

__all__ = ["ExecutionRecord", "ExploreInfo", "Observers"]


@dataclass(frozen=True, slots=True)
class ExploreInfo:
    """What ``on_start`` hears: the exploration's ``options`` and the execution budget
    in force (``max_executions``: the options' own, or the default of the sampling
    strategies).  The options' fields read through (``info.strategy``, ...)."""

    options: ExploreOptions
    max_executions: int | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "options":  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.options, name)


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One execution, given to ``on_execution``; ``outcome`` is ``"done"``,
    ``"deadlock"`` or ``"failed"``."""

    index: int
    schedule: str
    outcome: str
    trace: tuple[TraceEvent, ...]
    preemptions: int


class Observers:
    """The bound hook methods of a list of observers, resolved once."""

    __slots__ = (
        "on_end",
        "on_execution",
        "on_execution_end",
        "on_finding",
        "on_progress",
        "on_start",
        "on_state",
    )

    def __init__(self, observers: list[Any] | tuple[Any, ...]) -> None:
        def hooks(name: str) -> list[Any]:
            return [getattr(o, name) for o in observers if callable(getattr(o, name, None))]

        self.on_start = hooks("on_start")
        self.on_execution = hooks("on_execution")
        self.on_execution_end = hooks("on_execution_end")
        self.on_finding = hooks("on_finding")
        self.on_progress = hooks("on_progress")
        self.on_state = hooks("on_state")
        self.on_end = hooks("on_end")
