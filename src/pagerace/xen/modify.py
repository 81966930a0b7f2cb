"""``modify_xen_mappings`` and ``destroy_xen_mappings`` (V 5459-5707, F 5534-5804).

Changes the permissions of ``[s, e)`` or, when ``nf`` lacks _PAGE_PRESENT, removes
the mappings and reclaims L1/L2 tables that become entirely zero.  It shatters
superpages cut by a boundary and never coalesces.  Step labels X1.1 ... X7 follow
docs/xen-mapping-spec.md; each C dereference of ``*pl3e``/``*pl2e``/``*pl1e`` is
one load, in the C's order.
"""

from __future__ import annotations

from pagerace.machine import Machine, RefT
from pagerace.paging.flush import FLUSH_TLB_GLOBAL
from pagerace.paging.pte import (
    __PAGE_HYPERVISOR,
    _PAGE_PRESENT,
    _PAGE_PSE,
    mk_pte,
    pte_flags,
    pte_pfn,
)
from pagerace.xen.config import XenConfig
from pagerace.xen.map_pages import ENOMEM
from pagerace.xen.pagetable import (
    alloc_xen_pagetable,
    flush_area,
    free_xen_pagetable,
    virt_to_xen_l3e,
)
from pagerace.xen.variants import MAP_PGDIR_LOCK

__all__ = ["destroy_xen_mappings", "modify_xen_mappings"]


def modify_xen_mappings(m: Machine[RefT], s: int, e: int, nf: int) -> int:
    """Apply ``nf`` (masked to NX|D|A|RW|P) to ``[s, e)``; 0, or -ENOMEM in F."""
    cfg: XenConfig = m.config
    g = m.geometry
    locking = cfg.locking
    version = cfg.version
    discipline = version.discipline
    FLAGS_MASK = cfg.modify_flags_mask
    entries = g.entries
    imask = g.index_mask
    sh1, sh2, sh3 = g.shift[1], g.shift[2], g.shift[3]
    order = g.bits

    nf &= FLAGS_MASK
    if s & 0xFFF:
        m.assertion("X0", "ASSERT(IS_ALIGNED(s, PAGE_SIZE)) in modify_xen_mappings")
    if e & 0xFFF:
        m.assertion("X0", "ASSERT(IS_ALIGNED(e, PAGE_SIZE)) in modify_xen_mappings")
    present = nf & _PAGE_PRESENT

    current_l3page = None
    rc = 0
    v = s
    while v < e:
        discipline.l3t_unlock(m, current_l3page)
        current_l3page = None
        p3 = virt_to_xen_l3e(m, v)
        if p3 is None and discipline.enomem_on_failed_walk:
            # F returns -ENOMEM here; V treats a failed walk as "not present".
            rc = -ENOMEM
            break
        if p3 is not None:
            t3, i3 = p3
            current_l3page = discipline.l3t_lock(m, t3)

        if p3 is None or not m.load(t3, i3, "X1.1") & _PAGE_PRESENT:
            # Confirm the caller isn't trying to create new mappings.
            if present:
                m.assertion("X1.1", "ASSERT(!(nf & _PAGE_PRESENT)) in modify_xen_mappings")
            v += 1 << sh3
            v &= ~((1 << sh3) - 1)
            continue

        if m.load(t3, i3, "X1.2") & _PAGE_PSE:
            if (v >> sh2) & imask == 0 and (v >> sh1) & imask == 0 and e - v >= 1 << sh3:
                # PAGE1GB: the whole superpage is modified.
                if not present:
                    nl3e = 0
                else:
                    pfn = pte_pfn(m.load(t3, i3, "X2.1"))
                    fl = pte_flags(m.load(t3, i3, "X2.1"))
                    nl3e = mk_pte(pfn, (fl & ~FLAGS_MASK) | nf)
                m.store(t3, i3, nl3e, "X2.2")
                v += 1 << sh3
                continue

            # PAGE1GB: shatter the superpage and fall through.
            t2 = alloc_xen_pagetable(m, 2, "X2")
            if t2 is None:
                rc = -ENOMEM
                break
            for i in range(entries):
                pfn = pte_pfn(m.load(t3, i3, "X2.3"))
                fl = pte_flags(m.load(t3, i3, "X2.3"))
                m.init_entry(t2, i, mk_pte(pfn + (i << order), fl))
            if locking:
                m.lock(MAP_PGDIR_LOCK, "X2.4")
            if m.load(t3, i3, "X2.4") & _PAGE_PRESENT and m.load(t3, i3, "X2.4") & _PAGE_PSE:
                m.store(t3, i3, mk_pte(m.frame(t2), __PAGE_HYPERVISOR), "X2.5")
                t2 = None
            if locking:
                m.unlock(MAP_PGDIR_LOCK, "X2.5")
            if t2 is not None:
                free_xen_pagetable(m, t2, 2, "X2.5")

        # The L3 entry is present and not a superpage: the L2 table exists.
        t2 = m.ref(m.load(t3, i3, "X3.1"))
        i2 = (v >> sh2) & imask

        if not m.load(t2, i2, "X3.2") & _PAGE_PRESENT:
            if present:
                m.assertion("X3.2", "ASSERT(!(nf & _PAGE_PRESENT)) in modify_xen_mappings")
            v += 1 << sh2
            v &= ~((1 << sh2) - 1)
            if not version.nonpresent_l2_checks_l3:
                continue
            # 4.20.0 and later: goto check_l3 (below)
        elif m.load(t2, i2, "X4.1") & _PAGE_PSE:
            if (v >> sh1) & imask == 0 and e - v >= 1 << sh2:
                # PSE: the whole superpage is modified.
                if not present:
                    nl2e = 0
                else:
                    pfn = pte_pfn(m.load(t2, i2, "X4.2"))
                    fl = pte_flags(m.load(t2, i2, "X4.2"))
                    nl2e = mk_pte(pfn, (fl & ~FLAGS_MASK) | nf)
                m.store(t2, i2, nl2e, "X4.3")
                v += 1 << sh2
            else:
                # PSE: shatter the superpage and try again.
                t1 = alloc_xen_pagetable(m, 1, "X4")
                if t1 is None:
                    rc = -ENOMEM
                    break
                for i in range(entries):
                    pfn = pte_pfn(m.load(t2, i2, "X4.4"))
                    fl = pte_flags(m.load(t2, i2, "X4.4"))
                    m.init_entry(t1, i, mk_pte(pfn + i, fl & ~_PAGE_PSE))
                if locking:
                    m.lock(MAP_PGDIR_LOCK, "X4.5")
                if m.load(t2, i2, "X4.5") & _PAGE_PRESENT and m.load(t2, i2, "X4.5") & _PAGE_PSE:
                    m.store(t2, i2, mk_pte(m.frame(t1), __PAGE_HYPERVISOR), "X4.6")
                    t1 = None
                if locking:
                    m.unlock(MAP_PGDIR_LOCK, "X4.6")
                if t1 is not None:
                    free_xen_pagetable(m, t1, 1, "X4.6")
        else:
            # Ordinary 4 KiB mapping: the L1 table exists.
            t1 = m.ref(m.load(t2, i2, "X5.1"))
            while True:
                i1 = (v >> sh1) & imask
                if not m.load(t1, i1, "X5.2") & _PAGE_PRESENT and present:
                    m.assertion("X5.2", "ASSERT(!(nf & _PAGE_PRESENT)) in modify_xen_mappings")
                if not present:
                    nl1e = 0
                else:
                    pfn = pte_pfn(m.load(t1, i1, "X5.3"))
                    fl = pte_flags(m.load(t1, i1, "X5.3"))
                    nl1e = mk_pte(pfn, (fl & ~FLAGS_MASK) | nf)
                m.store(t1, i1, nl1e, "X5.4")
                v += 1 << sh1
                # On one CPU the next iterations up to the end of this L1 table
                # only re-walk to the same entries (X1.1-X5.1 load what is known):
                # the direct machine runs their leaf updates here.
                if not m.sequential or v >= e or (v >> sh1) & imask == 0:
                    break

            # If not destroying, or not done with the L2E, skip the empty&free check.
            if present or (v != e and (v >> sh1) & imask != 0):
                continue
            if locking:
                m.lock(MAP_PGDIR_LOCK, "X5.5")
            # The L2E may be cleared, or made a superpage, by other CPUs.
            if not m.load(t2, i2, "X5.5") & _PAGE_PRESENT:
                if locking:
                    m.unlock(MAP_PGDIR_LOCK, "X5.5")
                # goto check_l3 (below)
            elif m.load(t2, i2, "X5.6") & _PAGE_PSE:
                if locking:
                    m.unlock(MAP_PGDIR_LOCK, "X5.6")
                continue
            else:
                l1t = m.ref(m.load(t2, i2, "X5.7"))
                # raw 64-bit values, not the present bit: INVALID_MFN entries count
                if not any(m.scan(l1t, "X5.7")):
                    # Empty: zap the L2E and free the L1 page.
                    m.store(t2, i2, 0, "X5.8")
                    if locking:
                        m.unlock(MAP_PGDIR_LOCK, "X5.8")
                    flush_area(m, 0, FLUSH_TLB_GLOBAL, "X5.9")  # flush before free
                    free_xen_pagetable(m, l1t, 1, "X5.10")
                elif locking:
                    m.unlock(MAP_PGDIR_LOCK, "X5.7")

        # check_l3:
        # If not destroying, or not done with the L3E, skip the empty&free check.
        if present or (v != e and ((v >> sh2) & imask) + ((v >> sh1) & imask) != 0):
            continue
        if locking:
            m.lock(MAP_PGDIR_LOCK, "X6.1")
        # The L3E may be cleared, or made a superpage, by other CPUs.
        if not m.load(t3, i3, "X6.1") & _PAGE_PRESENT or m.load(t3, i3, "X6.1") & _PAGE_PSE:
            if locking:
                m.unlock(MAP_PGDIR_LOCK, "X6.1")
            continue
        l2t = m.ref(m.load(t3, i3, "X6.2"))
        if not any(m.scan(l2t, "X6.2")):
            # Empty: zap the L3E and free the L2 page.
            m.store(t3, i3, 0, "X6.3")
            if locking:
                m.unlock(MAP_PGDIR_LOCK, "X6.3")
            flush_area(m, 0, FLUSH_TLB_GLOBAL, "X6.4")  # flush before free
            free_xen_pagetable(m, l2t, 2, "X6.5")
        elif locking:
            m.unlock(MAP_PGDIR_LOCK, "X6.2")
    else:
        flush_area(m, 0, FLUSH_TLB_GLOBAL, "X7")

    # out:
    discipline.l3t_unlock(m, current_l3page)
    return rc


def destroy_xen_mappings(m: Machine[RefT], s: int, e: int) -> int:
    """``modify_xen_mappings(s, e, _PAGE_NONE)`` (V 5704-5707)."""
    return modify_xen_mappings(m, s, e, 0)
