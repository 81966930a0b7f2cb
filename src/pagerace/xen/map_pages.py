"""``map_pages_to_xen`` and ``populate_pt_range`` (V 5072-5445, F 5133-5520).

Reads side by side with xen/arch/x86/mm.c and docs/xen-mapping-spec.md: every
shared access in the spec's order, its step label (M1.1 ... M9.6) in a comment or
as the machine call's label.  ``virt``, ``mfn`` and ``nr_mfns`` are the C locals;
``flags`` is Xen's 24-bit flag word.  The geometry replaces Xen's constants
(PAGETABLE_ORDER = ``bits``, 512 = ``entries``, 2^18 = ``l3_pages``) so the same
code runs at 512 entries and at small-scope geometries.
"""

from __future__ import annotations

from pagerace.machine import Machine, RefT
from pagerace.paging.flush import (
    FLUSH_CACHE,
    FLUSH_ORDER,
    FLUSH_TLB,
    FLUSH_TLB_GLOBAL,
    FLUSH_VA_VALID,
)
from pagerace.paging.pte import (
    __PAGE_HYPERVISOR,
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_GLOBAL,
    _PAGE_PAT,
    _PAGE_PRESENT,
    _PAGE_PSE,
    INVALID_MFN,
    MAP_SMALL_PAGES,
    MASK64,
    PAGE_CACHE_ATTRS,
    l1f_to_lNf,
    lNf_to_l1f,
    mk_pte,
    pte_flags,
    pte_pfn,
    put_pte_flags,
)
from pagerace.xen.config import XenConfig
from pagerace.xen.pagetable import (
    alloc_xen_pagetable,
    flush_area,
    free_xen_pagetable,
    virt_to_xen_l1e,
    virt_to_xen_l2e,
    virt_to_xen_l3e,
)
from pagerace.xen.variants import MAP_PGDIR_LOCK

__all__ = ["ENOMEM", "map_pages_to_xen", "populate_pt_range"]

ENOMEM = 12
FLUSH_TLB_ORDER0 = FLUSH_TLB | FLUSH_ORDER(0)
_NOT_AD = ~(_PAGE_ACCESSED | _PAGE_DIRTY)


def map_pages_to_xen(m: Machine[RefT], virt: int, mfn: int, nr_mfns: int, flags: int) -> int:
    """Map ``nr_mfns`` frames from ``mfn`` at ``virt``; 0 or -ENOMEM (no rollback)."""
    cfg: XenConfig = m.config
    g = m.geometry
    locking = cfg.locking
    page1gb = cfg.page1gb
    PAGE_HYPERVISOR = cfg.page_hypervisor
    version = cfg.version
    discipline = version.discipline
    aligned = version.is_lne_aligned
    order = g.bits  # PAGETABLE_ORDER
    entries = g.entries
    imask = g.index_mask
    sh1, sh2, _sh3 = g.shift[1], g.shift[2], g.shift[3]
    l2_pages = g.l2_pages  # 1 << PAGETABLE_ORDER
    l3_pages = g.l3_pages  # 1 << (2 * PAGETABLE_ORDER)
    va_valid_lo, va_valid_hi = g.directmap, g.hypervisor_virt_end
    no_superpage = flags & (_PAGE_PAT | MAP_SMALL_PAGES)
    want_present = flags & _PAGE_PRESENT
    leaf_bits = put_pte_flags(flags)
    # 4.20.0 on: IS_LnE_ALIGNED(virt, flags & _PAGE_PRESENT ? mfn : _mfn(0)) at M2, M5
    zero_mfn = version.nonpresent_ignores_mfn and not want_present
    run_mask = imask & version.align_mask  # the L1 offsets the alignment test looks at

    def acc(ff: int, o: int) -> int:
        # the flush_flags(oldf) macro (V 5083-5095)
        if o & _PAGE_GLOBAL:
            ff |= FLUSH_TLB_GLOBAL
        if want_present and (o ^ flags) & PAGE_CACHE_ATTRS:
            ff |= FLUSH_CACHE
            if va_valid_lo <= virt < va_valid_hi:
                ff |= FLUSH_VA_VALID
        return ff

    current_l3page = None  # L3T_INIT
    rc = 0
    while nr_mfns != 0:
        discipline.l3t_unlock(m, current_l3page)
        current_l3page = None
        p3 = virt_to_xen_l3e(m, virt)
        if p3 is None:
            rc = -ENOMEM
            break
        t3, i3 = p3
        current_l3page = discipline.l3t_lock(m, t3)

        ol3e = m.load(t3, i3, "M1.1")

        # ---- M2: 1 GiB path -------------------------------------------------------
        if (
            page1gb
            and aligned(m, virt >> sh1, 0 if zero_mfn else mfn, l3_pages, "M2")
            and nr_mfns >= l3_pages
            and not no_superpage
        ):
            m.store(t3, i3, mk_pte(mfn, l1f_to_lNf(flags)), "M2.1")
            if ol3e & _PAGE_PRESENT:
                ff = FLUSH_TLB | FLUSH_ORDER(2 * order)
                if ol3e & _PAGE_PSE:
                    ff = acc(ff, lNf_to_l1f(pte_flags(ol3e)))
                    flush_area(m, virt, ff, "M2.2")
                else:
                    t2 = m.ref(ol3e)
                    for ol2e in m.scan(t2, "M2.3"):
                        if not ol2e & _PAGE_PRESENT:
                            continue
                        if ol2e & _PAGE_PSE:
                            ff = acc(ff, lNf_to_l1f(pte_flags(ol2e)))
                        else:
                            for ol1e in m.scan(m.ref(ol2e), "M2.4"):
                                ff = acc(ff, pte_flags(ol1e))
                    flush_area(m, virt, ff, "M2.5")
                    for ol2e in m.scan(t2, "M2.6"):
                        if ol2e & _PAGE_PRESENT and not ol2e & _PAGE_PSE:
                            free_xen_pagetable(m, m.ref(ol2e), 1, "M2.7")
                    free_xen_pagetable(m, t2, 2, "M2.8")
            virt += l3_pages << sh1
            if mfn != INVALID_MFN:
                mfn += l3_pages
            nr_mfns -= l3_pages
            continue

        # ---- M3: an existing 1 GiB superpage: skip, or shatter ---------------------
        if ol3e & _PAGE_PRESENT and ol3e & _PAGE_PSE:
            ff = FLUSH_TLB | FLUSH_ORDER(2 * order)
            if (pte_pfn(ol3e) & ~(l3_pages - 1)) + (((virt >> sh2) & imask) << order) + (
                (virt >> sh1) & imask
            ) == mfn and ((lNf_to_l1f(pte_flags(ol3e)) ^ flags) & _NOT_AD) == 0:
                # We can skip to the end of the L3 superpage if we got a match.
                i = l3_pages - (mfn & (l3_pages - 1))
                if i > nr_mfns:
                    i = nr_mfns
                virt += i << sh1
                if mfn != INVALID_MFN:
                    mfn += i
                nr_mfns -= i
                continue
            l2t = alloc_xen_pagetable(m, 2, "M3")
            if l2t is None:
                rc = -ENOMEM
                break
            opfn, oflags = pte_pfn(ol3e), pte_flags(ol3e)
            for i in range(entries):
                m.init_entry(l2t, i, mk_pte(opfn + (i << order), oflags))
            if oflags & _PAGE_GLOBAL:
                ff |= FLUSH_TLB_GLOBAL
            if locking:
                m.lock(MAP_PGDIR_LOCK, "M3.1")
            if m.load(t3, i3, "M3.1") & _PAGE_PRESENT and m.load(t3, i3, "M3.2") & _PAGE_PSE:
                m.store(t3, i3, mk_pte(m.frame(l2t), __PAGE_HYPERVISOR), "M3.3")
                l2t = None
            if locking:
                m.unlock(MAP_PGDIR_LOCK, "M3.3")
            flush_area(m, virt, ff, "M3.4")
            if l2t is not None:
                free_xen_pagetable(m, l2t, 2, "M3.4")

        # ---- M4: the L2 pointer (re-walks from the root) ----------------------------
        p2 = virt_to_xen_l2e(m, virt)
        if p2 is None:
            rc = -ENOMEM
            break
        t2, i2 = p2

        if (
            aligned(m, virt >> sh1, 0 if zero_mfn else mfn, l2_pages, "M5")
            and nr_mfns >= l2_pages
            and not no_superpage
        ):
            # ---- M5: 2 MiB superpage mapping ----------------------------------------
            ol2e = m.load(t2, i2, "M5.1")
            m.store(t2, i2, mk_pte(mfn, l1f_to_lNf(flags)), "M5.2")
            if ol2e & _PAGE_PRESENT:
                ff = FLUSH_TLB | FLUSH_ORDER(order)
                if ol2e & _PAGE_PSE:
                    ff = acc(ff, lNf_to_l1f(pte_flags(ol2e)))
                    flush_area(m, virt, ff, "M5.3")
                else:
                    t1 = m.ref(ol2e)
                    for ol1e in m.scan(t1, "M5.4"):
                        ff = acc(ff, pte_flags(ol1e))
                    flush_area(m, virt, ff, "M5.5")
                    free_xen_pagetable(m, t1, 1, "M5.6")
            virt += 1 << sh2
            if mfn != INVALID_MFN:
                mfn += l2_pages
            nr_mfns -= l2_pages
        else:
            # ---- M6: 4 KiB mapping, make sure an L1 table exists -------------------
            p1 = None
            if not m.load(t2, i2, "M6.1") & _PAGE_PRESENT:
                p1 = virt_to_xen_l1e(m, virt)  # M6.2
                if p1 is None:
                    rc = -ENOMEM
                    break
                if not version.reuse_pl1e:
                    p1 = None  # 4.14 and the fix discard the pointer and re-read at M7.1
            elif m.load(t2, i2, "M6.3") & _PAGE_PSE:
                ff = FLUSH_TLB | FLUSH_ORDER(order)
                # Skip this PTE if there is no change.
                if (pte_pfn(m.load(t2, i2, "M6.4")) & ~(entries - 1)) + (
                    (virt >> sh1) & imask
                ) == mfn and (
                    (lNf_to_l1f(pte_flags(m.load(t2, i2, "M6.5"))) ^ flags) & _NOT_AD
                ) == 0:
                    i = l2_pages - (mfn & (l2_pages - 1))
                    if i > nr_mfns:
                        i = nr_mfns
                    virt += i << sh1
                    if mfn != INVALID_MFN:
                        mfn += i
                    nr_mfns -= i
                    _check_l3(m, t3, i3, virt, mfn, nr_mfns, flags, PAGE_HYPERVISOR)
                    continue
                l1t = alloc_xen_pagetable(m, 1, "M6")
                if l1t is None:
                    rc = -ENOMEM
                    break
                for i in range(entries):
                    # live re-reads of *pl2e for every entry, as the C does
                    pfn = pte_pfn(m.load(t2, i2, "M6.6"))
                    fl = lNf_to_l1f(pte_flags(m.load(t2, i2, "M6.7")))
                    m.init_entry(l1t, i, mk_pte(pfn + i, fl))
                if m.load(t2, i2, "M6.8") & _PAGE_GLOBAL:
                    ff |= FLUSH_TLB_GLOBAL
                if locking:
                    m.lock(MAP_PGDIR_LOCK, "M6.9")
                if m.load(t2, i2, "M6.9") & _PAGE_PRESENT and m.load(t2, i2, "M6.9") & _PAGE_PSE:
                    m.store(t2, i2, mk_pte(m.frame(l1t), __PAGE_HYPERVISOR), "M6.10")
                    l1t = None
                if locking:
                    m.unlock(MAP_PGDIR_LOCK, "M6.10")
                flush_area(m, virt, ff, "M6.11")
                if l1t is not None:
                    free_xen_pagetable(m, l1t, 1, "M6.11")

            # ---- M7: write the 4 KiB leaf -------------------------------------------
            # 4.19 and later keep the pointer of M6.2 (derived from V1.5): no M7.1
            t1 = m.ref(m.load(t2, i2, "M7.1")) if p1 is None else p1[0]
            while True:
                i1 = (virt >> sh1) & imask
                ol1e = m.load(t1, i1, "M7.2")
                m.store(t1, i1, ((mfn << 12) | leaf_bits) & MASK64, "M7.3")  # mk_pte(mfn, flags)
                if ol1e & _PAGE_PRESENT:
                    flush_area(m, virt, acc(FLUSH_TLB_ORDER0, pte_flags(ol1e)), "M7.4")
                virt += 1 << sh1
                if mfn != INVALID_MFN:
                    mfn += 1
                nr_mfns -= 1
                # On one CPU, the next iterations up to the end of this L1 table
                # take exactly this path: their walks (V3.*, M1.1, V2.*, M6.1,
                # M6.3, M7.1) only load what is known, and neither superpage path
                # nor a coalesce can start at a page the version's alignment test
                # rejects whatever the mfn (offset 0 in the L1; offset 1 as well in
                # 4.20.0).  The direct machine runs them here; explored CPUs never do.
                if not m.sequential or nr_mfns == 0 or (virt >> sh1) & run_mask == 0:
                    break

            # ---- M8: try to coalesce the L1 into a 2 MiB superpage ------------------
            if flags == PAGE_HYPERVISOR and (
                nr_mfns == 0 or aligned(m, virt >> sh1, mfn, l2_pages, "M8")
            ):
                if locking:
                    m.lock(MAP_PGDIR_LOCK, "M8.1")
                ol2e = m.load(t2, i2, "M8.1")
                # The L2E may be cleared, or made a superpage, by other CPUs.
                if not ol2e & _PAGE_PRESENT:
                    if locking:
                        m.unlock(MAP_PGDIR_LOCK, "M8.1")
                    continue
                if ol2e & _PAGE_PSE:
                    if locking:
                        m.unlock(MAP_PGDIR_LOCK, "M8.1")
                    _check_l3(m, t3, i3, virt, mfn, nr_mfns, flags, PAGE_HYPERVISOR)
                    continue
                l1t = m.ref(ol2e)
                base_mfn = pte_pfn(m.load(l1t, 0, "M8.2")) & ~(entries - 1)
                for i, l1e in enumerate(m.scan(l1t, "M8.3")):
                    if pte_pfn(l1e) != base_mfn + i or pte_flags(l1e) != flags:
                        break
                else:
                    i = entries
                if i == entries:
                    m.store(t2, i2, mk_pte(base_mfn, l1f_to_lNf(flags)), "M8.4")
                    if locking:
                        m.unlock(MAP_PGDIR_LOCK, "M8.4")
                    flush_area(m, virt - 4096, FLUSH_TLB_GLOBAL | FLUSH_ORDER(order), "M8.5")
                    free_xen_pagetable(m, l1t, 1, "M8.6")
                elif locking:
                    m.unlock(MAP_PGDIR_LOCK, "M8.3")

        _check_l3(m, t3, i3, virt, mfn, nr_mfns, flags, PAGE_HYPERVISOR)

    # out:
    discipline.l3t_unlock(m, current_l3page)
    return rc


def _check_l3(
    m: Machine[RefT],
    t3: RefT,
    i3: int,
    virt: int,
    mfn: int,
    nr_mfns: int,
    flags: int,
    PAGE_HYPERVISOR: int,
) -> None:
    """``check_l3:`` (M9): try to coalesce the L2 table into a 1 GiB superpage."""
    cfg: XenConfig = m.config
    g = m.geometry
    l3_pages = g.l3_pages
    if not (
        cfg.page1gb
        and flags == PAGE_HYPERVISOR
        and (nr_mfns == 0 or cfg.version.is_lne_aligned(m, virt >> g.shift[1], mfn, l3_pages, "M9"))
    ):
        return
    locking = cfg.locking
    if locking:
        m.lock(MAP_PGDIR_LOCK, "M9.1")
    ol3e = m.load(t3, i3, "M9.1")
    if not ol3e & _PAGE_PRESENT or ol3e & _PAGE_PSE:
        if locking:
            m.unlock(MAP_PGDIR_LOCK, "M9.1")
        return
    l2t = m.ref(ol3e)
    base_mfn = pte_pfn(m.load(l2t, 0, "M9.2")) & ~(l3_pages - 1)
    order = g.bits
    lnf = l1f_to_lNf(flags)
    entries = g.entries
    for i, l2e in enumerate(m.scan(l2t, "M9.3")):
        if pte_pfn(l2e) != base_mfn + (i << order) or pte_flags(l2e) != lnf:
            break
    else:
        i = entries
    if i == entries:
        m.store(t3, i3, mk_pte(base_mfn, lnf), "M9.4")
        if locking:
            m.unlock(MAP_PGDIR_LOCK, "M9.4")
        flush_area(m, virt - 4096, FLUSH_TLB_GLOBAL | FLUSH_ORDER(2 * order), "M9.5")
        free_xen_pagetable(m, l2t, 2, "M9.6")
    elif locking:
        m.unlock(MAP_PGDIR_LOCK, "M9.3")


def populate_pt_range(m: Machine[RefT], virt: int, nr_mfns: int) -> int:
    """Create the page tables for a range without mapping anything (V 5442-5445)."""
    return map_pages_to_xen(m, virt, INVALID_MFN, nr_mfns, MAP_SMALL_PAGES)
