"""The process pool's stop: a running task ends cleanly, the workers leave by
themselves (a worker killed while it sends a result would leave the pool's thread
waiting for the rest of it, and the interpreter's exit with it)."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import Future
from typing import Any

import pytest

from pagerace.explore.executors import (
    WorkerStopped,
    process_executor,
    stop_executor,
    wait_first,
)


def _left_cleanly(worker: Any) -> bool:
    """Exit status 0: it left on the pool's end marker, not killed by a signal.  (The
    status is None when the pool's own thread reaped the process first: then it
    must be gone.)"""
    if worker.exitcode is not None:
        return bool(worker.exitcode == 0)
    try:
        os.kill(worker.pid, 0)
    except ProcessLookupError:
        return True
    return False


def _spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def test_stopping_a_pool_ends_its_running_tasks_and_the_workers_leave_cleanly() -> None:
    pool = process_executor(2)
    running = [pool.submit(_spin, 120) for _ in range(2)]
    queued = pool.submit(_spin, 120)
    deadline = time.monotonic() + 30
    while not all(f.running() for f in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = list(pool._processes.values())  # type: ignore[attr-defined]
    start = time.monotonic()
    stop_executor(pool)
    assert time.monotonic() - start < 10
    assert all(_left_cleanly(w) for w in workers), [w.exitcode for w in workers]
    for f in running:
        assert isinstance(f.exception(timeout=10), WorkerStopped)
    assert queued.cancelled() or isinstance(queued.exception(timeout=10), WorkerStopped)


def test_a_pool_stopped_before_its_workers_are_ready_still_ends_them_cleanly() -> None:
    # (a worker forked just before the stop has not set its SIGTERM handler yet: the
    # signal waits for it instead of killing the worker)
    for _ in range(10):
        pool = process_executor(2)
        task = pool.submit(time.sleep, 30)
        workers = list(pool._processes.values())  # type: ignore[attr-defined]
        stop_executor(pool)
        assert all(_left_cleanly(w) for w in workers), [w.exitcode for w in workers]
        assert task.cancelled() or isinstance(task.exception(timeout=10), WorkerStopped)


def test_ctrl_c_waits_until_the_wait_for_futures_is_over() -> None:
    """An interrupt inside ``concurrent.futures.wait`` can leave futures locked for
    ever (the pool's shutdown then hangs): ``wait_first`` raises it once the wait
    returned, with every future's lock free."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    never: Future[Any] = Future()
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        wait_first([never], 0.4)
    timer.join()
    assert time.perf_counter() - start >= 0.4  # (not raised inside the wait)
    assert never._condition.acquire(blocking=False)
    never._condition.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
