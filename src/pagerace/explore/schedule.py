"""Schedules: the sequence of threads chosen at each scheduling point of one execution.

The one string form is ``"v1:"`` followed by runs separated by ``"."``; a run is a
thread id (one digit, 0..7) optionally followed by ``x`` and a repeat count.  Example:
threads 0, 0, 0, 1, 1, 0 are ``"v1:0x3.1x2.0"``; the empty schedule is ``"v1:"``.
``str`` writes a count only when it is 2 or more and never two runs of one thread in a
row; ``parse`` also takes the other spellings (``0x1``, ``0.0``), so that a schedule
edited by hand need not be canonical.  ``Schedule.parse(str(s)) == s`` for every
schedule ``s``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pagerace.errors import PageraceInputError

__all__ = ["MAX_STEPS", "MAX_THREADS", "SCHEDULE_VERSION", "Schedule"]

MAX_THREADS = 8
#: The longest schedule accepted (one scheduling point per event of an execution).
MAX_STEPS = 10_000_000
SCHEDULE_VERSION = "v1"
_RUN = re.compile(r"([0-7])(?:x([1-9][0-9]{0,7}))?\Z")


def _shown(text: str) -> str:
    """A (part of a) schedule in a message: quoted, escaped, a long one cut."""
    return repr(text) if len(text) <= 60 else f"{text[:60]!r}... ({len(text) - 60:,} more)"


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
        shown = _shown(text)
        version, sep, body = text.strip().partition(":")
        if not sep or version != SCHEDULE_VERSION:
            raise PageraceInputError(
                f"schedule: {shown} must start with {SCHEDULE_VERSION + ':'!r}"
            )
        runs: list[tuple[int, int]] = []
        total = 0
        if body:
            for run in body.split("."):
                match = _RUN.match(run)
                if match is None:
                    raise PageraceInputError(
                        f"schedule: run {_shown(run)} in {shown} is not THREAD or "
                        f"THREADxCOUNT (thread 0..{MAX_THREADS - 1}, count 1..99,999,999)"
                    )
                count = int(match.group(2)) if match.group(2) else 1
                total += count
                if total > MAX_STEPS:
                    raise PageraceInputError(f"schedule: {shown} has more than {MAX_STEPS:,} steps")
                runs.append((int(match.group(1)), count))
        steps: list[int] = []
        for tid, count in runs:
            steps.extend([tid] * count)
        return cls(tuple(steps))
