"""A hunt: draw scenarios, explore them in parallel, keep one record per signature,
minimise each new signature and write it as a scenario file.

Scenarios are numbered; a worker draws scenario ``i`` itself from the seed (tasks
carry numbers and options, never scenarios).  Results are taken in scenario
order, so with ``max_scenarios`` the same seed and options give the same
signatures, counts and files whatever the number of jobs.  Minimising shares the
workers with exploring: up to half of them (at least one) minimise while new
signatures wait.  At the time limit exploring stops; minimising goes on for at
most ``shrink_grace`` seconds, and any signature still waiting is written as
drawn (marked not minimised).  Ctrl-C (``KeyboardInterrupt``) stops at once and
writes the same way.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pagerace.explore.executors import default_jobs, open_executor, wait_first
from pagerace.hunt.generate import GenOptions, generate
from pagerace.hunt.records import HuntResult, Minimised, SignatureRecord
from pagerace.hunt.search import Budget, Found, SearchResult, search
from pagerace.hunt.shrink import ShrinkBudget, Shrunk, shrink_many
from pagerace.hunt.signature import Signature
from pagerace.hunt.write import scenario_toml
from pagerace.runner import run_options, run_scenario
from pagerace.scenario import Expectation, Scenario
from pagerace.userio import write_atomic

__all__ = ["HuntOptions", "explore_task", "hunt", "shrink_task"]


@dataclass(frozen=True, slots=True)
class HuntOptions:
    gen: GenOptions = field(default_factory=GenOptions)
    seed: int = 0
    #: tasks at once (None: every core, or on Dask the cluster's workers)
    jobs: int | None = 1
    #: a Dask scheduler address or ``local:N`` (``pagerace.explore.cluster``): the
    #: tasks run there, ``jobs`` at a time
    dask: str | None = None
    time_limit: float | None = 60.0
    max_scenarios: int | None = None
    budget: Budget = field(default_factory=Budget)
    shrink: ShrinkBudget = field(default_factory=ShrinkBudget)
    shrink_batch: int = 12
    shrink_grace: float = 60.0

    def to_dict(self) -> dict[str, Any]:
        g = self.gen
        return {
            "variant": g.variant,
            "entries": g.entries,
            "cpus": [g.min_cpus, g.max_cpus],
            "disjoint": g.disjoint,
            "seed": self.seed,
            "jobs": self.jobs,
            "dask": self.dask,
            "time_limit": self.time_limit,
            "max_scenarios": self.max_scenarios,
            "preemption_bound": self.budget.preemption_bound,
            "dpor_executions": self.budget.dpor_executions,
            "pct_executions": self.budget.pct_executions,
        }


# -- tasks (they run in the workers) ---------------------------------------------------
def explore_task(seed: int, index: int, gen: GenOptions, budget: Budget) -> SearchResult:
    """Draw scenario ``index`` and explore it."""
    return search(generate(seed, index, gen), budget, seed=seed + index)


def shrink_task(
    seed: int,
    index: int,
    gen: GenOptions,
    budget: Budget,
    limits: ShrinkBudget,
    targets: list[Found],
    out_dir: str,
) -> list[Minimised]:
    """Minimise scenario ``index`` for each target; the scenario files' contents."""
    drawn = generate(seed, index, gen)
    by_sig = {f.signature: f for f in targets}
    out = []
    sigs = [f.signature for f in targets]
    for sig, shrunk in shrink_many(drawn, sigs, budget, limits, seed=seed + index):
        out.append(finalise(drawn, by_sig[sig], shrunk, out_dir, verify=True))
    return out


def finalise(
    drawn: Scenario, first: Found, shrunk: Shrunk | None, out_dir: str, *, verify: bool
) -> Minimised:
    """The scenario file of a signature: the minimised scenario (or the drawn one),
    named after the signature, with ``[expect]`` and ``[explore]`` filled in so that
    ``pagerace run`` reproduces it; with ``verify``, checked by running it so."""
    sig = first.signature
    sc, found = (shrunk.scenario, shrunk.found) if shrunk else (drawn, first)
    path = os.path.join(out_dir, sig.slug + ".toml")
    if found.strategy == "dpor":
        defaults = {"strategy": "dpor", "preemption_bound": found.preemptions}
    else:
        defaults = {"strategy": "pct", "seed": found.seed}
    sc = dataclasses.replace(
        sc,
        name=sig.slug,
        description=f"{sig.text} (found by pagerace hunt)",
        expect=MappingProxyType({drawn.variant: Expectation(require=(sig.kind,))}),
        explore=MappingProxyType(defaults),
        source=path,
    )
    run_args: str | None = ""
    if verify:
        run_args = _reproduced_by(sc)
    lines = [
        f"{sig.text}",
        f"fault: {found.fault}; {found.preemptions} preemption(s); found by {found.strategy}",
        "" if shrunk else "NOT minimised (the hunt ended first): the scenario as drawn",
        f"replay: pagerace replay {path} {found.schedule}",
    ]
    if run_args is not None:
        lines.append(f"run:    pagerace run {path}{run_args}")
    raised = sig.kind != "deadlock" and "quiescence" not in sig.labels
    roles = ("the failing op", "the other op") if raised else ("one of the two ops",) * 2
    marks = {(op.cpu, op.index): role for op, role in zip(found.ops, roles, strict=False)}
    text = scenario_toml(sc, header="\n".join(x for x in lines if x), op_comments=marks)
    return Minimised(
        sig,
        text,
        found,
        tuple(sc.cpus[op.cpu][op.index].describe() for op in found.ops),
        len(sc.cpus),
        max(len(ops) for ops in sc.cpus),
        shrunk is not None,
        bool(shrunk and shrunk.complete),
        run_args,
        shrunk.evaluations if shrunk else 0,
        shrunk.seconds if shrunk else 0.0,
    )


def _reproduced_by(sc: Scenario) -> str | None:
    """The arguments after ``pagerace run FILE`` that show the file's expected kind:
    ``""`` (``pagerace run`` explores until its expectation is decided), or None
    when a run of 50,000 executions does not meet it.  The run is split into work
    units as ``pagerace run`` splits it (here in this process: the result is the
    same on any number of cores)."""
    run = run_scenario(sc, run_options(sc, max_executions=50_000, jobs=1))
    return "" if run.meets_expectation else None


# -- the hunt (in this process) ----------------------------------------------------------
class _Hunt:
    def __init__(self, options: HuntOptions, out_dir: Path, observer: Any) -> None:
        self.o = options
        self.out_dir = out_dir
        self.observer = observer
        self.result = HuntResult(options.to_dict(), out_dir=str(out_dir))
        self.records: dict[Signature, SignatureRecord] = {}
        self.start = time.perf_counter()
        self.waiting: deque[tuple[int, list[Found]]] = deque()  # shrink batches to run

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def notify(self, hook: str, *args: Any) -> None:
        fn = getattr(self.observer, hook, None)
        if fn is not None:
            fn(*args)

    def run(self) -> HuntResult:
        o = self.o
        with open_executor(o.jobs, o.dask, lazy=False) as executor:
            self._run(executor)
        self.result.seconds = self.elapsed()
        self.write_unminimised()
        self.result.records = list(self.records.values())
        return self.result

    def _run(self, executor: Executor) -> None:
        """Draw, explore and minimise on ``executor`` until the hunt ends."""
        o = self.o
        # tasks in flight: --jobs, else a cluster's workers, else every core
        jobs = o.jobs or getattr(executor, "slots", None) or default_jobs()
        self.result.options["jobs"] = jobs
        shrink_slots = max(1, jobs // 2)
        exploring: dict[Future[Any], int] = {}
        shrinking: dict[Future[Any], int] = {}
        arrived: dict[int, tuple[SearchResult, float]] = {}
        next_index = cursor = 0
        deadline = None if o.time_limit is None else self.start + o.time_limit
        grace_end: float | None = None
        try:
            while True:
                now = time.perf_counter()
                timed_out = deadline is not None and now >= deadline
                if timed_out and grace_end is None:
                    grace_end = now + o.shrink_grace
                    for fut in exploring:
                        fut.cancel()
                    exploring.clear()  # results after the time limit are not counted
                drawing = not timed_out and (
                    o.max_scenarios is None or next_index < o.max_scenarios
                )
                while len(exploring) + len(shrinking) < max(1, jobs):
                    if self.waiting and (len(shrinking) < shrink_slots or not drawing):
                        index, batch = self.waiting.popleft()
                        fut = executor.submit(
                            shrink_task,
                            o.seed,
                            index,
                            o.gen,
                            o.budget,
                            o.shrink,
                            batch,
                            str(self.out_dir),
                        )
                        shrinking[fut] = index
                    elif drawing:
                        fut = executor.submit(explore_task, o.seed, next_index, o.gen, o.budget)
                        exploring[fut] = next_index
                        next_index += 1
                        drawing = o.max_scenarios is None or next_index < o.max_scenarios
                    else:
                        break
                if not exploring and not shrinking and (not self.waiting or timed_out):
                    break
                if grace_end is not None and now >= grace_end:
                    break
                done, _ = wait_first([*exploring, *shrinking], 0.25)
                for fut in done:
                    if fut in exploring:
                        arrived[exploring.pop(fut)] = (fut.result(), self.elapsed())
                    else:
                        shrinking.pop(fut)
                        for m in fut.result():
                            self.minimised(m)
                while cursor in arrived:
                    self.explored(cursor, *arrived.pop(cursor))
                    cursor += 1
                if timed_out:  # what arrived past a gap still counts
                    for index in sorted(arrived):
                        self.explored(index, *arrived.pop(index))
                self.notify("on_progress", self.snapshot(len(shrinking) + len(self.waiting)))
        except KeyboardInterrupt:
            self.result.interrupted = True

    def snapshot(self, minimising: int) -> dict[str, Any]:
        r = self.result
        t = max(self.elapsed(), 1e-9)
        return {
            "seconds": t,
            "scenarios": r.scenarios,
            "scenarios_per_second": r.scenarios / t,
            "executions_per_second": r.executions / t,
            "signatures": len(self.records),
            "minimising": minimising,
        }

    def explored(self, index: int, found: SearchResult, at: float) -> None:
        r = self.result
        r.scenarios += 1
        r.executions += found.executions
        r.events += found.events
        new: list[Found] = []
        for f in found.found:
            record = self.records.get(f.signature)
            if record is not None:
                record.count += 1
                continue
            record = SignatureRecord(f.signature, f, index, at)
            self.records[f.signature] = record
            new.append(f)
            self.notify("on_signature", record)
        if new:
            r.timeline.append((at, len(self.records)))
            # kinds not yet minimised first: every kind gets its counterexample early
            have = {x.signature.kind for x in self.records.values() if x.result}
            new.sort(key=lambda f: f.signature.kind in have)
            for k in range(0, len(new), self.o.shrink_batch):
                self.waiting.append((index, new[k : k + self.o.shrink_batch]))

    def minimised(self, m: Minimised) -> None:
        record = self.records[m.signature]
        record.result = m
        path = self.out_dir / (m.signature.slug + ".toml")
        write_atomic(str(path), m.text)
        record.path = str(path)
        self.notify("on_minimised", record)

    def write_unminimised(self) -> None:
        for record in self.records.values():
            if record.result is None:
                drawn = generate(self.o.seed, record.scenario_index, self.o.gen)
                self.minimised(finalise(drawn, record.first, None, str(self.out_dir), verify=False))


def hunt(options: HuntOptions, out_dir: str | Path, observer: Any = None) -> HuntResult:
    """Run a hunt; scenario files go to ``out_dir`` (created if missing).  The
    observer may define ``on_progress(dict)``, ``on_signature(record)`` and
    ``on_minimised(record)``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _Hunt(options, out, observer).run()
