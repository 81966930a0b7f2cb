"""A bad ``--dask`` address is one line naming it and exit status 2, before any
Dask client or local cluster is made (no traceback from Dask's own parsing, no
thousands of worker processes for a mistyped ``local:N``)."""

from __future__ import annotations

from typing import Any

import pytest

from pagerace.errors import PageraceInputError
from pagerace.explore.cluster import MAX_LOCAL_WORKERS, check_address

SCHEDULER = "expected SCHEME://HOST:PORT (tcp://HOST:8786) or local:N;"


@pytest.mark.parametrize(
    "address", ["tcp://", "tcp://HOST", "tcp://HOST:port", "tcp://:8786", "tcp://HOST:70000"]
)
@pytest.mark.parametrize("command", ["run", "hunt"])
def test_a_bad_scheduler_address_is_one_clear_line(
    address: str, command: str, tmp_path: Any, capsys: Any
) -> None:
    from pagerace.cli.main import main

    args = ["run", "xsa345-r1-small"] if command == "run" else ["hunt", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as info:
        main([*args, "-q", "--dask", address])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err == f"pagerace: --dask: {SCHEDULER} got {address!r}\n"


@pytest.mark.parametrize(
    "address", ["local:0", "local:", "local:x", f"local:{MAX_LOCAL_WORKERS + 1}"]
)
def test_a_local_cluster_needs_a_sensible_number_of_workers(address: str) -> None:
    with pytest.raises(PageraceInputError, match=r"^--dask: local:N needs a number of workers"):
        check_address(address)


def test_good_addresses_pass() -> None:
    assert check_address("local:2") == 2
    assert check_address(f"local:{MAX_LOCAL_WORKERS}") == MAX_LOCAL_WORKERS
    assert check_address("tcp://scheduler:8786") is None
    assert check_address("tcp://[::1]:8786") is None
    assert check_address("tls://10.0.0.1:8786") is None
