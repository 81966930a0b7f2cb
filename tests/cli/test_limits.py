"""What one run may cost: the time limit covers the set-up and the serial orders, and
scenarios whose set-up or single execution would make too many page-table stores
are refused with one line instead of running for minutes and gigabytes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pagerace.errors import PageraceInputError
from pagerace.machine.direct import DirectMachine, OutOfTime, TooMuchWork, WorkLimit
from pagerace.runner import MAX_EXECUTION_STORES, RunOptions, prepare, run_scenario
from pagerace.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"


def pagerace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", *args], capture_output=True, text=True, check=False
    )


def test_a_work_limit_counts_stores_across_machines_and_stops_past_the_bound() -> None:
    sc = load_scenario(SCENARIOS / "xsa345-r1.toml")
    p = prepare(sc)
    limit = WorkLimit(max_stores=3 * WorkLimit.CHECK_EVERY)
    m = DirectMachine(p.memory.clone(), p.root, p.config)
    m.limit_work(limit)
    with pytest.raises(TooMuchWork):
        for i in range(10 * WorkLimit.CHECK_EVERY):
            m.store(p.root, i % 8, 0, "test")
    assert limit.stores == 4 * WorkLimit.CHECK_EVERY
    late = WorkLimit(deadline=time.perf_counter() - 1)
    m.limit_work(late)
    with pytest.raises(OutOfTime):
        for i in range(WorkLimit.CHECK_EVERY):
            m.store(p.root, i % 8, 0, "test")


def test_a_misaligned_one_gib_map_is_refused_instead_of_exploring_262144_stores() -> None:
    text = (SCENARIOS / "xsa345-r2a.toml").read_text()
    text = text.replace('mfn = "3 * L3_PAGES"', 'mfn = "3 * L3_PAGES - 1"')
    assert 'mfn = "3 * L3_PAGES - 1"' in text
    with pytest.raises(PageraceInputError) as info:
        prepare(parse_scenario(text, "mis.toml"))
    assert f"more than {MAX_EXECUTION_STORES:,} page-table stores in one execution" in str(
        info.value
    )


def test_a_set_up_of_millions_of_4k_pages_is_refused() -> None:
    text = (
        'name = "big"\nvariant = "xen-4.14"\n[[setup]]\nop = "map"\nvirt = "DIRECTMAP"\n'
        'mfn = 1\nnr = "8 * L3_PAGES"\nflags = "PAGE_HYPERVISOR"\n'
        '[[cpus]]\nops = [ { op = "destroy", s = "DIRECTMAP", e = "DIRECTMAP + PAGE_SIZE" } ]\n'
    )
    with pytest.raises(PageraceInputError, match=r"setup: more than 1,048,576 page-table stores"):
        prepare(parse_scenario(text, "big.toml"))


SEVEN = 'name = "seven"\nvariant = "xen-4.14"\n' + "".join(
    f'[[cpus]]\nops = [ {{ op = "map", virt = "DIRECTMAP + {i} * L2_SPAN", mfn = {i},'
    ' nr = 1, flags = "PAGE_HYPERVISOR" } ]\n'
    for i in range(7)
)


def test_the_time_limit_covers_the_serial_orders() -> None:
    sc = parse_scenario(SEVEN, "seven.toml")
    start = time.perf_counter()
    run = run_scenario(sc, RunOptions(time_limit=0.3))
    elapsed = time.perf_counter() - start
    assert run.result.status == "incomplete"
    assert any("time limit" in r for r in run.incomplete_reasons)
    assert elapsed < 10  # without the deadline the serial orders alone took ~12 s


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pct-depth", "20000"], "20000 is outside 1..100"),
        (["--max-executions", "\u00b2"], "is not a whole number"),
        (["--max-executions", "9" * 5000], "more characters) is outside"),
        (["--seed", "-1"], "is not a whole number"),
        (["--time-limit", "nan"], "is not a number of seconds"),
        (["--time-limit", "inf"], "is not a number of seconds"),
        (["--preemption-bound", "\u0661"], "is not a whole number"),
    ],
)
def test_numbers_on_the_command_line_are_ascii_and_bounded(args: list[str], message: str) -> None:
    p = pagerace("run", "xsa345-r1-small", *args)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.splitlines()) == 1 and message in p.stderr, p.stderr
