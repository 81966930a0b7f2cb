"""The explorer program of a prepared scenario: what every execution runs.

``build`` makes ``program(ctx)`` for the explorer: each execution starts from a copy
of the set-up's memory and TLBs, runs each CPU's operations on an explored machine
(the Xen function of each, with the functional oracle judging it as it returns),
and ends with the quiescence oracles.  ``call_op`` runs one scenario operation on
any machine.  This is the runner's hot path, compiled with the rest of it
(``pagerace.build``); ``runner`` prepares the scenario and calls ``build``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pagerace.checks import (
    OpTracker,
    TrackerMemos,
    Translation,
    graph_problems,
    leaked_tables,
    stale_tlb_problems,
    translation_of,
)
from pagerace.checks.functional import Promise, Runs, promise_of, translation
from pagerace.checks.memo import MISSING, Memo, memory_key, memory_weight, tlbs_key
from pagerace.machine import Machine
from pagerace.machine.explored import Accesses, ExploredCPU, World
from pagerace.paging.dump import dump_state
from pagerace.paging.memory import PhysicalMemory
from pagerace.paging.pte import describe_flags, get_pte_flags
from pagerace.paging.tlb import TLB
from pagerace.scenario import (
    AccessOp,
    DestroyOp,
    LookupOp,
    MapOp,
    ModifyOp,
    Op,
    PopulateOp,
)
from pagerace.xen.config import XenConfig
from pagerace.xen.lookup import lookup
from pagerace.xen.map_pages import map_pages_to_xen, populate_pt_range
from pagerace.xen.modify import destroy_xen_mappings, modify_xen_mappings

__all__ = ["FUNCTIONS", "build", "call_op", "function_of", "functional_oracle"]

FUNCTIONS = {
    MapOp: "map_pages_to_xen",
    PopulateOp: "populate_pt_range",
    ModifyOp: "modify_xen_mappings",
    DestroyOp: "destroy_xen_mappings",
    AccessOp: "hardware walk",
}


def function_of(op: Op, config: XenConfig) -> str:
    """The Xen function a scenario operation calls on this variant."""
    if isinstance(op, LookupOp):
        return "xen_map_to_mfn" if config.version.has_xen_map_to_mfn else "vmap_to_mfn"
    return FUNCTIONS[type(op)]


def _call_text(op: Op, m: ExploredCPU) -> str:
    if isinstance(op, LookupOp):  # the function depends on the version
        return f"{m.function}({op.virt:#x})" + ("" if op.irqs else " with irqs off")
    return op.describe()


def call_op(m: Machine[Any], op: Op) -> int | None:
    """Run one scenario operation on machine ``m``; the Xen function's rc."""
    if isinstance(op, MapOp):
        return map_pages_to_xen(m, op.virt, op.mfn, op.nr, op.xen_flags)
    if isinstance(op, PopulateOp):
        return populate_pt_range(m, op.virt, op.nr)
    if isinstance(op, ModifyOp):
        return modify_xen_mappings(m, op.s, op.e, op.xen_nf)
    if isinstance(op, DestroyOp):
        return destroy_xen_mappings(m, op.s, op.e)
    if isinstance(op, LookupOp):
        return lookup(m, op.virt)  # the frame number, not an rc
    raise TypeError(f"not a Xen operation: {op!r}")  # pragma: no cover


def build(
    p: Any,
    *,
    fine_scans: bool,
    cpu_class: Callable[[World, int], ExploredCPU],
    quiescence: Memo,
) -> Callable[[Any], Any]:
    """The explorer program of the prepared scenario ``p`` (``runner.Prepared``): one
    thread per CPU on a ``cpu_class`` machine, the functional oracle as operations
    return, the quiescence oracles (their reports kept in ``quiescence``) at the end."""
    scenario = p.scenario
    irqs_off_cpus = [
        c for c, ops in enumerate(scenario.cpus) if any(not getattr(op, "irqs", True) for op in ops)
    ]
    accesses = Accesses()  # the machine's event descriptors, shared by all executions
    memos = p.memos  # the functional oracle's, shared by all executions
    # what every execution needs of each operation: (op, Xen function, promise)
    plans: list[Sequence[tuple[Op, str, Promise | None]]] = [
        [
            (op, "", None)
            if isinstance(op, AccessOp)
            else (op, function_of(op, p.config), promise_of(op, nx=p.config.nx))
            for op in ops
        ]
        for ops in scenario.cpus
    ]
    # the set-up's translation: where every execution's first operations start
    first = translation(
        p.memory, p.root, p.geometry, page1gb=p.config.page1gb, memo=memos.snapshots
    )

    def program(ctx: Any) -> tuple[list[Callable[[], None]], Callable[[], None]]:
        memory = p.memory.clone()
        tlbs = [tlb.copy() for tlb in p.tlbs]
        world = World(
            ctx,
            memory,
            p.root,
            p.config,
            tlbs,
            fine_scans=fine_scans,
            irqs_off_cpus=irqs_off_cpus,
            accesses=accesses,
        )
        detailed = world.detailed
        oracle = functional_oracle(p, ctx, memory, memos=memos, translation=first)

        def body(cpu: int, plan: Sequence[tuple[Op, str, Promise | None]]) -> Callable[[], None]:
            m = cpu_class(world, cpu)

            def run() -> None:
                for k, (op, function, promise) in enumerate(plan):
                    if isinstance(op, AccessOp):
                        m.access(op.virt)
                        continue
                    m.function = function
                    if not op.irqs:
                        m.local_irq_disable()
                    if detailed:
                        ctx.note(
                            "call",
                            {"op": "call", "function": function, "text": _call_text(op, m), "k": k},
                        )
                    if promise is not None:
                        oracle.begin(cpu, promise)
                    rc = call_op(m, op)
                    if detailed:
                        ret = {"op": "return", "function": function, "rc": rc}
                        if isinstance(op, LookupOp):
                            ret = {"op": "return", "function": function, "mfn": rc}
                        ctx.note("return", ret)
                    if promise is not None:
                        oracle.finish(cpu, rc)
                    if not op.irqs:
                        m.local_irq_enable()

            return run

        def check() -> None:
            # Every oracle runs and reports what it sees: one problem does not hide
            # another (they share this execution's schedule).  Executions that end
            # in a state seen before reuse its reports (checks/memo.py).
            reports = MISSING
            if quiescence.enabled:
                key = _quiescence_key(memory, world.tlbs)
                reports = quiescence.get(key)
            if reports is MISSING:
                reports = _quiescence_reports(p, memory, world.tlbs)
                if quiescence.enabled:
                    quiescence.put(key, reports, memory_weight(memory))
            for kind, message, detail in reports:
                ctx.report(
                    kind,
                    message,
                    key=(kind, "quiescence"),
                    detail=None if detail is None else dict(detail),
                )

        return [body(c, plan) for c, plan in enumerate(plans)], check

    return program


_Report = tuple[str, str, dict[str, Any] | None]  # kind, message, detail


def _quiescence_key(memory: PhysicalMemory, tlbs: list[TLB]) -> tuple[Any, ...]:
    """Everything ``_quiescence_reports`` reads of an execution's final state: the
    words of every frame (memory_key), which tables are live at which level, and
    what each CPU caches."""
    return (memory_key(memory), frozenset(memory.level.items()), tlbs_key(tlbs))


def _quiescence_reports(p: Any, memory: PhysicalMemory, tlbs: list[TLB]) -> list[_Report]:
    """What the quiescence oracles report on a final state, in order: a function of
    the words of memory's frames, the live tables' levels and the TLBs."""
    g = p.geometry
    reports: list[_Report] = []
    by_kind: dict[str, list[str]] = {}
    for problem in graph_problems(memory, p.root, g):
        by_kind.setdefault(problem.kind, []).append(problem.message)
    for kind, messages in by_kind.items():
        reports.append((kind, "at quiescence: " + _some(messages), None))
    leaked = leaked_tables(memory, p.root, g)
    if leaked:
        text = ", ".join(f"L{lvl} table {f:#x}" for f, lvl in leaked)
        reports.append(("leak", f"at quiescence, unreachable page tables: {text}", None))
    if p.acceptable:
        now = translation_of(dump_state(memory, p.root, g), g)
        if now not in p.acceptable:
            fault = p.preconditions.of_lost_update(now, p.acceptable)
            reports.append(
                (
                    "lost-update",
                    "the final translation equals the result of no serial order of the"
                    f" CPUs' operations (compared with {len(p.acceptable)} distinct serial"
                    f" result{'s' if len(p.acceptable) != 1 else ''})"
                    + _translation_diff(now, p.acceptable),
                    {"fault": fault},
                )
            )
    stale = stale_tlb_problems(tlbs, memory, p.root, g, p.config.page1gb)
    if stale:
        reports.append(
            (
                "stale-tlb",
                _some([problem.message for problem in stale]),
                {"fault": p.preconditions.of_stale_entries(s[:2] for s in stale)},
            )
        )
    return reports


def functional_oracle(
    p: Any,
    ctx: Any,
    memory: PhysicalMemory,
    *,
    memos: TrackerMemos | None = None,
    translation: Runs | None = None,
) -> OpTracker:
    """The functional oracle of one execution (checks/functional.py): each CPU's
    operation is judged against its promise when it returns, unless another CPU's
    operation on an overlapping range changed memory meanwhile; problems are
    reported at once and the execution goes on.  ``memos`` are shared by the
    executions of one search; ``translation`` is that of ``memory`` now, if known."""

    def report(problem: Any, cpu: int) -> None:
        ctx.report(problem.kind, f"CPU{cpu}: {problem.message}", key=(problem.kind, "functional"))

    tracker = OpTracker(
        memory,
        p.root,
        p.geometry,
        report,
        page1gb=p.config.page1gb,
        nx=p.config.nx,
        memos=memos,
        translation=translation,
    )
    tracker.watch(lambda: ctx.thread)
    return tracker


def _some(messages: list[str]) -> str:
    """The first three messages, and how many more there are."""
    more = len(messages) - 3
    return "; ".join(messages[:3]) + (f" (+{more} more)" if more > 0 else "")


def _translation_diff(now: Translation, acceptable: set[Translation]) -> str:
    best = min(acceptable, key=lambda t: len(set(t) ^ set(now)))
    extra = sorted(set(now) - set(best))
    missing = sorted(set(best) - set(now))
    parts = []
    for what, runs in (("a serial order gives", missing), ("this run left", extra)):
        if runs:
            va, n, mfn, fl = runs[0]
            parts.append(
                f"{what} {n} page{'s' if n != 1 else ''} at {va:#x} -> mfn {mfn:#x}"
                f" {describe_flags(get_pte_flags(fl))}"
            )
    return ": " + "; ".join(parts) if parts else ""
