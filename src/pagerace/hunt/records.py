"""What a hunt keeps: one record per signature, the totals, and the JSON of it all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pagerace import __version__
from pagerace.hunt.search import Found
from pagerace.hunt.signature import Signature

__all__ = ["HuntResult", "Minimised", "SignatureRecord", "hunt_dict"]


@dataclass(frozen=True, slots=True)
class Minimised:
    """A signature's counterexample as written: the scenario file's text, the
    finding it shows (schedule, preemptions), and how ``pagerace run`` reproduces
    it (``run_args``: extra arguments, None when the check did not reproduce it)."""

    signature: Signature
    text: str
    found: Found
    ops: tuple[str, ...]  # the two ops, described (map_pages_to_xen(...))
    cpus: int
    max_ops_per_cpu: int
    minimised: bool  # shrunk (False: the scenario as drawn)
    complete: bool  # no smaller candidate was left untried
    run_args: str | None
    evaluations: int
    seconds: float


@dataclass
class SignatureRecord:
    """One distinct signature of a hunt."""

    signature: Signature
    first: Found  # as first found, on the drawn scenario
    scenario_index: int
    first_seconds: float
    count: int = 1
    result: Minimised | None = None
    path: str | None = None  # the scenario file written
    report: str | None = None  # its HTML report, if written

    @property
    def fault(self) -> str:
        return (self.result.found if self.result else self.first).fault

    def to_dict(self) -> dict[str, Any]:
        sig = self.signature
        found = self.result.found if self.result else self.first
        ops = [
            {"function": fn, "path": list(path), "cpu": op.cpu, "index": op.index}
            for (fn, path), op in zip(sig.ops, found.ops, strict=False)
        ]
        if self.result:
            for item, text in zip(ops, self.result.ops, strict=False):
                item["text"] = text
        run = None
        if self.result and self.result.run_args is not None and self.path:
            run = f"pagerace run {self.path}{self.result.run_args}"
        return {
            "signature": sig.text,
            "kind": sig.kind,
            "labels": list(sig.labels),
            "ops": ops,
            "fault": found.fault,
            "check": found.check,
            "count": self.count,
            "first_seconds": round(self.first_seconds, 3),
            "found_in_scenario": self.scenario_index,
            "scenario": self.path,
            "schedule": found.schedule,
            "preemptions": found.preemptions,
            "strategy": found.strategy,
            "message": found.message,
            "minimised": bool(self.result and self.result.minimised),
            "cpus": self.result.cpus if self.result else None,
            "max_ops_per_cpu": self.result.max_ops_per_cpu if self.result else None,
            "replay": f"pagerace replay {self.path} {found.schedule}" if self.path else None,
            "run": run,
            "report": self.report,
        }


@dataclass
class HuntResult:
    """Everything a hunt found, and what it took."""

    options: dict[str, Any]
    records: list[SignatureRecord] = field(default_factory=list)
    scenarios: int = 0
    executions: int = 0
    events: int = 0
    seconds: float = 0.0
    timeline: list[tuple[float, int]] = field(default_factory=list)
    interrupted: bool = False
    out_dir: str = ""

    @property
    def kinds(self) -> dict[str, float]:
        """Each kind found, with the time it was first found."""
        first: dict[str, float] = {}
        for r in self.records:
            k = r.signature.kind
            first[k] = min(first.get(k, r.first_seconds), r.first_seconds)
        return dict(sorted(first.items(), key=lambda kv: kv[1]))


def hunt_dict(result: HuntResult) -> dict[str, Any]:
    """The JSON-ready dict of a hunt (docs/hunt.md, "JSON")."""
    seconds = max(result.seconds, 1e-9)
    return {
        "pagerace": __version__,
        "command": "hunt",
        "status": "interrupted"
        if result.interrupted
        else ("found" if result.records else "nothing found"),
        "options": result.options,
        "out": result.out_dir,
        "stats": {
            "scenarios": result.scenarios,
            "executions": result.executions,
            "events": result.events,
            "seconds": round(result.seconds, 3),
            "scenarios_per_second": round(result.scenarios / seconds, 3),
            "executions_per_second": round(result.executions / seconds, 1),
        },
        "kinds": {k: round(v, 3) for k, v in result.kinds.items()},
        "timeline": [[round(t, 3), n] for t, n in result.timeline],
        "signatures": [r.to_dict() for r in result.records],
    }
