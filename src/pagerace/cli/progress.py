"""Progress of a long exploration on stderr (an explorer observer).

On a terminal: a live line, once a run has lasted a second, with the executions, the
rate, the preemption bound being explored, the frontier (branches known and not yet
taken), an estimate of the share of the bound done and the findings so far (a search
split into work units: the bound, the units done and left, an estimate of the
executions left).  When
stderr is not a terminal (a log, CI): the same facts as a plain status line every
``STATUS_SECONDS``, so that a long run is never silent.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["STATUS_SECONDS", "ProgressObserver", "status_text", "units_text"]

#: Seconds between two status lines when stderr is not a terminal.
STATUS_SECONDS = 5.0


def status_text(progress: Any, findings: int, bound_seconds: float) -> str:
    """One status line from an explorer ``Progress`` snapshot."""
    stats = progress.stats
    parts = [f"{stats.executions:,} executions ({stats.executions_per_second:,.0f}/s)"]
    if progress.bound is not None:
        parts.append(f"bound {progress.bound}")
    if progress.frontier is not None:
        parts.append(f"frontier {progress.frontier:,}")
    done = progress.done
    if done is not None:
        share = f"~{done:.0%}" if done >= 0.01 else "<1%"
        estimate = f"{share} of the {'bound' if progress.bound is not None else 'tree'} done"
        if 0.01 <= done < 1 and bound_seconds > 1:
            left = bound_seconds * (1 - done) / done
            estimate += f", ~{_duration(left)} left at this rate (estimate)"
        parts.append(estimate)
    parts.append(f"{findings} finding{'s' if findings != 1 else ''}")
    parts.append(f"{stats.seconds:.0f} s")
    return ", ".join(parts)


def units_text(p: Any, findings: int) -> str:
    """One status line from a split search's ``UnitProgress`` (after each work unit):
    the findings come early, where a narrow terminal does not cut them off."""
    found = f"{p.findings} finding{'s' if p.findings != 1 else ''}"
    head = f"{p.executions:,} executions ({p.executions_per_second:,.0f}/s), {found}"
    to_go = f"{p.remaining_estimate:,} execution{'s' if p.remaining_estimate != 1 else ''} to go"
    if getattr(p, "sampled", False):
        return f"{head}, {p.units_done}/{p.units} samples, {to_go}"
    bound = "no bound" if p.bound is None else f"bound {p.bound}"
    running = getattr(p, "running", 0)
    busy = f" ({running} running)" if running else ""
    return f"{head}, {bound}: {p.units_done}/{p.units} units{busy}, ~{to_go} (estimate)"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


class ProgressObserver:
    """Live progress on a terminal, status lines elsewhere; ``enabled=False`` is
    silent (``--quiet``)."""

    def __init__(
        self, label: str, *, enabled: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = True if enabled is None else enabled
        self.live = self.stream.isatty()
        self.start = time.perf_counter()
        self.next_status = self.start + (1.0 if self.live else STATUS_SECONDS)
        self.findings = 0
        self.bound: int | None = None
        self.bound_start = self.start
        self.progress: Any = None
        self.task: Any = None

    def on_finding(self, finding: Any) -> None:
        self.findings += 1

    def on_progress(self, progress: Any) -> None:
        """A ``Progress`` of the explorer, or a split search's ``UnitProgress``."""
        now = time.perf_counter()
        if progress.bound != self.bound:
            self.bound, self.bound_start = progress.bound, now
        if not self.enabled or now < self.next_status:
            return
        if hasattr(progress, "units"):
            text = units_text(progress, self.findings)
        else:
            text = status_text(progress, self.findings, now - self.bound_start)
        if not self.live:
            self.next_status = now + STATUS_SECONDS
            print(f"pagerace: {self.label}: {text}", file=self.stream, flush=True)
            return
        self.next_status = now
        if self.progress is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, info="")
        self.progress.update(self.task, info=text)

    def on_end(self, result: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
