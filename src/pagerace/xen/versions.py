"""The modelled Xen versions: one small ``Version`` object per variant.

The model functions (map_pages_to_xen, modify_xen_mappings, the walkers, the
lookup) exist once.  Where the versions' mm.c differ, the single body asks the
version, as mm.c's single body asks ``locking``:

* ``discipline``: the locking discipline (no L3-table lock before XSA-345, the
  per-L3-table lock after it);
* ``flush_local_if_irqs_off``: the ``flush_area`` macro of 4.14 and of the fix
  flushes only the calling CPU while its interrupts are off; later versions always
  flush every CPU (and ``flush_area_mask`` ASSERTs that interrupts are on);
* ``reuse_pl1e``: after installing a new L1 table at M6.2, 4.19 and later keep the
  pointer virt_to_xen_l1e returned instead of re-reading ``*pl2e`` at M7.1;
* ``is_lne_aligned`` and ``nonpresent_ignores_mfn``: the alignment test of the
  superpage paths (M2, M5) and of the coalesce triggers (M8, M9): 4.20.0 and 4.21
  test a non-present map's alignment against mfn 0 and ASSERT that the tested mfn is
  valid; 4.20.0's masks ignore bit 0 (a one-page offset counts as aligned);
* ``nonpresent_l2_checks_l3``: in modify_xen_mappings a non-present L2 slot (X3.2)
  goes on to the L2-table reclaim check (CHECK_L3) in 4.20.0 and 4.21 instead of to
  the next iteration;
* ``has_xen_map_to_mfn``: the lookup of a Xen virtual address is xen_map_to_mfn
  (Q1-Q10) from 4.19 on, the virt_to_xen_l1e-based vmap_to_mfn before;
* ``domheap_tables``: page tables come from the domheap and are reached through
  map_domain_page from 4.19 on.  Those mappings touch no page-table entry, so the
  model reaches the tables the same way in every version.

The Xen releases each variant stands for: ``releases`` for the versions after the fix
(checked by running the releases' own code); the XSA-345 variants stand for the
releases with and without the fix, which pagerace.advisory knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagerace.machine import Machine, RefT
from pagerace.paging.pte import INVALID_MFN
from pagerace.userio import did_you_mean
from pagerace.xen.variants import L3TableLocking, LockingDiscipline, NoL3Locking

__all__ = ["VERSIONS", "Version", "unknown_variant"]


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """One modelled version of Xen's hypervisor mapping code."""

    name: str
    title: str
    source: str  # the mm.c the variant follows
    discipline: LockingDiscipline
    xsa345_fixed: bool
    releases: tuple[str, ...] = ()  # for the versions after the fix (see module doc)
    flush_local_if_irqs_off: bool = False
    reuse_pl1e: bool = True
    has_xen_map_to_mfn: bool = True
    domheap_tables: bool = True
    nonpresent_ignores_mfn: bool = False  # M2/M5 test a non-present map against mfn 0
    assert_valid_mfn: bool = False  # IS_LnE_ALIGNED: ASSERT(!mfn_eq(m_, INVALID_MFN))
    align_ignores_bit0: bool = False  # 4.20.0: masks 2^18-2 and 510
    nonpresent_l2_checks_l3: bool = False  # X3.2: goto CHECK_L3
    changes: tuple[str, ...] = ()  # what this version changed, for ``pagerace variants``

    @property
    def align_mask(self) -> int:
        """The bits of ``pfn | mfn`` the alignment test ignores are cleared here."""
        return ~1 if self.align_ignores_bit0 else ~0

    def is_lne_aligned(self, m: Machine[RefT], pfn: int, mfn: int, pages: int, step: str) -> bool:
        """``IS_LnE_ALIGNED(virt, mfn, n)`` (4.20.0, 4.21), or the open-coded
        ``!(((virt >> PAGE_SHIFT) | mfn) & (pages - 1))`` of earlier versions."""
        if self.assert_valid_mfn and mfn == INVALID_MFN:
            m.assertion(step, "ASSERT(!mfn_eq(m_, INVALID_MFN)) in IS_LnE_ALIGNED")
        return (pfn | mfn) & (pages - 1) & self.align_mask == 0


_XEN_4_14 = Version(
    "xen-4.14",
    "Xen before the XSA-345 fix (4.14 and earlier)",
    "xen/arch/x86/mm.c at a7f0831e58, the parent of the XSA-345 series",
    NoL3Locking(),
    xsa345_fixed=False,
    flush_local_if_irqs_off=True,
    reuse_pl1e=False,
    has_xen_map_to_mfn=False,
    domheap_tables=False,
    changes=(
        "page tables from the xenheap, reached through the directmap",
        "only map_pgdir_lock, around table installs and coalesces",
        "flush_area: local only while interrupts are off",
    ),
)
_XSA_345 = Version(
    "xsa-345",
    "the XSA-345 fix (1ce75e99d7)",
    "xen/arch/x86/mm.c at 1ce75e99d7, 'x86/mm: Prevent some races in hypervisor mapping updates'",
    L3TableLocking(),
    xsa345_fixed=True,
    flush_local_if_irqs_off=True,
    reuse_pl1e=False,
    has_xen_map_to_mfn=False,
    domheap_tables=False,
    changes=(
        "the lock of the L3 table page held for each loop iteration (L3T_LOCK)",
        "modify_xen_mappings returns -ENOMEM when virt_to_xen_l3e fails",
    ),
)
_XEN_4_19 = Version(
    "xen-4.19",
    "Xen 4.19.0",
    "xen/arch/x86/mm.c at RELEASE-4.19.0 (026c9fa297)",
    L3TableLocking(),
    xsa345_fixed=True,
    releases=("4.19.0",),
    changes=(
        "page tables from the domheap, reached through map_domain_page",
        "flush_area always flushes every CPU (flush_area_all)",
        "M6.2: the L1 pointer from virt_to_xen_l1e is kept; M7.1 is skipped",
        "xen_map_to_mfn (Q1-Q10) replaces the virt_to_xen_l1e walk of vmap_to_mfn",
    ),
)
_XEN_4_20_0 = Version(
    "xen-4.20.0",
    "Xen 4.20.0",
    "xen/arch/x86/mm.c at RELEASE-4.20.0 (3ad5d648cd)",
    L3TableLocking(),
    xsa345_fixed=True,
    releases=("4.20.0", "4.19.1"),
    nonpresent_ignores_mfn=True,
    assert_valid_mfn=True,
    align_ignores_bit0=True,
    nonpresent_l2_checks_l3=True,
    changes=(
        "M2/M5: a non-present map tests its alignment against mfn 0 (unmaps take"
        " the superpage paths)",
        "IS_LnE_ALIGNED: ASSERT that the tested mfn is not INVALID_MFN",
        "IS_LnE_ALIGNED masks 510 and 2^18-2: a one-page offset counts as aligned (M2, M5, M8, M9)",
        "X3.2: a non-present L2 slot goes on to the L2 reclaim check (CHECK_L3)",
    ),
)
_XEN_4_21 = Version(
    "xen-4.21",
    "Xen 4.21.0",
    "xen/arch/x86/mm.c at RELEASE-4.21.0 (06af9ef229)",
    L3TableLocking(),
    xsa345_fixed=True,
    releases=("4.21.0", "4.19.2", "4.20.1", "later point releases up to 4.22.0"),
    nonpresent_ignores_mfn=True,
    assert_valid_mfn=True,
    nonpresent_l2_checks_l3=True,
    changes=("IS_LnE_ALIGNED masks corrected to 511 and 2^18-1",),
)

VERSIONS: dict[str, Version] = {
    v.name: v for v in (_XEN_4_14, _XSA_345, _XEN_4_19, _XEN_4_20_0, _XEN_4_21)
}
"""Every variant, oldest first."""


def unknown_variant(name: str) -> str:
    """The one wording of an unknown variant, after the place that names it (a file's
    key, a command-line flag): ``unknown variant "xen_4.14" (did you mean xen-4.14?);
    known: ...``."""
    return f'unknown variant "{name}"{did_you_mean(name, VERSIONS)}; known: {", ".join(VERSIONS)}'
