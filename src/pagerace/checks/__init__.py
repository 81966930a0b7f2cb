"""pagerace.checks: the oracles that judge an execution at quiescence.

Memory-safety findings (use-after-free, double-free, bad-free, wild-write, bug) are
raised by the explored machine as they happen; these modules look at what an
execution leaves behind: dangling and torn entries and leaks (memory_safety), the
final translation against every serial order (final_state), and stale TLB entries
(tlb).  The functional oracle (functional) judges each operation against what it
promises, when it returns.
"""

from pagerace.checks.fault import CALLER, HYPERVISOR, Preconditions, restrict
from pagerace.checks.final_state import (
    SerialResults,
    Translation,
    acceptable_translations,
    count_serial_orders,
    serial_orders,
    serial_results,
    translation_of,
)
from pagerace.checks.functional import (
    FUNCTIONAL_KINDS,
    Promise,
    judge,
    mappings,
    promise_of,
    snapshot,
)
from pagerace.checks.memory_safety import Problem, graph_problems, leaked_tables
from pagerace.checks.op_tracker import OpTracker, TrackerMemos
from pagerace.checks.tlb import StaleProblem, stale_tlb_problems

FINDING_KINDS = (
    "use-after-free",
    "double-free",
    "bad-free",
    "bug",
    "wild-write",
    "torn-entry",
    "deadlock",
    "leak",
    "lost-update",
    "stale-tlb",
    *FUNCTIONAL_KINDS,
)

__all__ = [
    "CALLER",
    "FINDING_KINDS",
    "FUNCTIONAL_KINDS",
    "HYPERVISOR",
    "OpTracker",
    "Preconditions",
    "Problem",
    "Promise",
    "SerialResults",
    "StaleProblem",
    "TrackerMemos",
    "Translation",
    "acceptable_translations",
    "count_serial_orders",
    "graph_problems",
    "judge",
    "leaked_tables",
    "mappings",
    "promise_of",
    "restrict",
    "serial_orders",
    "serial_results",
    "snapshot",
    "stale_tlb_problems",
    "translation_of",
]
