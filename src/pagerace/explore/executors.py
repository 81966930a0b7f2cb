"""Where tasks run: one ``concurrent.futures`` executor for every parallel command.

``open_executor(jobs, dask)`` is the one factory: ``jobs`` worker processes, a Dask
cluster (``dask``: ``tcp://HOST:8786`` or ``local:N``, ``pagerace.explore.cluster``),
or, for one job, an ``InlineExecutor`` that runs each task in this process (no
start-up cost, and what a test patches in this process is what the task sees).
Split searches (``pagerace.explore.parallel``), hunts (``pagerace.hunt``) and the
commands that run several scenarios use it, so a task is written once for all.

Worker processes are forked where the system can (the parent's imports and caches
come along: no re-import, no second preparation of a scenario), ignore Ctrl-C (the
process that owns them decides what an interrupt means) and end when their parent
dies, even by SIGKILL (Linux).  Tasks are top-level functions whose arguments and
results are plain data.

A long task can say how far it is while it runs (``post_progress``): a worker process
writes to its slot of a shared array that the pool's owner reads
(``live_progress(executor)``, which asks the executor's ``live()``); a task run in
this process, or on a Dask worker (``pagerace.explore.cluster``), hands it to the
callback that ``progress_sink`` installs.  The same slot carries a request back:
``ask_to_divide(executor, tag)`` asks the task posting under ``tag`` to hand out
what is left of its work (``divide_asked``, which the task reads between two steps
of its own).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any, TypeVar

from pagerace.userio import write_atomic

__all__ = [
    "InlineExecutor",
    "WorkerStopped",
    "ask_to_divide",
    "default_jobs",
    "divide_asked",
    "file_sink",
    "hear_divide_requests",
    "keep_file",
    "live_progress",
    "name_task",
    "open_executor",
    "post_progress",
    "process_executor",
    "progress_sink",
    "stop_executor",
    "wait_first",
]

T = TypeVar("T")


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _LazyFuture(Future):
    """Runs its task in the calling process when its result is first asked for."""

    def __init__(self, task: Callable[[], Any]) -> None:
        super().__init__()
        self._task: Callable[[], Any] | None = task

    def result(self, timeout: float | None = None) -> Any:
        task, self._task = self._task, None
        if task is not None and self.set_running_or_notify_cancel():
            try:
                self.set_result(task())
            except Exception as exc:  # handed to whoever reads the result
                self.set_exception(exc)
        return super().result(timeout)


class InlineExecutor(Executor):
    """Runs each task in this process.  ``lazy`` (the default): when its result is
    first asked for, so that tasks after the point where a search stops never run
    (``concurrent.futures.wait`` does not run them: read results in order);
    ``lazy=False``: at once, when it is submitted."""

    def __init__(self, lazy: bool = True) -> None:
        self.lazy = lazy

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self.lazy:
            return _LazyFuture(lambda: fn(*args, **kwargs))
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def wait_first(
    futures: Collection[Future[Any]], timeout: float
) -> tuple[set[Future[Any]], set[Future[Any]]]:
    """``concurrent.futures.wait(futures, timeout, FIRST_COMPLETED)``, with Ctrl-C
    held off until it returns (in the main thread; then raised as it came).

    ``wait`` takes the lock of every future one after another before it looks at
    them; an interrupt between two leaves the first ones locked for ever, and the
    pool's shutdown, which cancels the futures, then waits for their locks: the
    process hangs at exit instead of ending with status 130."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is None  # (a handler set outside Python)
    ):
        return wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        return wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(signal.SIGINT)  # (to the handler it would have met)


class WorkerStopped(Exception):
    """In a worker process: its owner stopped the pool (``stop_executor``) while it
    ran a task, or before it began one."""


_MASKS = hasattr(signal, "pthread_sigmask")  # signal masks (not on Windows)
_in_task = False  # (worker processes) a task is running: SIGTERM may stop it
_stopped = False  # (worker processes) SIGTERM came: no task starts any more


def _stop_task(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: end the running task with ``WorkerStopped``, which the
    pool sends back as the task's result like any exception.  Outside a task (the
    worker is sending a result or waiting for a task) nothing is interrupted: a
    result cut off half-way through the pipe would block the owner's pool for
    ever."""
    global _stopped
    _stopped = True
    if _in_task:
        raise WorkerStopped("the executor was stopped")


def _run_task(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    global _in_task
    if _stopped:
        raise WorkerStopped("the executor was stopped")
    _in_task = True
    try:
        return fn(*args, **kwargs)
    finally:
        _in_task = False


# -- live progress of running tasks -------------------------------------------------

#: Numbers per slot of the shared array: the task's tag (0: idle), its count, its share,
#: and the tag of the task asked to divide (``ask_to_divide``; 0: none).
_SLOT = 4
#: (worker processes) the shared array and this worker's slot in it
_board: tuple[Any, int] | None = None
#: (this process) where tasks run here post their progress
_sink: Callable[[int, int, float], None] | None = None


def post_progress(tag: int, count: int, share: float) -> None:
    """Called by a running task: it (``tag`` != 0, chosen by the task's owner) has
    done ``count`` things so far, an estimated ``share`` (0..1) of its work."""
    if _board is not None:
        array, k = _board
        base = k * _SLOT
        array[base + 1] = count
        array[base + 2] = share
        array[base] = tag  # (last: a reader that sees the tag sees numbers of it)
    elif _sink is not None:
        _sink(tag, count, share)


def clear_progress() -> None:
    """Called by a task as it ends: its slot is idle again."""
    if _board is not None:
        array, k = _board
        array[k * _SLOT] = 0
        array[k * _SLOT + 3] = 0


def name_task(tag: int) -> None:
    """Called by a task as it starts: a worker process's slot names it (nothing posted
    yet), so that its owner can ask it to divide from the start."""
    if _board is not None:
        array, k = _board
        base = k * _SLOT
        array[base + 1] = 0
        array[base + 2] = 0.0
        array[base + 3] = 0
        array[base] = tag


#: (this process) the tags of the tasks asked to divide, as a cluster's tasks hear them
_asked: frozenset[int] = frozenset()


def hear_divide_requests(tags: Collection[int]) -> None:
    """Called where a cluster's tasks post their progress: the tags of the tasks that
    their owner has asked to divide (``divide_asked``)."""
    global _asked
    _asked = frozenset(tags)


def divide_asked(tag: int) -> bool:
    """Called by a running task that posts under ``tag``: its owner has asked it to
    hand out what is left of its work (``ask_to_divide``)."""
    if _board is None:
        return tag in _asked
    array, k = _board
    return array[k * _SLOT + 3] == tag


def ask_to_divide(executor: Executor, tag: int) -> bool:
    """Ask the task of ``executor`` that posts under ``tag`` to divide (see
    ``divide_asked``); False when none of its workers runs it now, or the executor's
    workers cannot be asked."""
    divide = getattr(executor, "divide", None)
    return bool(divide(tag)) if callable(divide) else False


def _board_divide(array: Any, tag: int) -> bool:
    """Put the request to divide in the slot of the task posting under ``tag``."""
    for base in range(0, len(array), _SLOT):
        if array[base] == tag:
            array[base + 3] = tag
            return True
    return False


@contextlib.contextmanager
def progress_sink(callback: Callable[[int, int, float], None]) -> Iterator[None]:
    """Tasks run in this process (an ``InlineExecutor``) within the block post their
    progress to ``callback(tag, count, share)``."""
    global _sink
    previous, _sink = _sink, callback
    try:
        yield
    finally:
        _sink = previous


# -- files that running tasks keep ----------------------------------------------------

#: (this process) where tasks run here send the files they keep (None: written here)
_file_sink: Callable[[str, str], None] | None = None


def keep_file(path: str, text: str) -> None:
    """Called by a running task: replace the file ``path`` of its owner's machine with
    ``text``, atomically -- while its owner keeps the file's directory (a task still
    running once its owner is done with it writes nothing).  A task on a cluster
    sends it to its owner, which writes it (``file_sink``)."""
    if _file_sink is not None:
        _file_sink(path, text)
    else:
        write_kept_file(path, text)


def write_kept_file(path: str, text: str) -> None:
    """Write a file that a task keeps (see ``keep_file``)."""
    if os.path.isdir(os.path.dirname(path) or "."):
        write_atomic(path, text)


@contextlib.contextmanager
def file_sink(callback: Callable[[str, str], None]) -> Iterator[None]:
    """Tasks run in this process within the block send the files they keep to
    ``callback(path, text)``."""
    global _file_sink
    previous, _file_sink = _file_sink, callback
    try:
        yield
    finally:
        _file_sink = previous


def live_progress(executor: Executor) -> list[tuple[int, int, float]]:
    """``(tag, count, share)`` of each task that a worker of ``executor`` runs now and
    has posted progress for (none for executors whose workers do not post; a Dask
    executor may also list tasks that have ended)."""
    live = getattr(executor, "live", None)
    return live() if callable(live) else []


def _board_entries(array: Any) -> list[tuple[int, int, float]]:
    """The busy slots of a process pool's shared array."""
    out = []
    for base in range(0, len(array), _SLOT):
        tag, count, share = array[base : base + 3]
        if tag:
            out.append((int(tag), int(count), share))
    return out


def _worker_start(board: Any = None, slots: Any = None) -> None:
    """In a worker process: ignore Ctrl-C, stop the running task on SIGTERM (see
    ``stop_executor``), leave the parent's objects to the collector of the parent,
    and end when the parent dies (Linux) instead of waiting
    forever for tasks that will not come; take a slot of ``board`` (progress)."""
    global _board
    if board is not None and slots is not None:
        with slots.get_lock():
            k = slots.value
            slots.value = k + 1
        _board = (board, k) if (k + 1) * _SLOT <= len(board) else None
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_task)
    if _MASKS:
        # (forked with SIGTERM blocked, see ``WorkerPool``: one that came meanwhile
        # arrives now, to the handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    # The objects inherited from the parent (a forked worker) out of the collector's
    # reach: otherwise every collection walks them all, writing to their pages, which
    # the kernel then copies -- it made each unit half as slow again as in one process.
    gc.freeze()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker lingers until it is fed
        pass


def process_executor(jobs: int, *, lazy: bool = True) -> Executor:
    """``jobs`` worker processes, or for one job an ``InlineExecutor(lazy)``."""
    if jobs <= 1:
        return InlineExecutor(lazy)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    class WorkerPool(ProcessPoolExecutor):
        """A process pool whose tasks ``stop_executor`` can stop cleanly."""

        #: the progress its workers' tasks have posted (``live_progress``)
        live: Callable[[], list[tuple[int, int, float]]] | None = None
        #: ask a task to divide (``ask_to_divide``)
        divide: Callable[[int], bool] | None = None

        def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
            # The workers are forked here, on demand: with SIGTERM blocked, so that a
            # stop before a worker has set its handler is not its death (the default
            # action) but waits for the handler (``_worker_start``).
            if not _MASKS:  # (Windows: workers are spawned, not forked)
                return super().submit(_run_task, fn, args, kwargs)
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:
                return super().submit(_run_task, fn, args, kwargs)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    # (a slot per worker; written without a lock: a progress figure may be a moment old)
    board = context.RawArray("d", _SLOT * jobs)
    slots = context.Value("i", 0)
    pool = WorkerPool(
        max_workers=jobs, mp_context=context, initializer=_worker_start, initargs=(board, slots)
    )
    pool.live = functools.partial(_board_entries, board)
    pool.divide = functools.partial(_board_divide, board)
    return pool


def stop_executor(executor: Executor) -> None:
    """Stop at once: drop queued tasks and end the workers of a process pool (a
    running task's result is not wanted any more).

    Workers are asked with SIGTERM, which ends a running task with an exception that
    travels back as its result (``_stop_task``); they then leave when the pool's
    shutdown sends them its end marker.  Killing a worker outright could cut a
    result off in the middle of the pipe and leave the pool's thread, which the
    interpreter joins on exit, waiting for the rest for ever.  One that has not left
    after a while is killed all the same."""
    processes = dict(getattr(executor, "_processes", None) or {})  # (shutdown forgets them)
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # an executor without cancel_futures (Dask's)
        executor.shutdown(wait=False)
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


@contextlib.contextmanager
def open_executor(
    jobs: int | None = None, dask: str | None = None, *, lazy: bool = True
) -> Iterator[Executor]:
    """The executor for a command's ``--jobs`` (None: every core) and ``--dask``, for
    the duration of the ``with`` block; on leaving it (normally or not) queued tasks
    are dropped and the workers end."""
    if dask is not None:
        from pagerace.explore.cluster import dask_executor

        with dask_executor(dask) as executor:
            yield executor
        return
    executor = process_executor(default_jobs() if jobs is None else jobs, lazy=lazy)
    try:
        yield executor
    finally:
        stop_executor(executor)
