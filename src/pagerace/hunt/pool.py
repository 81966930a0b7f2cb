"""Where a hunt's tasks run: a ``concurrent.futures`` executor behind one function.

``make_executor(jobs)`` gives a process pool of ``jobs`` workers, or, for one job,
an executor that runs each task at once in this process (no start-up cost, and
what a test patches in this process is what the task sees).  Tasks are top-level
functions whose arguments and results are plain data.  Workers ignore Ctrl-C:
the hunt that owns them decides what an interrupt means.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["InlineExecutor", "make_executor", "stop_executor"]

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each task when it is submitted, in the calling process."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_executor(jobs: int) -> Executor:
    """An executor for ``jobs`` parallel tasks (1: in this process)."""
    if jobs <= 1:
        return InlineExecutor()
    return ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
    )


def stop_executor(executor: Executor) -> None:
    """Stop at once: drop queued tasks and end the workers of a process pool
    (a running task's result is not wanted any more)."""
    executor.shutdown(wait=False, cancel_futures=True)
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=5)
