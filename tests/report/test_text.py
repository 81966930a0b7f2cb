"""Text counterexamples and trees read like the code."""

from __future__ import annotations

from pathlib import Path

from pagerace.report.text import collapse, format_counterexample, replay_command
from pagerace.report.trace import function_of, trace_steps
from pagerace.runner import RunOptions, run_scenario
from pagerace.scenario import load_scenario

SCENARIOS = Path(__file__).parents[2] / "src" / "pagerace" / "data" / "scenarios"


def r1(entries: str = "-small"):  # type: ignore[no-untyped-def]
    sc = load_scenario(SCENARIOS / f"xsa345-r1{entries}.toml")
    return sc, run_scenario(sc, RunOptions())


def test_step_labels_map_to_their_xen_functions() -> None:
    assert function_of("V3.1") == "virt_to_xen_l3e"
    assert function_of("V2.4") == "virt_to_xen_l2e"
    assert function_of("V1.5") == "virt_to_xen_l1e"
    assert function_of("M9.6") == "map_pages_to_xen"
    assert function_of("X5.8") == "modify_xen_mappings"
    assert function_of("L3T_LOCK", "fallback") == "fallback"
    assert function_of("M7.4:IPI") == "map_pages_to_xen"
    assert function_of("HW") == "hardware walk"
    assert function_of("local_irq_disable", "f") == "f"


def test_with_a_variant_every_xen_step_has_its_mm_c_lines() -> None:
    _sc, run = r1()
    steps = trace_steps(run.findings[0].trace, variant="xen-4.14")
    xen = [s for s in steps if s["step"] and s["function"] != "hardware walk"]
    assert xen and all(s["lines"] for s in xen)
    assert all(s["lines"] == [] for s in steps if s["op"] in ("call", "return"))
    assert "lines" not in trace_steps(run.findings[0].trace)[0]


def test_the_r1_trace_shows_the_free_the_preemption_and_the_stale_load() -> None:
    _sc, run = r1()
    f = run.findings[0]
    steps = trace_steps(f.trace)
    ops = [(s["cpu"], s["step"], s["op"]) for s in steps]
    assert (1, "M9.6", "free") in ops and (1, "M8.6", "free") in ops
    assert sum(s["preempted"] for s in steps) == f.preemptions == 1
    last = [s for s in steps if s["index"] < f.at][-1]  # the step that found it
    assert last["cpu"] == 0 and last["frame_state"] == "free" and last["gen"] == 2
    free_t2 = next(s for s in steps if s["step"] == "M9.6")
    assert free_t2["frame"] == last["frame"]
    store = next(s for s in steps if s["step"] == "M9.4")
    assert "1G" not in store["decoded_old"] and "P|RW|A|D|PSE|G|NX" in store["decoded_new"]


def test_the_text_counterexample_names_every_cpu_step_and_the_replay_command() -> None:
    _sc, run = r1()
    f = run.findings[0]
    lines = format_counterexample(f, source="xsa345-r1-small", variant="xen-4.14", ncpus=2)
    text = "\n".join(lines)
    assert lines[0] == f"use-after-free: {f.message}"
    assert "--- preemption: CPU0 -> CPU1 ---" in text
    # each step: label, function and its line in mm.c at the variant's commit
    assert "function:line in xen/arch/x86/mm.c at a7f0831e58" in lines[1]
    assert "CPU1 M9.4      map_pages_to_xen:5423    write entry 1 of L3 table" in text
    assert "CPU0 V2.4      virt_to_xen_l2e:5022" in text
    # a lock's line is the spin_lock's, not the line of the load the label names
    assert "CPU1 M9.1      map_pages_to_xen:5398    spin_lock(map_pgdir_lock)" in text
    # the same finding on the fixed code's lines
    fixed = "\n".join(format_counterexample(f, source="s", variant="xsa-345", ncpus=2))
    assert "at 1ce75e99d7" in fixed and "map_pages_to_xen:5494 " in fixed
    # a variant without a column of lines: functions only
    other = format_counterexample(f, source="s", variant="no-such-variant", ncpus=2)
    assert "mm.c" not in other[1] and "CPU1 M9.4      map_pages_to_xen         write" in (
        "\n".join(other)
    )
    assert lines[-1] == "  replay: " + replay_command("xsa345-r1-small", f.schedule, "xen-4.14")


def test_a_fill_loop_of_a_thousand_identical_loads_is_folded_into_one_line() -> None:
    _sc, run = r1("")
    steps = trace_steps(run.findings[0].trace)
    folded = collapse(steps)
    assert len(steps) > 1000 and len(folded) < 100
    fill = next((s, n) for s, n in folded if n > 1)
    assert fill[0]["step"].startswith("M6.6/M6.7") and fill[1] >= 1024
    # with lines, the folded loop shows the lines of all its labels
    with_lines = collapse(trace_steps(run.findings[0].trace, variant="xen-4.14"))
    fill = next((s, n) for s, n in with_lines if n > 1)
    assert {5297, 5298} <= set(fill[0]["lines"])
    assert sum(n for _, n in folded) == len(steps)
