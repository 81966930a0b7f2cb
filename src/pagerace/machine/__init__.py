"""pagerace.machine: the simulated hardware the Xen model runs on.

``Machine`` is the interface the model (pagerace.xen) is written against.  Two
machines implement it: ``DirectMachine`` (one CPU, every operation acts at once) and
``ExploredCPU`` (one simulated CPU of an explored execution, every shared operation
an explorer event).  The model never asks which one it runs on, except through
``sequential`` where a shortcut is sequentially equivalent.

The protocol is generic in the machine's table reference ``RefT``: the direct
machine's is the plain frame number, the explored machine's a ``TableRef(frame,
generation)``.  The model only passes references back to the machine that made them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from pagerace.paging.geometry import Geometry

__all__ = ["Machine", "RefT"]

RefT = TypeVar("RefT")
"""The type of a machine's table references (``lN_pgentry_t *`` without the index)."""


@runtime_checkable
class Machine(Protocol[RefT]):
    """What Xen's mapping code may do to the hardware: shared page-table accesses,
    private writes to unpublished tables, allocation, locks, flushes and the two ways
    a check of Xen's own can fire (``bug`` for BUG/BUG_ON, ``assertion`` for ASSERT).

    Every method that takes ``step`` is a shared operation labelled with its step (M7.3,
    X5.8, Q4, ... as in docs/xen-mapping-spec.md), which the traces show.
    """

    @property
    def config(self) -> Any:
        """The Xen environment (pagerace.xen.config.XenConfig); opaque to machines
        except for ``page1gb``, which the hardware walk needs."""

    @property
    def geometry(self) -> Geometry:
        """Entries per table and the derived spans."""

    @property
    def sequential(self) -> bool:
        """True on one CPU: the model may take sequentially-equivalent shortcuts."""

    @property
    def irqs_enabled(self) -> bool:
        """``local_irq_is_enabled()`` on this CPU."""

    @property
    def ncpus(self) -> int:
        """``num_online_cpus()``: 1 on the direct machine."""

    # -- shared page-table accesses -------------------------------------------------
    def load(self, ref: RefT, index: int, step: str) -> int:
        """One 64-bit load of entry ``index`` of the table ``ref``."""

    def store(self, ref: RefT, index: int, value: int, step: str) -> None:
        """One atomic 64-bit store of ``value`` into entry ``index`` of ``ref``."""

    def scan(self, ref: RefT, step: str) -> Iterable[int]:
        """Every entry of the table, loaded in index order (to be iterated once: with
        one event per load, each entry is loaded as the loop comes to it)."""

    def ref(self, pte: int) -> RefT:
        """``lNe_to_lN-1e(pte)``: the table the entry points at, whatever it holds."""

    def frame(self, ref: RefT) -> int:
        """The frame number behind a reference."""

    def root_ref(self) -> RefT:
        """``idle_pg_table``."""

    # -- tables not yet published: private, no interleaving point ------------------
    def clear_page(self, ref: RefT) -> None:
        """Zero a table this CPU allocated and has not published."""

    def init_entry(self, ref: RefT, index: int, value: int) -> None:
        """Fill entry ``index`` of a table this CPU allocated and has not published."""

    # -- allocation -------------------------------------------------------------------
    def alloc(self, level: int, step: str) -> RefT | None:
        """A fresh frame for a level-``level`` table, or None when allocation fails."""

    def free(self, ref: RefT, level: int, step: str) -> None:
        """Return a level-``level`` table to the allocator."""

    # -- locks, flushes, Xen's own checks ------------------------------------------------
    def lock(self, name: object, step: str) -> None:
        """``spin_lock(name)``: blocks while another CPU holds it."""

    def unlock(self, name: object, step: str) -> None:
        """``spin_unlock(name)``."""

    def flush(self, va: int, flags: int, step: str, local: bool = False) -> None:
        """``flush_area_all(va, flags)``: every online CPU's TLB (IPIs, then waiting
        for each CPU to run them); with ``local``, ``flush_area_local``: this CPU's
        only.  Which one ``flush_area`` means is the Xen version's rule."""

    def bug(self, step: str, message: str) -> None:
        """``BUG()`` / ``BUG_ON()`` fired: Xen stops here in every build."""

    def assertion(self, step: str, message: str) -> None:
        """``ASSERT()`` / ``ASSERT_UNREACHABLE()`` failed (a check of debug builds)."""
