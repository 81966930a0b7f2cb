"""Run operations one after another on one CPU and judge each with the functional oracle.

``check_scenario`` runs a scenario's set-up and then each CPU's operations in order
(CPU 0's, then CPU 1's, ...) on the direct machine, and after every operation
compares what it did with what it promises (checks/functional.py).  A BUG_ON or
ASSERT that fires, or a memory-safety fault, ends the run and is reported as a
finding of its own kind.  ``check_ops`` is the same for any list of operations,
for example the operations of a conformance sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pagerace.checks.functional import judge, promise_of, snapshot
from pagerace.errors import PageraceInputError, XenBug
from pagerace.machine.direct import DirectMachine
from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import MemoryFault, PhysicalMemory
from pagerace.program import call_op
from pagerace.scenario import Scenario
from pagerace.xen.config import XenConfig
from pagerace.xen.versions import VERSIONS, unknown_variant

__all__ = ["CheckedFinding", "SequentialCheck", "check_ops", "check_scenario"]


@dataclass(frozen=True, slots=True)
class CheckedFinding:
    """A finding of a sequential check: which operation (``where``, e.g. ``cpus[1].ops[0]``)."""

    kind: str
    where: str
    op: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "op": self.op, "message": self.message}


@dataclass
class SequentialCheck:
    """The outcome of one sequential run on one variant."""

    variant: str
    ops: int = 0  # operations run (every one judged, unless it failed)
    findings: list[CheckedFinding] = field(default_factory=list)
    stopped: str | None = None  # why the run ended early (a BUG, a fault)

    @property
    def found(self) -> bool:
        return bool(self.findings)

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(f.kind for f in self.findings))


def check_ops(
    ops: Sequence[tuple[str, Any]],
    config: XenConfig,
    geometry: Geometry,
) -> SequentialCheck:
    """Run ``(where, op)`` pairs in order from an empty page table and judge each."""
    memory = PhysicalMemory(geometry)
    root = memory.alloc(4)
    assert root is not None
    m = DirectMachine(memory, root, config)
    out = SequentialCheck(config.variant)
    page1gb = config.page1gb
    before = snapshot(memory, root, geometry, page1gb=page1gb)
    for where, op in ops:
        promise = promise_of(op, nx=config.nx)
        if promise is None:
            continue  # an access: nothing to run on one CPU
        m.begin_op(getattr(op, "irqs", True))
        try:
            rc = call_op(m, op)
        except XenBug as exc:
            out.findings.append(CheckedFinding("bug", where, op.describe(), str(exc)))
            out.stopped = f"{where}: {exc}"
            break
        except MemoryFault as exc:
            out.findings.append(CheckedFinding(exc.kind, where, op.describe(), exc.message))
            out.stopped = f"{where}: {exc}"
            break
        out.ops += 1
        after = snapshot(memory, root, geometry, page1gb=page1gb)
        if promise.effect == "lookup" or (rc is not None and rc >= 0):
            for problem in judge(promise, before, after, memory, root, geometry, rc=rc):
                out.findings.append(
                    CheckedFinding(problem.kind, where, op.describe(), problem.message)
                )
        before = after
    return out


def scenario_ops(scenario: Scenario) -> list[tuple[str, Any]]:
    """The set-up, then each CPU's operations in order, with where each comes from."""
    ops: list[tuple[str, Any]] = [(f"setup[{i}]", op) for i, op in enumerate(scenario.setup)]
    for c, cpu_ops in enumerate(scenario.cpus):
        ops.extend((f"cpus[{c}].ops[{i}]", op) for i, op in enumerate(cpu_ops))
    return ops


def check_scenario(scenario: Scenario, variant: str | None = None) -> SequentialCheck:
    """A scenario's operations, sequentially, on ``variant`` (default: its own)."""
    chosen = variant or scenario.variant
    if chosen not in VERSIONS:
        raise PageraceInputError("--variant: " + unknown_variant(chosen))
    config = XenConfig(variant=chosen, page1gb=scenario.page1gb)
    return check_ops(scenario_ops(scenario), config, scenario.geometry)
