"""The ``Strategy`` protocol shared by all strategies and their wrappers.

An exploration is a loop: ``chooser = strategy.begin()`` (None: nothing left to run),
one execution in which the runtime calls ``chooser(enabled, pending, current,
preemptions)`` at every scheduling point, then ``strategy.end(execution)``.  The chooser
sees each enabled thread's pending event with its footprint (``pending[t].footprint``)
and returns the thread to run, or ``CUT`` to abandon the execution as redundant.
Returning a callable per execution lets wrappers that do not filter choices (budgets)
hand the inner chooser to the runtime and cost nothing per step.
"""

from __future__ import annotations

from typing import Protocol

from pagerace.explore.execution import CUT, Chooser, Execution

__all__ = ["CUT", "Chooser", "Strategy"]


class Strategy(Protocol):
    """A search strategy (see the module docstring)."""

    #: True when running out of executions means the space was covered completely.
    complete: bool
    #: True when the strategy reads the execution's ``log`` (cell accesses recorded).
    records: bool

    def begin(self) -> Chooser | None:
        """Prepare the next execution; its chooser, or None when nothing is left."""
        ...

    def end(self, execution: Execution) -> None:
        """Learn from the finished execution (its ``steps``, ``outcome``, ...).

        May raise ``PageraceInputError`` (e.g. a schedule that does not fit)."""
        ...
