"""The functional oracle in explored runs: each CPU's operation judged when it returns."""

from __future__ import annotations

from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import parse_scenario

HEAD = """
name = "{name}"
variant = "xen-4.14"
entries = 8

[[setup]]
op = "map"
virt = "DIRECTMAP + 3 * PAGE_SIZE"
mfn = 3
nr = 1
flags = "PAGE_HYPERVISOR"
"""


def test_an_explored_cpu_whose_destroy_leaves_an_empty_l2_is_reported() -> None:
    text = (
        HEAD.format(name="empty-l2")
        + """
[[cpus]]
[[cpus.ops]]
op = "destroy"
s = "DIRECTMAP"
e = "DIRECTMAP + L3_SPAN"
"""
    )
    run = run_scenario(parse_scenario(text), RunOptions(preemption_bound=None))
    assert run.kinds == ["empty-table"]
    (finding,) = run.findings
    assert finding.message.startswith("CPU0: after destroy_xen_mappings(")
    assert str(run.result.status) == "found"
    # the fixed variant behaves the same here: the L2 check is not a locking matter
    fixed = run_scenario(parse_scenario(text), RunOptions(preemption_bound=None), variant="xsa-345")
    assert fixed.kinds == ["empty-table"]


def test_operations_on_overlapping_ranges_of_two_cpus_are_not_judged() -> None:
    """Two maps of the same page: whichever lands last wins, and neither CPU's
    operation can promise what the page holds afterwards."""
    text = (
        HEAD.format(name="overlap")
        + """
[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + 3 * PAGE_SIZE"
mfn = 7
nr = 1
flags = "PAGE_HYPERVISOR"

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + 3 * PAGE_SIZE"
mfn = 9
nr = 2
flags = "PAGE_HYPERVISOR"
"""
    )
    run = run_scenario(parse_scenario(text), RunOptions(preemption_bound=None), variant="xsa-345")
    assert str(run.result.status) == "clean", [f.message for f in run.findings]


def test_disjoint_operations_of_two_cpus_are_each_judged() -> None:
    """CPU1's unmap of a whole 2 MiB superpage allocates an L1 of non-present
    entries before 4.20, while CPU0 maps elsewhere: CPU1's operation is judged."""
    text = (
        HEAD.format(name="disjoint")
        + """
[[setup]]
op = "map"
virt = "DIRECTMAP + L2_SPAN"
mfn = "L2_PAGES"
nr = "L2_PAGES"
flags = "PAGE_HYPERVISOR"

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + 5 * PAGE_SIZE"
mfn = 5
nr = 1
flags = "PAGE_HYPERVISOR"

[[cpus]]
[[cpus.ops]]
op = "map"
virt = "DIRECTMAP + L2_SPAN"
mfn = "INVALID_MFN"
nr = "L2_PAGES"
flags = "_PAGE_NONE"
"""
    )
    run = run_scenario(
        parse_scenario(text),
        RunOptions(preemption_bound=None, keep_going=True),
        variant="xsa-345",
    )
    assert run.kinds == ["alloc-on-unmap"]
    assert all(f.message.startswith("CPU1: map_pages_to_xen(") for f in run.findings)
