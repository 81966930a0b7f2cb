"""The environment Xen's mapping code sees: CPU features and system state."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pagerace.paging.pte import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_NX_BIT,
    _PAGE_PRESENT,
    _PAGE_RW,
    hypervisor_flags,
)
from pagerace.xen.variants import LockingDiscipline
from pagerace.xen.versions import VERSIONS, Version, unknown_variant

__all__ = ["SystemState", "XenConfig"]


class SystemState(enum.IntEnum):
    """``enum system_state`` (xen/include/xen/kernel.h)."""

    early_boot = 0
    boot = 1
    smp_boot = 2
    active = 3
    suspend = 4
    resume = 5


@dataclass(frozen=True, slots=True)
class XenConfig:
    """cpu_has_page1gb, cpu_has_nx, system_state and the Xen version (variant)."""

    variant: str = "xen-4.14"
    page1gb: bool = True
    nx: bool = True
    system_state: SystemState = SystemState.active
    version: Version = field(init=False, repr=False, compare=False)
    discipline: LockingDiscipline = field(init=False, repr=False, compare=False)
    # derived constants, flag words
    page_hypervisor: int = field(init=False, repr=False, compare=False)
    nx_flag: int = field(init=False, repr=False, compare=False)
    modify_flags_mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.variant not in VERSIONS:
            raise ValueError(unknown_variant(self.variant))
        if not isinstance(self.system_state, SystemState):
            object.__setattr__(self, "system_state", SystemState(self.system_state))
        nx_flag = _PAGE_NX_BIT if self.nx else 0
        version = VERSIONS[self.variant]
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "discipline", version.discipline)
        object.__setattr__(self, "page_hypervisor", hypervisor_flags(self.nx)["PAGE_HYPERVISOR"])
        object.__setattr__(self, "nx_flag", nx_flag)
        object.__setattr__(
            self,
            "modify_flags_mask",
            nx_flag | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_RW | _PAGE_PRESENT,
        )

    @property
    def locking(self) -> bool:
        """``system_state > SYS_STATE_boot``: map_pgdir_lock and l3t locks are taken."""
        return self.system_state > SystemState.boot

    @property
    def early_boot(self) -> bool:
        return self.system_state == SystemState.early_boot
