"""A live progress bar on stderr for long explorations (an explorer observer)."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["ProgressObserver"]


class ProgressObserver:
    """Shows executions, executions/s, findings and elapsed time once a run has
    lasted a second, on a terminal only; refreshed a few times a second.  For a search
    split into work units also the bound, the units done and left, and an estimate
    of the executions left at this bound."""

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.next_update = self.start + 1.0
        self.findings = 0
        self.progress: Any = None
        self.task: Any = None

    def on_finding(self, finding: Any) -> None:
        self.findings += 1

    def on_execution_end(self, index: int, stats: Any) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now < self.next_update:
            return
        self.next_update = now + 0.25
        rate = (index + 1) / max(now - self.start, 1e-9)
        self._show(
            f"{index + 1:,} executions  {rate:,.0f}/s  {self.findings} finding"
            f"{'s' if self.findings != 1 else ''}"
        )

    def on_progress(self, p: Any) -> None:
        """A search split into work units: after each unit (see ``UnitProgress``)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now < self.next_update and p.units_done < p.units:
            return
        self.next_update = now + 0.25
        bound = "no bound" if p.bound is None else f"bound {p.bound}"
        self._show(
            f"{p.executions:,} executions  {p.executions_per_second:,.0f}/s  "
            f"{bound}: {p.units_done}/{p.units} units, {p.units_left} left, "
            f"~{p.remaining_estimate:,} executions to go  {p.findings} finding"
            f"{'s' if p.findings != 1 else ''}"
        )

    def _show(self, info: str) -> None:
        if self.progress is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, info="")
        self.progress.update(self.task, info=info)

    def on_end(self, result: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
