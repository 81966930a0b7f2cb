"""Schedules: the sequence of threads chosen at each scheduling point of one execution.

The one string form is ``"v1:"`` followed by runs separated by ``"."``; a run is a
thread id (one digit, 0..7) optionally followed by ``x`` and a repeat count of at least
2.  Example: threads 0, 0, 0, 1, 1, 0 are ``"v1:0x3.1x2.0"``; the empty schedule is
``"v1:"``.  ``Schedule.parse(str(s)) == s`` for every schedule ``s``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pagerace.errors import PageraceInputError

__all__ = ["MAX_THREADS", "SCHEDULE_VERSION", "Schedule"]

MAX_THREADS = 8
SCHEDULE_VERSION = "v1"
_RUN = re.compile(r"([0-7])(?:x([1-9][0-9]*))?\Z")


@dataclass(frozen=True, slots=True)
class Schedule:
    """An execution's thread choices; ``str()`` gives the compact versioned form."""

    steps: tuple[int, ...]

    def __post_init__(self) -> None:
        for tid in self.steps:
            if not 0 <= tid < MAX_THREADS:
                raise PageraceInputError(
                    f"schedule: thread id {tid} is outside 0..{MAX_THREADS - 1}"
                )

    @classmethod
    def of(cls, steps: Iterable[int]) -> Schedule:
        return cls(tuple(steps))

    def __str__(self) -> str:
        runs: list[str] = []
        steps = self.steps
        i = 0
        n = len(steps)
        while i < n:
            tid = steps[i]
            j = i + 1
            while j < n and steps[j] == tid:
                j += 1
            count = j - i
            runs.append(f"{tid}x{count}" if count > 1 else str(tid))
            i = j
        return f"{SCHEDULE_VERSION}:" + ".".join(runs)

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Parse the string form; a malformed string raises ``PageraceInputError``."""
        if not isinstance(text, str):
            raise PageraceInputError(f"schedule: must be a string, got {type(text).__name__}")
        version, sep, body = text.strip().partition(":")
        if not sep or version != SCHEDULE_VERSION:
            raise PageraceInputError(
                f"schedule: {text!r} must start with {SCHEDULE_VERSION + ':'!r}"
            )
        steps: list[int] = []
        if body:
            for run in body.split("."):
                match = _RUN.match(run)
                if match is None:
                    raise PageraceInputError(
                        f"schedule: run {run!r} in {text!r} is not THREAD or THREADxCOUNT "
                        f"(thread 0..{MAX_THREADS - 1}, count >= 1)"
                    )
                count = int(match.group(2)) if match.group(2) else 1
                steps.extend([int(match.group(1))] * count)
        return cls(tuple(steps))
