"""The one place for pagerace's error types.

Three families, as in Hypothesis' errors.py:

* ``PageraceInputError`` and subclasses: bad input from a user (a scenario file, a
  vector file, an API argument).  The CLI turns them into one line on stderr and exit
  status 2.
* ``ExecutionSignal`` and subclasses derive from ``BaseException`` so that no
  ``except Exception`` in model code can swallow them: they abort the current
  execution of the explorer (a BUG_ON that fired, an oracle that failed).
* ``InternalError``: a state that should never happen; a bug in pagerace itself.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ExecutionSignal",
    "InternalError",
    "Interrupted",
    "PageraceInputError",
    "ScenarioError",
    "VectorFileError",
    "XenBug",
]


class PageraceInputError(ValueError):
    """Bad input from the user; reported as one line, exit status 2."""


class ScenarioError(PageraceInputError):
    """A scenario file is wrong: names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + reason)


class VectorFileError(PageraceInputError):
    """A conformance vector file is unreadable or malformed."""


class ExecutionSignal(BaseException):
    """Aborts the current execution; never caught by model code."""


class XenBug(ExecutionSignal):
    """A BUG / BUG_ON / ASSERT of the modelled Xen code fired."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        self.message = message
        super().__init__(f"{step}: {message}")


class InternalError(RuntimeError):
    """Should never happen: a bug in pagerace itself."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a search: a ``KeyboardInterrupt`` that carries what the search
    had found so far (``result``: the explorer's ``Result``; ``run``: a scenario run,
    when the runner re-raises it)."""

    def __init__(self, result: Any, run: Any = None) -> None:
        super().__init__("interrupted")
        self.result: Any = result
        self.run: Any = run
