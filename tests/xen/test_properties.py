"""Properties at 8 entries per table, over random operation sequences.

* The two variants differ only in locking (and in -ENOMEM on a failed L3 walk in
  modify, which these sequences never provoke): sequentially they must agree on
  every result and every state.
* What the hardware sees (pagerace.paging.walk.translate of every page in the
  window) agrees with a naive dictionary model of what each operation means:
  map sets va -> (mfn + i, flags), modify with a present nf changes only the
  masked bits NX|D|A|RW|P, destroy (or a non-present nf, populate, or a map with
  non-present flags) removes.  Modulo A/D (the skip tests ignore them) and the
  PSE bit of superpage leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from xen_small import (
    DM,
    L3SPAN,
    MFN,
    PAGE,
    PH,
    PSE,
    RO,
    RW_NOG,
    RWX,
    RX,
    SMALL,
    UC,
    UCMINUS,
    new,
    state,
)

from pagerace.paging.pte import INVALID_MFN
from pagerace.paging.walk import Fault, Translation, translate
from pagerace.xen.config import SystemState
from pagerace.xen.hypervisor import Hypervisor, OpResult

# The window: directmap L3 entries 0 and 1 and the last two L3 entries of the L4
# slot below, 256 pages across an L4 boundary.  WIN0 is 64-page (1G) aligned.
WIN0 = DM - 2 * L3SPAN
WIN_PAGES = 256
AD = 0x60

MAP_FLAGS = [PH, PH, PH, RO, RX, RWX, UC, UCMINUS, RW_NOG, PH | SMALL, PH & ~AD]
PRESENT_NF = [RO, PH, RX, RW_NOG, UC, PH & ~AD]
ABSENT_NF = [0, 0x2, 0x8000_0000_0000_0060]


@dataclass(frozen=True)
class Op:
    kind: str  # map, unmap, populate, modify, destroy
    page: int
    nr: int
    arg: int = 0  # map: mfn base offset; modify: nf
    flags: int = 0

    @property
    def mfn(self) -> int:
        return MFN + self.arg + self.page

    def run(self, hv: Hypervisor) -> OpResult:
        s = WIN0 + self.page * PAGE
        e = s + self.nr * PAGE
        if self.kind == "map":
            return hv.map(s, self.mfn, self.nr, self.flags)
        if self.kind == "unmap":  # vunmap: map_pages_to_xen(va, INVALID_MFN, n, _PAGE_NONE)
            return hv.map(s, INVALID_MFN, self.nr, 0)
        if self.kind == "populate":
            return hv.populate(s, self.nr)
        if self.kind == "modify":
            return hv.modify(s, e, self.arg)
        return hv.destroy(s, e)


pages = st.one_of(
    st.integers(0, WIN_PAGES - 1),
    st.integers(0, WIN_PAGES // 8 - 1).map(lambda x: 8 * x),  # 2M-aligned
    st.sampled_from([0, 64, 128, 192]),  # 1G-aligned
)
# A few fixed pages for one-page maps, so that a UC map (shatter) and a later
# PAGE_HYPERVISOR map of the same page (coalesce back) meet often.
touched_pages = st.sampled_from([3, 128 + 63])
counts = st.one_of(
    st.integers(1, 9), st.sampled_from([8, 16, 56, 64, 65, 128]), st.integers(1, 200)
)
# mfn = MFN + offset + page: offset 0 keeps the frame as aligned as the address
# (so 2M and 1G paths and coalescing happen), 8 keeps only 2M alignment, 1 none.
mfn_offsets = st.sampled_from([0, 0, 8, 1, 0x100])


@st.composite
def ops(draw: st.DrawFn, *, absent_map_flags: bool = True) -> Op:
    kinds = ["map", "map", "touch", "touch", "touch", "unmap", "populate", "modify", "destroy"]
    kind = draw(st.sampled_from(kinds))
    if kind == "touch":  # one page, identity frame: PAGE_HYPERVISOR or UC
        return Op("map", draw(touched_pages), 1, 0, draw(st.sampled_from([PH, UC])))
    page = draw(pages)
    nr = min(draw(counts), WIN_PAGES - page)
    if kind == "map":
        flags = draw(st.sampled_from([*MAP_FLAGS, 0] if absent_map_flags else MAP_FLAGS))
        return Op(kind, page, nr, draw(mfn_offsets), flags)
    if kind == "modify":
        return Op(kind, page, nr, draw(st.sampled_from(PRESENT_NF + ABSENT_NF)))
    return Op(kind, page, nr)


# Half of the sequences start from the boot directmap: the whole window mapped
# with PAGE_HYPERVISOR, identity frames (1G leaves with page1gb, else 2M leaves).
BOOT_MAP = Op("map", 0, WIN_PAGES, 0, PH)
sequences = st.tuples(st.booleans(), st.lists(ops(), min_size=1, max_size=12)).map(
    lambda t: [BOOT_MAP, *t[1]] if t[0] else t[1]
)

environments = st.fixed_dictionaries(
    {
        "page1gb": st.booleans(),
        "nx": st.booleans(),
        "system_state": st.sampled_from([SystemState.active, SystemState.boot]),
    }
)


@settings(max_examples=150, deadline=None)
@given(env=environments, sequence=sequences)
def test_both_variants_give_identical_sequential_results(env: dict, sequence: list[Op]) -> None:
    vuln = new(variant="xen-4.14", **env)
    fixed = new(variant="xsa-345", **env)
    for op in sequence:
        a = op.run(vuln)
        b = op.run(fixed)
        assert a == b, op
        assert state(vuln) == state(fixed), op
        if a.error is not None:  # an ASSERT fired in both: Xen is dead
            break


# -- the reference model ---------------------------------------------------------------------


def _normal(flags: int, level: int) -> int:
    """Leaf flags without A/D and without the PSE of a superpage."""
    flags &= ~AD
    return flags & ~PSE if level > 1 else flags


class Reference:
    """va page -> (mfn, 64-bit flags): what the operations mean, page by page."""

    def __init__(self, nx: bool) -> None:
        self.pages: dict[int, tuple[int, int]] = {}
        self.mask = (1 << 63 if nx else 0) | 0x63  # FLAGS_MASK: NX|D|A|RW|P

    def mapped_run(self, first: int, end: int) -> tuple[int, int] | None:
        """The first maximal run of mapped pages inside [first, end)."""
        p = first
        while p < end and p not in self.pages:
            p += 1
        if p == end:
            return None
        q = p
        while q < end and q in self.pages:
            q += 1
        return p, q

    def apply(self, op: Op, mfn: int) -> None:
        span = range(op.page, op.page + op.nr)
        if op.kind == "map" and op.flags & 1:
            for i, p in enumerate(span):
                self.pages[p] = (mfn + i, op.flags)
        elif op.kind == "modify" and op.arg & 1:
            for p in span:
                frame, flags = self.pages[p]
                self.pages[p] = (frame, (flags & ~self.mask) | (op.arg & self.mask))
        else:  # unmap, populate, destroy, modify/map with non-present flags
            for p in span:
                self.pages.pop(p, None)


def _check_walks(hv: Hypervisor, ref: Reference, after: Op) -> None:
    for p in range(WIN_PAGES):
        t = translate(hv.memory, hv.root, hv.geometry, WIN0 + p * PAGE, page1gb=hv.config.page1gb)
        want = ref.pages.get(p)
        if want is None:
            assert isinstance(t, Fault), (after, p, t)
        else:
            assert isinstance(t, Translation), (after, p, want, t)
            assert (t.mfn, _normal(t.flags, t.level)) == (want[0], _normal(want[1], 1)), (
                after,
                p,
            )


@settings(max_examples=150, deadline=None)
@given(
    env=environments,
    # 4.20.0 is left out: its one-page alignment window breaks what the map promises
    variant=st.sampled_from(["xen-4.14", "xsa-345", "xen-4.19", "xen-4.21"]),
    sequence=sequences,
)
def test_the_hardware_walk_of_every_page_agrees_with_a_naive_model_of_the_operations(
    env: dict, variant: str, sequence: list[Op]
) -> None:
    hv = new(variant=variant, **env)
    ref = Reference(env["nx"])
    for op in sequence:
        if op.kind == "modify" and op.arg & 1:
            # A present nf may only cover fully mapped pages (no ASSERT may fire):
            # shrink the range to its first run of mapped pages, or drop the op.
            run = ref.mapped_run(op.page, op.page + op.nr)
            if run is None:
                continue
            op = Op("modify", run[0], run[1] - run[0], op.arg)
        r = op.run(hv)
        assert (r.rc, r.error) == (0, None), op
        ref.apply(op, op.mfn)
        _check_walks(hv, ref, op)
