"""What makes two findings the same bug: their signature.

A signature is the finding's kind, its failing step label(s) and the two ops
involved, each named by its Xen function and the path it took (the sections of
the function it went through, in order: ``V3 M1 M3 V2 M6 M7``).  The two ops are:

* for a finding raised by a CPU (a use-after-free, a double free, a BUG ...): the
  op that CPU was running, then the op of another CPU whose event last conflicted
  with the failing one (the free behind a use-after-free, the store that made the
  entry a superpage behind a BUG_ON) -- or, failing that, with any event of the
  failing op;
* for a finding at quiescence (leak, lost update, stale TLB, an entry left
  pointing at a freed table), which no single CPU raises: the two ops of
  different CPUs, running at the same time, with the last pair of conflicting
  events, in CPU order;
* for a deadlock: the ops the blocked CPUs are in, in CPU order.

The trace of a finding holds every event up to the failure, so the paths are the
paths taken up to that point.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pagerace.explore import Finding, dependent
from pagerace.program import function_of
from pagerace.scenario import AccessOp, Scenario
from pagerace.xen.config import XenConfig

__all__ = ["OpInvolved", "Signature", "signature_of"]

# the short name of each Xen function, for file names
SHORT = {
    "map_pages_to_xen": "map",
    "populate_pt_range": "populate",
    "modify_xen_mappings": "modify",
    "destroy_xen_mappings": "destroy",
    "hardware walk": "access",
    "xen_map_to_mfn": "lookup",
    "vmap_to_mfn": "lookup",
}
_SKIP = ("L3T_LOCK", "L3T_UNLOCK", "local_irq_disable", "local_irq_enable")


@dataclass(frozen=True, slots=True)
class Signature:
    """``(kind, failing labels, ((function, path), ...))``; at most two ops."""

    kind: str
    labels: tuple[str, ...]
    ops: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def text(self) -> str:
        """``use-after-free at M6.9: map_pages_to_xen [V3 M1 ...] vs ...``."""
        ops = " vs ".join(f"{fn} [{' '.join(path)}]" for fn, path in self.ops) or "no op"
        return f"{self.kind} at {' '.join(self.labels)}: {ops}"

    @property
    def slug(self) -> str:
        """A file name: kind, labels, the ops' short names and a hash of the rest."""
        digest = hashlib.sha1(self.text.encode()).hexdigest()[:8]
        parts = [self.kind, *self.labels, *(SHORT.get(fn, fn) for fn, _ in self.ops), digest]
        return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": list(self.labels),
            "ops": [{"function": fn, "path": list(path)} for fn, path in self.ops],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        return cls(
            d["kind"],
            tuple(d["labels"]),
            tuple((op["function"], tuple(op["path"])) for op in d["ops"]),
        )


@dataclass(frozen=True, slots=True)
class OpInvolved:
    """One op of a signature in its scenario: CPU, position in the CPU's ops."""

    cpu: int
    index: int
    function: str
    path: tuple[str, ...]


def _labels(finding: Finding) -> tuple[str, ...]:
    key = finding.key
    if not isinstance(key, tuple) or len(key) < 2:
        return ()
    if finding.kind == "deadlock":  # "0:M3.1 1:L3T_LOCK": the labels without CPUs
        return tuple(sorted(part.split(":", 1)[-1] for part in str(key[1]).split()))
    return tuple(str(part) for part in key[1:])


def _section(label: str) -> str | None:
    if label in _SKIP or ":" in label or label in ("call", "return"):
        return None
    return label.split(".", 1)[0]


class _Owners:
    """Which op of its CPU each event of a trace belongs to."""

    def __init__(self, trace: Sequence[Any], scenario: Scenario) -> None:
        ncpus = len(scenario.cpus)
        done = [0] * ncpus  # ops finished
        current = [0] * ncpus
        self.owner: dict[int, tuple[int, int]] = {}
        self.events: list[Any] = []
        self.span: dict[tuple[int, int], list[int]] = {}
        self.last: dict[int, tuple[int, int]] = {}  # each CPU's op at its last event
        for ev in trace:
            c = ev.thread
            if not 0 <= c < ncpus:
                continue
            ops = scenario.cpus[c]
            if ev.kind == "note":
                if ev.label == "call":
                    current[c] = done[c]
                elif ev.label == "return":
                    done[c] = current[c] + 1
                continue
            if ev.label == "local_irq_disable":
                j = done[c]
            elif ev.label == "local_irq_enable":
                j = done[c] - 1
            elif ev.label == "HW" and done[c] < len(ops) and isinstance(ops[done[c]], AccessOp):
                j = done[c]
                if (ev.detail or {}).get("op") == "access":
                    done[c] = j + 1
            else:
                j = current[c]
            owner = (c, j)
            self.owner[ev.index] = owner
            self.events.append(ev)
            span = self.span.setdefault(owner, [ev.index, ev.index])
            span[1] = ev.index
            self.last[c] = owner
        self.unfinished = [c for c in range(ncpus) if done[c] < len(scenario.cpus[c])]

    def overlap(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        sa, sb = self.span[a], self.span[b]
        return sa[0] < sb[1] and sb[0] < sa[1]


def _involved(
    owners: _Owners, scenario: Scenario, config: XenConfig, owner: tuple[int, int]
) -> OpInvolved:
    cpu, j = owner
    path: list[str] = []
    for ev in owners.events:
        if owners.owner[ev.index] == owner:
            section = _section(ev.label)
            if section is not None and section not in path:
                path.append(section)
    return OpInvolved(cpu, j, function_of(scenario.cpus[cpu][j], config), tuple(path))


def _failing_pair(owners: _Owners, thread: int) -> list[tuple[int, int]]:
    mine = [ev for ev in owners.events if ev.thread == thread]
    if not mine:
        return []
    last = mine[-1]
    a = owners.owner[last.index]
    others = [ev for ev in owners.events if ev.thread != thread and ev.index < last.index]
    for ev in reversed(others):
        if dependent(ev.footprint, last.footprint):
            return [a, owners.owner[ev.index]]
    own = [ev for ev in mine if owners.owner[ev.index] == a]
    for ev in reversed(others):
        if any(dependent(ev.footprint, x.footprint) for x in own if x.index > ev.index):
            return [a, owners.owner[ev.index]]
    return [a]


def _entries(footprint: Any) -> set[int]:
    """The page-table entries a footprint names (the explored machine's keys:
    ``frame << 10 | index`` for an entry, ``| 0x3FF`` for the frame itself, negative
    for the heap and the TLBs, tuples for locks)."""
    return {k for k, _ in footprint if isinstance(k, int) and k >= 0 and k & 0x3FF != 0x3FF}


def _racing_pair(owners: _Owners) -> list[tuple[int, int]]:
    """The two ops with the last conflict while both ran; a conflict on a page-table
    entry (a store against a load, a store or a hardware walk) is preferred to one on
    TLBs or the heap alone, which every flush and allocation has."""
    events = owners.events
    fallback: list[list[tuple[int, int]]] = [[], []]
    for k2 in range(len(events) - 1, 0, -1):
        e2 = events[k2]
        o2 = owners.owner[e2.index]
        for k1 in range(k2 - 1, -1, -1):
            e1 = events[k1]
            if e1.thread == e2.thread or not dependent(e1.footprint, e2.footprint):
                continue
            o1 = owners.owner[e1.index]
            pair = sorted((o1, o2))
            on_entry = bool(_entries(e1.footprint) & _entries(e2.footprint))
            if on_entry and owners.overlap(o1, o2):
                return pair
            rank = 0 if on_entry else 1
            if not fallback[rank]:
                fallback[rank] = pair
    return fallback[0] or fallback[1]


def signature_of(
    finding: Finding, scenario: Scenario, variant: str | None = None
) -> tuple[Signature, tuple[OpInvolved, ...]]:
    """The signature of ``finding`` (found on ``scenario``, run on ``variant``,
    by default the scenario's) and its ops."""
    # a finding made as the execution went on has the trace up to it at ``at``
    trace = finding.trace if finding.at is None else finding.trace[: finding.at]
    owners = _Owners(trace, scenario)
    thread = finding.thread
    if finding.kind == "deadlock":  # the ops the blocked CPUs are in
        pair = [owners.last[c] for c in owners.unfinished if c in owners.last][:2]
    elif thread is not None and 0 <= thread < len(scenario.cpus):
        pair = _failing_pair(owners, thread)
    else:
        pair = _racing_pair(owners)
    config = XenConfig(variant=variant or scenario.variant, page1gb=scenario.page1gb)
    ops = tuple(_involved(owners, scenario, config, o) for o in pair)
    sig = Signature(finding.kind, _labels(finding), tuple((op.function, op.path) for op in ops))
    return sig, ops
