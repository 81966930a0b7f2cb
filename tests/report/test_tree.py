"""``format_tree`` folds runs and marks what is not a table."""

from __future__ import annotations

from pagerace.paging.pte import mk_pte
from pagerace.report.tree import format_tree
from pagerace.xen.hypervisor import Hypervisor

PH = 0x8000000000000163


def test_a_directmap_of_superpages_prints_in_a_few_lines() -> None:
    hv = Hypervisor(512)
    hv.map(hv.geometry.directmap, 0, 4 * 262144, PH)
    lines = format_tree(hv.memory, hv.root, hv.geometry)
    assert lines[1] == "└─ L4[262] 0xffff830000000000 -> L3 table 0x1000001  P|RW|A|D"
    assert "L3[0..3] 0xffff830000000000 4 x 1G leaves mfn 0x0..0xc0000" in lines[2]
    assert lines[-1] == "1 page-table page besides the root"


def test_a_table_entry_pointing_at_a_data_frame_is_flagged() -> None:
    hv = Hypervisor(8)
    hv.map(hv.geometry.directmap, 5, 1, PH)
    l3 = next(f for f, lvl in hv.memory.level.items() if lvl == 3)
    hv.memory.write(l3, 3, mk_pte(0x99, 0x63))
    text = "\n".join(format_tree(hv.memory, hv.root, hv.geometry))
    assert "-> data frame 0x99 (!)" in text
