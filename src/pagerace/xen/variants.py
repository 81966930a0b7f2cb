"""Locking disciplines: how the modelled Xen versions serialise page-table updates.

Every version (pagerace.xen.versions) runs the same functions.  The vulnerable one
(``xen-4.14``) takes only ``map_pgdir_lock`` around table installs and coalesces;
the fix (``xsa-345``, Xen commit 1ce75e99d7) and every later version additionally
hold the lock of the L3 table page for each whole loop iteration of
map_pages_to_xen and modify_xen_mappings (``L3T_LOCK`` / ``L3T_UNLOCK``, F
5116-5131), and xen_map_to_mfn holds it for its lookup.  A discipline is hooks called
where the fixed code has those macros; more disciplines (a global lock, finer
locks) can be added here without touching the model.
"""

from __future__ import annotations

from mypy_extensions import mypyc_attr

from pagerace.machine import Machine, RefT

__all__ = ["MAP_PGDIR_LOCK", "L3TableLocking", "LockingDiscipline", "NoL3Locking"]

MAP_PGDIR_LOCK = "map_pgdir_lock"


@mypyc_attr(allow_interpreted_subclasses=True)
class LockingDiscipline:
    """Hooks at the loop top, after the L3 walk, and at the single exit ``out``."""

    name = "abstract"
    description = ""
    # modify_xen_mappings: F's single-exit refactor returns -ENOMEM when
    # virt_to_xen_l3e fails; V skips the 1 GiB as if it were not present.
    enomem_on_failed_walk = False

    def l3t_unlock(self, m: Machine[RefT], current: str | None) -> None:
        """``L3T_UNLOCK(current_l3page)``: drop the previous iteration's lock."""
        raise NotImplementedError

    def l3t_lock(self, m: Machine[RefT], p3_table: RefT) -> str | None:
        """``current_l3page = virt_to_page(pl3e); L3T_LOCK(current_l3page)``."""
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)
class NoL3Locking(LockingDiscipline):
    """Xen 4.14 and earlier: no per-L3-table lock."""

    name = "map_pgdir_lock only"
    description = "map_pgdir_lock around installs and coalesces only"

    def l3t_unlock(self, m: Machine[RefT], current: str | None) -> None:
        return None

    def l3t_lock(self, m: Machine[RefT], p3_table: RefT) -> str | None:
        return None


@mypyc_attr(allow_interpreted_subclasses=True)
class L3TableLocking(LockingDiscipline):
    """The XSA-345 fix: ``l3t_lock`` of the L3 table page for each iteration."""

    name = "l3t_lock"
    description = "the lock of the L3 table page held for each update step (XSA-345 fix)"
    enomem_on_failed_walk = True

    def l3t_unlock(self, m: Machine[RefT], current: str | None) -> None:
        # L3T_UNLOCK: no-op for ZERO_BLOCK_PTR (None) or when not locking.
        if current is not None:
            m.unlock(current, "L3T_UNLOCK")

    def l3t_lock(self, m: Machine[RefT], p3_table: RefT) -> str | None:
        if not m.config.locking:
            return None
        name = f"l3t_lock(frame {m.frame(p3_table):#x})"
        m.lock(name, "L3T_LOCK")
        return name
