"""Work units on a Dask distributed cluster (the optional ``cluster`` extra).

``dask_executor(address)`` gives a ``concurrent.futures.Executor`` backed by a Dask
client, for ``pagerace.explore.parallel.explore_units``: the same units and the same
merging as with worker processes, so the result is the same.  ``address`` is a
scheduler address (``tcp://HOST:8786``) or ``local:N`` for a local cluster of N
single-threaded worker processes.  The only module that imports Dask.

A task's progress (``executors.post_progress``) travels as a Dask worker event on a
topic of the executor's own, to which the client subscribes: ``live()`` lists the
last progress of each task that posted.  So do the files a task keeps
(``executors.keep_file``: a unit's search state), which the client writes.  Dask
cannot stop a running task, so a task that posts progress also looks at a Dask
``Event`` of the executor's as it does, and ends (``WorkerStopped``) once the
executor has been shut down without waiting: a search that stopped early does not
leave its units running on the cluster.  As it posts, it also reads a Dask
``Variable`` of the executor's, the tags of the tasks asked to divide
(``executors.ask_to_divide``): a unit hears the request at its next post.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future, InvalidStateError
from typing import Any

from pagerace.errors import PageraceInputError
from pagerace.explore.executors import (
    WorkerStopped,
    file_sink,
    hear_divide_requests,
    progress_sink,
    write_kept_file,
)
from pagerace.userio import one_line

__all__ = ["check_address", "dask_executor"]


def _posting(
    topic: str, stop: str, asked: str, fn: Callable[..., Any], args: Any, kwargs: Any
) -> Any:
    """On a Dask worker: run ``fn``, its progress posted as events on ``topic``; it
    ends at its next post once the Dask event ``stop`` is set, and hears there the
    tags asked to divide (the Dask variable ``asked``)."""
    from distributed import Event, Variable, get_worker

    worker = get_worker()
    stopped = Event(stop)
    requests = Variable(asked)

    def post(tag: int, count: int, share: float) -> None:
        if stopped.is_set():
            raise WorkerStopped("the executor was stopped")
        worker.log_event(topic, (tag, count, share))
        with contextlib.suppress(TimeoutError):
            hear_divide_requests(requests.get(timeout=1))

    def send(path: str, text: str) -> None:
        worker.log_event(topic, ("file", path, text))

    with progress_sink(post), file_sink(send):
        return fn(*args, **kwargs)


class _CancelledQuietly(logging.Filter):
    """Drops the event loop's tracebacks about futures cancelled because a search
    ended early (a time limit, a finding, Ctrl-C): Dask then tries to hand a result
    to a future that was cancelled, reports the cancellation itself, or (the client
    closing) cannot fetch a result nobody wants any more.  A failure that matters
    reaches the search through the futures it waits for."""

    def __init__(self, closed: type[BaseException]) -> None:
        super().__init__()
        self.closed = closed

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, InvalidStateError):
            return not str(exc).startswith("CANCELLED")
        return not isinstance(exc, (CancelledError, self.closed))


class _ClusterExecutor(Executor):
    """Dask's executor, with the progress its tasks post."""

    def __init__(self, client: Any, inner: Any, stop: Any, asked: Any) -> None:
        self._client = client
        self._inner = inner
        self._stop = stop  # (a ``distributed.Event``)
        self._asked = asked  # (a ``distributed.Variable``: the tags asked to divide)
        self._asking: list[int] = []
        asked.set([])
        self._topic = f"pagerace-progress-{uuid.uuid4().hex}"
        self._posted: dict[int, tuple[int, float]] = {}
        #: how many tasks the cluster runs at once (a caller that keeps its own
        #: number of tasks in flight reads it)
        self.slots = max(1, sum(client.nthreads().values()))
        client.subscribe_topic(self._topic, self._event)

    def _event(self, event: Any) -> None:
        # (in the client's event loop: ``(time, message)``)
        message = event[1]
        if message[0] == "file":  # a file a task keeps (``keep_file``), written here
            _, path, text = message
            with contextlib.suppress(OSError, PageraceInputError):  # (it keeps no file)
                write_kept_file(path, text)
            return
        tag, count, share = message
        self._posted[int(tag)] = (int(count), float(share))

    def live(self) -> list[tuple[int, int, float]]:
        return [(tag, count, share) for tag, (count, share) in list(self._posted.items())]

    def divide(self, tag: int) -> bool:
        """Ask the task posting under ``tag`` to divide (it hears it at its next
        post); False if it has not posted."""
        if tag not in self._posted:
            return False
        self._asking = [*self._asking[-(ASKED_KEPT - 1) :], tag]
        self._asked.set(self._asking)
        return True

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = self._inner.submit(
            _posting, self._topic, self._stop.name, self._asked.name, fn, args, kwargs
        )
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # (not waiting cancels what is queued, and stops what runs at its next post,
        # as cancel_futures asks)
        if not wait:
            with contextlib.suppress(Exception):  # (the client may be gone already)
                self._stop.set()
        self._inner.shutdown(wait=wait)
        with contextlib.suppress(Exception):
            self._client.unsubscribe_topic(self._topic)


#: The tags asked to divide that the cluster's variable keeps (the latest).
ASKED_KEPT = 64

#: The most workers of a ``local:N`` cluster (as many as ``--jobs`` may ask for).
MAX_LOCAL_WORKERS = 4096


def check_address(address: str) -> int | None:
    """The number of workers of ``local:N``, None for a scheduler address
    (``SCHEME://HOST:PORT``); ``PageraceInputError`` for anything else."""
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not (count.isascii() and count.isdigit() and 1 <= int(count) <= MAX_LOCAL_WORKERS):
            raise PageraceInputError(
                f"--dask: local:N needs a number of workers from 1 to {MAX_LOCAL_WORKERS:,};"
                f" got {address!r}"
            )
        return int(count)
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not (
        sep
        and scheme.isascii()
        and scheme.isalpha()
        and host
        and colon
        and port.isascii()
        and port.isdigit()
        and 1 <= int(port) <= 65535
    ):
        raise PageraceInputError(
            f"--dask: expected SCHEME://HOST:PORT (tcp://HOST:8786) or local:N; got {address!r}"
        )
    return None


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """A Dask-backed executor for the duration of the ``with`` block."""
    workers = check_address(address)
    try:
        from distributed import Client, Event, LocalCluster, Variable
        from distributed.comm import CommClosedError
    except ImportError:
        raise PageraceInputError(
            "--dask: Dask is not installed (pip install 'pagerace[cluster]')"
        ) from None
    cluster = None
    if workers is not None:
        # (its workers' warnings as it stops -- a unit cancelled, a worker still
        # running it killed -- are about stopping it early, which is what was asked)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        target: object = cluster
    else:
        target = address
    try:
        client = Client(target, timeout=30)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        # (ValueError, TypeError: Dask's own checks of the address and its settings)
        if cluster is not None:
            cluster.close()
        raise PageraceInputError(
            f"--dask: cannot reach the scheduler at {one_line(address)}: {one_line(str(exc))}"
        ) from None
    quiet = _CancelledQuietly(CommClosedError)
    loop_log = logging.getLogger("tornado.application")
    loop_log.addFilter(quiet)
    try:
        run = uuid.uuid4().hex
        stop = Event(f"pagerace-stop-{run}", client=client)
        asked = Variable(f"pagerace-divide-{run}", client=client)
        executor = _ClusterExecutor(client, client.get_executor(pure=False), stop, asked)
        try:
            yield executor
        finally:
            # (what still runs is not wanted: units handed out ahead, or a search
            # that stopped early; waiting for them kept a Ctrl-C waiting for seconds)
            executor.shutdown(wait=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        loop_log.removeFilter(quiet)
