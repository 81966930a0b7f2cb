"""Work units on a Dask distributed cluster (the optional ``cluster`` extra).

``dask_executor(address)`` gives a ``concurrent.futures.Executor`` backed by a Dask
client, for ``pagerace.explore.parallel.explore_units``: the same units and the same
merging as with worker processes, so the result is the same.  ``address`` is a
scheduler address (``tcp://HOST:8786``) or ``local:N`` for a local cluster of N
single-threaded worker processes.  The only module that imports Dask.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor

from pagerace.errors import PageraceInputError

__all__ = ["dask_executor"]


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """A Dask-backed executor for the duration of the ``with`` block."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise PageraceInputError(
            "--dask: Dask is not installed (pip install 'pagerace[cluster]')"
        ) from None
    cluster = None
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise PageraceInputError(
                f"--dask: local:N needs a number of workers >= 1; got {address!r}"
            )
        cluster = LocalCluster(
            n_workers=int(count), threads_per_worker=1, processes=True, dashboard_address=None
        )
        target: object = cluster
    elif "://" in address:
        target = address
    else:
        raise PageraceInputError(f"--dask: expected tcp://HOST:PORT or local:N; got {address!r}")
    try:
        client = Client(target, timeout=30)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise PageraceInputError(
            f"--dask: cannot reach the scheduler at {address}: {exc}"
        ) from None
    try:
        with client.get_executor(pure=False) as executor:
            # how many tasks the cluster runs at once (a caller that keeps its own
            # number of tasks in flight reads it)
            executor.slots = max(1, sum(client.nthreads().values()))
            yield executor
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
