"""Page-table allocation and the walkers ``virt_to_xen_l3e/l2e/l1e``.

Xen: xen/arch/x86/mm.c, V 4919-5057 (identical in F).  Every shared load, store,
lock, allocation and free goes through the machine ``m``; the comments carry the
step labels of docs/xen-mapping-spec.md.  A pointer ``(table, index)`` is the
C ``lN_pgentry_t *``; ``m.ref(e)`` is ``lNe_to_lN-1e(e)``: it follows whatever the
entry holds (0 gives MFN 0, a superpage gives its first data frame).
"""

from __future__ import annotations

from pagerace.machine import Machine, RefT
from pagerace.paging.pte import __PAGE_HYPERVISOR, _PAGE_PRESENT, _PAGE_PSE, mk_pte
from pagerace.xen.variants import MAP_PGDIR_LOCK

__all__ = [
    "alloc_xen_pagetable",
    "flush_area",
    "free_xen_pagetable",
    "virt_to_xen_l1e",
    "virt_to_xen_l2e",
    "virt_to_xen_l3e",
]


def alloc_xen_pagetable(m: Machine[RefT], level: int, step: str) -> RefT | None:
    """A frame for a level-``level`` table, or None (the caller returns -ENOMEM).

    In early boot Xen uses the boot allocator, which panics rather than fail.
    """
    t = m.alloc(level, step)
    if t is None and m.config.early_boot:
        m.bug(step, "alloc_boot_pages: out of memory during early boot")
    return t


def free_xen_pagetable(m: Machine[RefT], t: RefT | None, level: int, step: str) -> None:
    """``free_xen_pagetable``: a no-op in early boot (the table is leaked)."""
    if t is None or m.config.early_boot:
        return
    m.free(t, level, step)


def flush_area(m: Machine[RefT], va: int, flags: int, step: str) -> None:
    """The ``flush_area(v, f)`` macro of mm.c.

    4.14 and the fix: only this CPU's TLB while its interrupts are off
    (``flush_area_local``), otherwise every CPU's (``flush_area_all``).  Later
    versions: always ``flush_area_all``, whose ``flush_area_mask`` ASSERTs that
    interrupts are on unless the mask is the calling CPU alone.
    """
    if m.irqs_enabled:
        m.flush(va, flags, step)
    elif m.config.version.flush_local_if_irqs_off:
        m.flush(va, flags, step, True)
    else:
        if m.ncpus > 1:
            m.assertion(
                step,
                "ASSERT(local_irq_is_enabled() || cpumask_subset(mask, cpumask_of(cpu)))"
                " in flush_area_mask",
            )
        m.flush(va, flags, step)


def virt_to_xen_l3e(m: Machine[RefT], v: int) -> tuple[RefT, int] | None:
    """Pointer to the L3 entry for ``v``; allocates an L3 table for an empty L4 slot."""
    g = m.geometry
    root = m.root_ref()
    i4 = (v >> g.shift[4]) & g.index_mask
    e = m.load(root, i4, "V3.1")
    if not e & _PAGE_PRESENT:
        locking = m.config.locking
        t = alloc_xen_pagetable(m, 3, "V3")
        if t is None:
            return None
        m.clear_page(t)
        if locking:
            m.lock(MAP_PGDIR_LOCK, "V3")
        e = m.load(root, i4, "V3.2")
        if not e & _PAGE_PRESENT:
            m.store(root, i4, mk_pte(m.frame(t), __PAGE_HYPERVISOR), "V3.3")
            t = None
        if locking:
            m.unlock(MAP_PGDIR_LOCK, "V3")
        if t is not None:
            free_xen_pagetable(m, t, 3, "V3")
    e = m.load(root, i4, "V3.4")
    return m.ref(e), (v >> g.shift[3]) & g.index_mask


def virt_to_xen_l2e(m: Machine[RefT], v: int) -> tuple[RefT, int] | None:
    """Pointer to the L2 entry for ``v``; BUGs if the L3 entry is a 1 GiB superpage."""
    p3 = virt_to_xen_l3e(m, v)
    if p3 is None:
        return None
    t3, i3 = p3
    e = m.load(t3, i3, "V2.1")
    if not e & _PAGE_PRESENT:
        locking = m.config.locking
        t = alloc_xen_pagetable(m, 2, "V2")
        if t is None:
            return None
        m.clear_page(t)
        if locking:
            m.lock(MAP_PGDIR_LOCK, "V2")
        e = m.load(t3, i3, "V2.2")
        if not e & _PAGE_PRESENT:
            m.store(t3, i3, mk_pte(m.frame(t), __PAGE_HYPERVISOR), "V2.3")
            t = None
        if locking:
            m.unlock(MAP_PGDIR_LOCK, "V2")
        if t is not None:
            free_xen_pagetable(m, t, 2, "V2")
    if m.load(t3, i3, "V2.4") & _PAGE_PSE:
        m.bug("V2.4", "BUG_ON(l3e_get_flags(*pl3e) & _PAGE_PSE) in virt_to_xen_l2e")
    e = m.load(t3, i3, "V2.5")
    g = m.geometry
    return m.ref(e), (v >> g.shift[2]) & g.index_mask


def virt_to_xen_l1e(m: Machine[RefT], v: int) -> tuple[RefT, int] | None:
    """Pointer to the L1 entry for ``v``; BUGs if the L2 entry is a 2 MiB superpage."""
    p2 = virt_to_xen_l2e(m, v)
    if p2 is None:
        return None
    t2, i2 = p2
    e = m.load(t2, i2, "V1.1")
    if not e & _PAGE_PRESENT:
        locking = m.config.locking
        t = alloc_xen_pagetable(m, 1, "V1")
        if t is None:
            return None
        m.clear_page(t)
        if locking:
            m.lock(MAP_PGDIR_LOCK, "V1")
        e = m.load(t2, i2, "V1.2")
        if not e & _PAGE_PRESENT:
            m.store(t2, i2, mk_pte(m.frame(t), __PAGE_HYPERVISOR), "V1.3")
            t = None
        if locking:
            m.unlock(MAP_PGDIR_LOCK, "V1")
        if t is not None:
            free_xen_pagetable(m, t, 1, "V1")
    if m.load(t2, i2, "V1.4") & _PAGE_PSE:
        m.bug("V1.4", "BUG_ON(l2e_get_flags(*pl2e) & _PAGE_PSE) in virt_to_xen_l1e")
    e = m.load(t2, i2, "V1.5")
    g = m.geometry
    return m.ref(e), v >> g.shift[1] & g.index_mask
