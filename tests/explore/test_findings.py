"""Findings: kinds, identity, keep_going, and the low-level API the machine uses."""

from __future__ import annotations

from typing import Any

from explore_programs import dining_philosophers, racy_increments

from pagerace.errors import XenBug
from pagerace.explore import Context, Status, TraceEvent, explore


def test_keep_going_lists_each_distinct_finding_once() -> None:
    result = explore(racy_increments(3), strategy="dfs", keep_going=True)
    assert result.executions > 10
    assert [f.key for f in result.findings] == [("assert", "lost increment")]


def test_keep_going_lists_two_different_bugs_separately() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def first() -> None:
            x.store(1)

        def second() -> None:
            value = x.load()
            ctx.check(value != 0, "read before the write")
            ctx.check(value != 1, "read after the write")

        return [first, second], None

    result = explore(program, strategy="dfs", keep_going=True)
    assert sorted(f.message for f in result.findings) == [
        "read after the write",
        "read before the write",
    ]
    assert len(result.findings) == 2


def test_all_threads_blocked_is_a_deadlock_finding_naming_the_locks() -> None:
    result = explore(dining_philosophers(3))
    (finding,) = result.findings
    assert finding.kind == "deadlock"
    assert "waits for lock 'fork1'" in finding.message
    assert finding.thread is None
    assert result.stats.deadlocks == 1


def test_an_exception_in_a_thread_is_a_finding_with_its_traceback() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def broken() -> None:
            x.store(1 // x.load())

        return [broken], None

    result = explore(program)
    (finding,) = result.findings
    assert finding.kind == "exception"
    assert finding.message.startswith("ZeroDivisionError")
    assert finding.thread == 0
    assert finding.key == ("exception", "load x", "ZeroDivisionError")
    assert finding.detail is not None
    assert "in broken" in finding.detail["traceback"]


def test_ctx_fail_cannot_be_swallowed_by_except_exception() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def stubborn() -> None:
            try:
                x.store(1)
                ctx.fail("use-after-free", "freed table read", detail={"mfn": 5})
            except Exception:  # model code must not be able to hide a finding
                pass

        return [stubborn], None

    result = explore(program)
    (finding,) = result.findings
    assert (finding.kind, finding.message, finding.key) == (
        "use-after-free",
        "freed table read",
        ("use-after-free", "store x"),
    )
    assert finding.detail == {"mfn": 5}


def test_a_xen_bug_signal_becomes_a_bug_finding() -> None:
    def program(ctx: Context) -> Any:
        def body() -> None:
            ctx.event(((("pte", 1, 2), False),), "M1.1")
            raise XenBug("M1.2", "BUG_ON(!l3e_present)")

        return [body], None

    (finding,) = explore(program).findings
    assert finding.kind == "bug"
    assert finding.key == ("bug", "M1.1")


def test_a_failing_check_is_an_assert_finding_outside_any_thread() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)
        return [lambda: x.store(1)], lambda: ctx.check(x.peek() == 2, "x must be 2")

    (finding,) = explore(program).findings
    assert (finding.kind, finding.thread, finding.message) == ("assert", None, "x must be 2")


def test_ctx_event_returns_the_trace_record_and_the_caller_may_update_its_detail() -> None:
    seen: list[TraceEvent] = []

    def program(ctx: Context) -> Any:
        memory = {"pte": 0}
        seen.clear()  # the records of the last execution run (a failing one is re-run)

        def cpu() -> None:
            assert ctx.nthreads == 2
            ev = ctx.event(((("pte", ctx.thread), True),), f"M7.{ctx.thread}", {"op": "store"})
            old = memory["pte"]
            memory["pte"] = ctx.thread + 1
            assert ev.detail is not None
            ev.detail.update(old=old, new=memory["pte"])
            seen.append(ev)
            ctx.note("done", {"cpu": ctx.thread})

        def check() -> None:
            ctx.fail("report", "show the trace")

        return [cpu, cpu], check

    result = explore(program, strategy="replay", schedule="v1:0.1")
    (finding,) = result.findings
    trace = finding.trace
    assert [(e.thread, e.label, e.kind) for e in trace] == [
        (0, "M7.0", "event"),
        (0, "done", "note"),
        (1, "M7.1", "event"),
        (1, "done", "note"),
    ]
    assert [e.index for e in trace] == [0, 1, 2, 3]
    assert trace[0].detail == {"op": "store", "old": 0, "new": 1}
    assert trace[2].detail == {"op": "store", "old": 1, "new": 2}
    assert trace[0] is seen[0]


def test_notes_are_not_scheduling_points() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def body() -> None:
            ctx.note("start")
            x.store(ctx.thread)
            ctx.note("end")

        return [body, body], None

    assert explore(program, strategy="dfs").executions == 2


def test_lock_events_carry_the_labels_given_to_acquire_and_release() -> None:
    def program(ctx: Context) -> Any:
        lock = ctx.lock("map_pgdir_lock")

        def body() -> None:
            lock.acquire(label="L3T_LOCK")
            lock.release(label="L3T_UNLOCK")

        return [body], lambda: ctx.fail("report", "trace")

    (finding,) = explore(program).findings
    assert [(e.label, e.kind, e.footprint) for e in finding.trace] == [
        ("L3T_LOCK", "acquire", ((("lock", "map_pgdir_lock"), True),)),
        ("L3T_UNLOCK", "release", ((("lock", "map_pgdir_lock"), True),)),
    ]


def test_releasing_a_lock_that_is_not_held_is_an_exception_finding() -> None:
    def program(ctx: Context) -> Any:
        lock = ctx.lock("L")
        return [lock.release], None

    (finding,) = explore(program).findings
    assert finding.kind == "exception"
    assert "releases lock 'L' held by nobody" in finding.message


def test_observers_hear_start_every_execution_findings_and_end() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def on_start(self, info: Any) -> None:
            self.calls.append(f"start {info.strategy}")

        def on_execution_end(self, index: int, stats: Any) -> None:
            self.calls.append(f"end {index} {stats.executions}")

        def on_finding(self, finding: Any) -> None:
            self.calls.append(f"finding {finding.kind}")

        def on_end(self, result: Any) -> None:
            self.calls.append(f"done {result.status}")

    recorder = Recorder()
    explore(racy_increments(2), strategy="dfs", observers=[recorder])
    assert recorder.calls == [
        "start dfs",
        "end 0 1",
        "finding assert",
        "end 1 2",
        "done found",
    ]


def test_a_thread_with_no_events_runs_and_finishes() -> None:
    def program(ctx: Context) -> Any:
        return [lambda: None, lambda: None], None

    result = explore(program)
    assert (result.status, result.executions) == (Status.CLEAN, 1)
    assert result.findings == ()


def test_cell_accesses_notes_events_and_locks_keep_their_order_index_and_detail() -> None:
    # Cell accesses are recorded compactly and become TraceEvents when the trace is
    # read; their place, index and detail must be those of an eager record.
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)
        lock = ctx.lock("L")

        def worker() -> None:
            ctx.note("begin", {"n": 1})
            with lock:
                x.store(x.load() + 1)
            ev = ctx.event(((("cell", "y"), True),), "Y")
            ev.detail = {"y": 1}
            x.cas(1, 5)
            x.cas(1, 6)
            ctx.fail("done", "stop here")

        return [worker], None

    result = explore(program, strategy="dfs")
    trace = result.findings[0].trace
    assert [(e.index, e.label, e.kind, e.detail) for e in trace] == [
        (0, "begin", "note", {"n": 1}),
        (1, "acquire L", "acquire", None),
        (2, "load x", "event", {"value": 0}),
        (3, "store x", "event", {"value": 1}),
        (4, "release L", "release", None),
        (5, "Y", "event", {"y": 1}),
        (6, "cas x", "event", {"old": 1, "new": 5, "ok": True}),
        (7, "cas x", "event", {"old": 5, "new": 6, "ok": False}),
    ]
    assert trace[2].footprint == ((("cell", "x"), False),)
    assert result.findings[0].schedule == "v1:0x7"


def test_reported_findings_let_the_execution_go_on_and_share_its_schedule() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def writer() -> None:
            x.store(1)
            ctx.report("wild-write", "first problem", key=("wild-write", "W1"))
            x.store(2)  # still runs: the report did not end the execution

        def check() -> None:
            ctx.report("leak", "x is not 0", key=("leak", "end"))
            ctx.report("lost-update", "x is not 3")
            if x.peek() == 2:
                ctx.fail("stale-tlb", "and a fatal one")

        return [writer], check

    result = explore(program, keep_going=True)
    assert [(f.kind, f.key, f.thread, f.at) for f in result.findings] == [
        ("wild-write", ("wild-write", "W1"), 0, 1),
        ("leak", ("leak", "end"), None, 2),
        ("lost-update", ("lost-update", "check"), None, 2),
        ("stale-tlb", ("stale-tlb", "check"), None, None),
    ]
    assert len({f.schedule for f in result.findings}) == 1
    assert result.findings[0].trace == result.findings[3].trace
    assert result.status is Status.FOUND


def test_a_report_from_a_thread_takes_the_label_of_its_last_event_even_unrecorded() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def body() -> None:
            x.load()
            x.store(5)
            ctx.report("bug", "ASSERT failed")
            x.store(6)

        return [body, lambda: x.load()], None

    # dpor runs executions without recording; the finding's execution is re-run recorded
    result = explore(program, strategy="dpor", keep_going=True)
    assert [f.key for f in result.findings] == [("bug", "store x")]
    assert result.executions >= 2


def test_without_keep_going_the_search_stops_after_the_execution_that_reported() -> None:
    def program(ctx: Context) -> Any:
        x = ctx.cell("x", 0)

        def a() -> None:
            x.store(1)

        def b() -> None:
            if x.load() == 1:
                ctx.report("lost-update", "saw 1")

        return [a, b], None

    result = explore(program, strategy="dfs")  # dfs runs thread 0 first
    assert [(f.kind, f.schedule) for f in result.findings] == [("lost-update", "v1:0.1")]
    assert result.executions == 1
    assert explore(program, strategy="dfs", keep_going=True).executions == 2
