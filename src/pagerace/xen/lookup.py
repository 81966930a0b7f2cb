"""The lookup of a Xen virtual address's frame: ``xen_map_to_mfn``, or the older
``vmap_to_mfn`` walk.

From 4.19 on (in the modelled versions) ``vmap_to_mfn`` and
``domain_page_map_to_mfn`` use ``xen_map_to_mfn`` (4.19 mm.c 5147-5200), a read-only
walk under the L3 table's lock, labelled Q1-Q10 (see docs/xen-mapping-spec.md): it never
allocates below L4, handles superpages, and ASSERTs (ASSERT_UNREACHABLE) that the
address is mapped; a release build returns INVALID_MFN for a hole.

Before, ``vmap_to_mfn(va)`` was ``l1e_get_mfn(*virt_to_xen_l1e(va))``: the walkers
install L3, L2 and L1 tables for an unmapped address, BUG on a 2 MiB or 1 GiB leaf
(V2.4, V1.4), and the entry is read with no lock (VMAP.1, a macro of asm/page.h,
not of mm.c); a hole gives the frame number of whatever the entry holds (0 for an
empty one).
"""

from __future__ import annotations

from pagerace.machine import Machine, RefT
from pagerace.paging.pte import _PAGE_PRESENT, _PAGE_PSE, INVALID_MFN, pte_pfn
from pagerace.xen.config import XenConfig
from pagerace.xen.pagetable import virt_to_xen_l1e, virt_to_xen_l3e

__all__ = ["lookup", "vmap_to_mfn", "xen_map_to_mfn"]

_UNREACHABLE = "ASSERT_UNREACHABLE() in xen_map_to_mfn: the address is not mapped"


def lookup(m: Machine[RefT], va: int) -> int:
    """The frame ``va`` maps to, the way the version's callers ask for it."""
    cfg: XenConfig = m.config
    if cfg.version.has_xen_map_to_mfn:
        return xen_map_to_mfn(m, va)
    return vmap_to_mfn(m, va)


def xen_map_to_mfn(m: Machine[RefT], va: int) -> int:
    """``xen_map_to_mfn(va)``: the frame behind ``va``, or INVALID_MFN (release build)."""
    cfg: XenConfig = m.config
    g = m.geometry
    discipline = cfg.version.discipline
    sh1, sh2 = g.shift[1], g.shift[2]
    imask = g.index_mask
    l2i, l1i = (va >> sh2) & imask, (va >> sh1) & imask

    p3 = virt_to_xen_l3e(m, va)  # V3.1-V3.4: may install an L3 table
    if p3 is None:  # CHECK_MAPPED(pl3e), before any lock
        m.assertion("Q1", _UNREACHABLE)
        return INVALID_MFN
    t3, i3 = p3
    current_l3page = discipline.l3t_lock(m, t3)  # L3T_LOCK(l3page)
    ret = INVALID_MFN
    if not m.load(t3, i3, "Q1") & _PAGE_PRESENT:
        m.assertion("Q1", _UNREACHABLE)
    elif m.load(t3, i3, "Q2") & _PAGE_PSE:
        # the frame number at face value: an odd superpage frame shifts the result
        ret = pte_pfn(m.load(t3, i3, "Q3")) + (l2i << g.bits) + l1i
    else:
        t2 = m.ref(m.load(t3, i3, "Q4"))  # map_l2t_from_l3e(*pl3e) + l2_table_offset(va)
        if not m.load(t2, l2i, "Q5") & _PAGE_PRESENT:
            m.assertion("Q5", _UNREACHABLE)
        elif m.load(t2, l2i, "Q6") & _PAGE_PSE:
            ret = pte_pfn(m.load(t2, l2i, "Q7")) + l1i
        else:
            t1 = m.ref(m.load(t2, l2i, "Q8"))  # map_l1t_from_l2e(*pl2e) + l1_table_offset(va)
            if not m.load(t1, l1i, "Q9") & _PAGE_PRESENT:
                m.assertion("Q9", _UNREACHABLE)
            else:
                ret = pte_pfn(m.load(t1, l1i, "Q10"))
    # out:
    discipline.l3t_unlock(m, current_l3page)
    return ret


def vmap_to_mfn(m: Machine[RefT], va: int) -> int:
    """``vmap_to_mfn(va)`` before xen_map_to_mfn: ``l1e_get_mfn(*virt_to_xen_l1e(va))``."""
    p1 = virt_to_xen_l1e(m, va)  # V3.*, V2.*, V1.*: installs tables, BUGs on superpages
    if p1 is None:
        m.bug("VMAP.1", "vmap_to_mfn: virt_to_xen_l1e failed and its NULL is dereferenced")
        return INVALID_MFN
    t1, i1 = p1
    return pte_pfn(m.load(t1, i1, "VMAP.1"))
