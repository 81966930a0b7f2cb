"""Random small scenarios, biased the way superpage races need them.

``generate(seed, index, options)`` draws scenario number ``index`` of a hunt: the
same seed, index and options always give the same scenario (each draw has its own
``random.Random``, so scenarios can be drawn in any order, by any process).

What is drawn, in the directmap's first three 1 GiB regions:

* a set-up per region touched: a 1 GiB superpage; one shattered by an uncached
  4 KiB page (the XSA-345 picture); 2 MiB superpages of part of the region; a
  2 MiB superpage shattered by an uncached page; L1 tables of 4 KiB pages
  (``MAP_SMALL_PAGES``); tables populated but mapping nothing; a superpage with a
  hole destroyed in it; or nothing; sometimes TLB fills (``access``);
* two to four CPUs with one to three ops each (map, unmap, populate, modify,
  destroy, lookup, access; ``irqs = false`` now and then), on ranges that start, end or straddle
  2 MiB and 1 GiB boundaries or cover them, often on the page the set-up made
  uncached and with the attribute that restores it (a re-coalesce) or another one
  (a shatter).

A draw is kept only if its set-up and then every CPU's ops, run one after the
other on one CPU, succeed (no BUG, no fault, rc 0): findings then come from the
interleaving, not from a caller breaking a precondition on its own.  With
``disjoint`` the CPUs' ops touch pairwise disjoint 4 KiB pages, as Xen's callers
promise each other.  Draws whose ops, run one after the other, make more
page-table accesses than ``max_accesses`` are redrawn: short executions let a hunt
try many scenarios.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from pagerace.errors import InternalError, XenBug
from pagerace.machine.direct import DirectMachine
from pagerace.paging.geometry import PAGE_SIZE, Geometry
from pagerace.paging.memory import MemoryFault, PhysicalMemory
from pagerace.paging.pte import INVALID_MFN, pte_names
from pagerace.program import call_op
from pagerace.scenario import (
    AccessOp,
    DestroyOp,
    LookupOp,
    MapOp,
    ModifyOp,
    Op,
    PopulateOp,
    Scenario,
)
from pagerace.xen.config import XenConfig

__all__ = ["GenOptions", "generate", "op_pages", "touches_disjoint_pages"]

_N = pte_names(nx=True)
PH = _N["PAGE_HYPERVISOR"]
UC = _N["PAGE_HYPERVISOR_UC"]
UCMINUS = _N["PAGE_HYPERVISOR_UCMINUS"]
RO = _N["PAGE_HYPERVISOR_RO"]
RX = _N["PAGE_HYPERVISOR_RX"]
NOGLOBAL = _N["__PAGE_HYPERVISOR_RW"]
SMALL = PH | _N["MAP_SMALL_PAGES"]

REGIONS = 3  # 1 GiB regions of the directmap the hunt works in
MAX_DRAWS = 2000


@dataclass(frozen=True, slots=True)
class GenOptions:
    """What the generator draws: the variant named in the scenarios, the geometry,
    the range of CPU counts, at most ``max_ops`` ops per CPU, whether CPUs touch
    disjoint pages, and the most page-table accesses its CPUs' ops may make one
    after the other (a bound on the length of each execution, so that a hunt tries
    many scenarios)."""

    variant: str = "xen-4.14"
    entries: int = 8
    min_cpus: int = 2
    max_cpus: int = 4
    max_ops: int = 3
    disjoint: bool = False
    max_accesses: int = 160

    def __post_init__(self) -> None:
        if not 1 <= self.min_cpus <= self.max_cpus <= 8:
            raise ValueError(f"CPUs {self.min_cpus}..{self.max_cpus}: must lie in 1..8")
        if self.entries < 4 or self.entries > 512 or self.entries & (self.entries - 1):
            raise ValueError(f"entries {self.entries}: not a power of two from 4 to 512")
        if self.max_ops < 1:
            raise ValueError(f"max_ops {self.max_ops}: must be at least 1")


def op_pages(op: Op) -> tuple[int, int]:
    """The 4 KiB pages an op touches, as a half-open range of addresses."""
    if isinstance(op, MapOp | PopulateOp):
        return op.virt, op.virt + op.nr * PAGE_SIZE
    if isinstance(op, ModifyOp | DestroyOp):
        return op.s, op.e
    return op.virt, op.virt + PAGE_SIZE


def touches_disjoint_pages(cpus: Sequence[Sequence[Op]]) -> bool:
    """True iff no 4 KiB page is touched by the ops of two different CPUs."""
    spans = [[op_pages(op) for op in ops] for ops in cpus]
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            for s1, e1 in spans[a]:
                for s2, e2 in spans[b]:
                    if s1 < e2 and s2 < e1:
                        return False
    return True


def generate(seed: int, index: int, options: GenOptions = GenOptions()) -> Scenario:
    """Scenario number ``index`` of the hunt with ``seed``."""
    rng = random.Random(f"pagerace-hunt:{seed}:{index}")
    draw = _Drawer(rng, options)
    for _ in range(MAX_DRAWS):
        sc = draw.scenario(f"hunt-{seed}-{index}")
        if sc is not None:
            return sc
    raise InternalError(f"generator: no valid scenario in {MAX_DRAWS} draws")  # pragma: no cover


class _Drawer:
    """One draw; addresses are page numbers ``p`` from DIRECTMAP (mfn ``p`` is the
    identity mapping of the directmap)."""

    def __init__(self, rng: random.Random, options: GenOptions) -> None:
        self.rng = rng
        self.o = options
        self.g = Geometry(options.entries)
        self.l2p = self.g.l2_pages
        self.l3p = self.g.l3_pages
        self.config = XenConfig(variant=options.variant)

    # -- the whole scenario -------------------------------------------------------
    def scenario(self, name: str) -> Scenario | None:
        rng, o = self.rng, self.o
        ncpus = rng.randint(o.min_cpus, o.max_cpus)
        regions = rng.sample(range(REGIONS), 2 if rng.random() < 0.25 else 1)
        self.hot: list[int] = []  # pages the set-up made interesting
        setup: list[Op] = []
        for r in regions:
            setup += self.region_setup(r)
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 2)):
                setup.append(AccessOp(self.va(self.page_in(rng.choice(regions)))))
        cpus: list[tuple[Op, ...]] | None = None
        for _ in range(20):
            cpus = [self.cpu_ops(regions) for _ in range(ncpus)]
            if not o.disjoint or touches_disjoint_pages(cpus):
                break
        else:
            return None
        assert cpus is not None
        sc = Scenario(
            name=name,
            description="drawn by pagerace hunt",
            variant=o.variant,
            entries=o.entries,
            page1gb=True,
            setup=tuple(setup),
            cpus=tuple(cpus),
            expect=MappingProxyType({}),
            source=f"{name}.toml",
        )
        accesses = serial_accesses(sc)
        return sc if accesses is not None and accesses <= o.max_accesses else None

    # -- addresses ------------------------------------------------------------------
    def va(self, p: int) -> int:
        return self.g.directmap + p * PAGE_SIZE

    def page_in(self, r: int) -> int:
        rng = self.rng
        if self.hot and rng.random() < 0.5:
            return rng.choice(self.hot)
        chunk = rng.choice((0, 1, self.l2p - 1, rng.randrange(self.l2p)))
        k = rng.choice((0, 1, self.l2p - 1, rng.randrange(self.l2p)))
        return r * self.l3p + chunk * self.l2p + k

    # -- set-ups --------------------------------------------------------------------
    def region_setup(self, r: int) -> list[Op]:
        rng, l2p, l3p = self.rng, self.l2p, self.l3p
        base = r * l3p
        shape = rng.choices(
            ("1g", "shattered", "2m", "2m-shattered", "small", "populated", "holes", "none"),
            (3, 5, 3, 3, 2, 2, 2, 2),
        )[0]
        chunk = base + rng.randrange(l2p) * l2p
        ops: list[Op] = []
        if shape in ("1g", "shattered", "holes"):
            ops.append(MapOp(self.va(base), base, l3p, PH))
        if shape == "shattered":
            q = chunk + rng.randrange(l2p)
            ops.append(MapOp(self.va(q), q, 1, rng.choice((UC, UC, UCMINUS, RO))))
            self.hot.append(q)
        elif shape == "holes":
            n = rng.choice((1, 2, l2p))
            start = chunk if n == l2p else chunk + rng.randrange(l2p - n + 1)
            ops.append(DestroyOp(self.va(start), self.va(start + n)))
            self.hot.append(start)
        elif shape in ("2m", "2m-shattered"):
            chunks = rng.sample(range(l2p), rng.randint(1, l2p - 1))
            flags = rng.choice((PH, PH, NOGLOBAL))
            for c in sorted(chunks)[:3]:
                ops.append(MapOp(self.va(base + c * l2p), base + c * l2p, l2p, flags))
            if shape == "2m-shattered":
                q = base + sorted(chunks)[0] * l2p + rng.randrange(l2p)
                ops.append(MapOp(self.va(q), q, 1, rng.choice((UC, RO))))
                self.hot.append(q)
        elif shape == "small":
            ops.append(MapOp(self.va(chunk), chunk, l2p, SMALL))
            self.hot.append(chunk + rng.randrange(l2p))
        elif shape == "populated":
            n = rng.choice((1, l2p, l3p))
            start = base if n == l3p else chunk
            ops.append(PopulateOp(self.va(start), n))
            if rng.random() < 0.5:
                q = start + rng.randrange(min(n, l2p))
                ops.append(MapOp(self.va(q), q, 1, PH))
                self.hot.append(q)
        return ops

    # -- the CPUs' ops ----------------------------------------------------------------
    def cpu_ops(self, regions: Sequence[int]) -> tuple[Op, ...]:
        rng = self.rng
        n = rng.choices((1, 2, 3), (5, 4, 2))[0]
        return tuple(self.op(rng.choice(regions)) for _ in range(min(n, self.o.max_ops)))

    def span(self, r: int) -> tuple[int, int]:
        """A range of pages (start, count) near the boundaries of region ``r``."""
        rng, l2p, l3p = self.rng, self.l2p, self.l3p
        base = r * l3p
        chunk = base + rng.randrange(l2p) * l2p
        shape = rng.choices(
            ("page", "few", "chunk", "straddle", "tail", "region", "region-tail", "head"),
            (6, 2, 3, 2, 2, 2, 1, 1),
        )[0]
        if shape == "page":
            return self.page_in(r), 1
        if shape == "few":
            return self.page_in(r), rng.randint(2, 3)
        if shape == "chunk":
            return chunk, l2p
        if shape == "straddle":
            j = rng.randint(1, 2)
            boundary = chunk if chunk > base else chunk + l2p
            return boundary - j, 2 * j
        if shape == "tail":
            k = rng.randint(1, l2p - 1)
            return chunk + k, l2p - k
        if shape == "region":
            return base, l3p
        if shape == "region-tail":
            return base + l2p, l3p - l2p
        return base, rng.randint(1, l2p)  # head: from the 1 GiB boundary

    def op(self, r: int) -> Op:
        rng = self.rng
        kind = rng.choices(
            ("map", "modify", "destroy", "populate", "access", "lookup"), (9, 3, 3, 1, 2, 1)
        )[0]
        if kind == "access":
            return AccessOp(self.va(self.page_in(r)))
        if kind == "lookup":
            return LookupOp(self.va(self.page_in(r)), rng.random() >= 0.06)
        p, n = self.span(r)
        irqs = rng.random() >= 0.06
        if kind == "map":
            flags = rng.choices((PH, UC, RO, SMALL, NOGLOBAL, UCMINUS), (9, 5, 2, 2, 1, 1))[0]
            how = rng.random()
            if how < 0.75:
                mfn = p  # the directmap's own frame
            elif how < 0.85:
                mfn = INVALID_MFN
                if rng.random() < 0.5:  # unmap: map_pages_to_xen(virt, INVALID_MFN, nr, 0)
                    return MapOp(self.va(p), mfn, n, 0, irqs)
            elif how < 0.93:
                mfn = p + REGIONS * self.l3p  # other frames, same alignment
            else:
                mfn = p + 1
            return MapOp(self.va(p), mfn, n, flags, irqs)
        if kind == "populate":
            return PopulateOp(self.va(p), n, irqs)
        if kind == "modify":
            nf = rng.choices((RO, PH, RX), (5, 3, 1))[0]
            return ModifyOp(self.va(p), self.va(p + n), nf, irqs)
        return DestroyOp(self.va(p), self.va(p + n), irqs)


class _CountingMachine(DirectMachine):
    """The direct machine without sequential shortcuts, counting the page-table
    accesses that an explored CPU would announce as events."""

    sequential = False

    def __init__(self, memory: PhysicalMemory, root: int, config: XenConfig) -> None:
        super().__init__(memory, root, config)
        self.accesses = 0

    def load(self, ref: int, index: int, step: str) -> int:
        self.accesses += 1
        return super().load(ref, index, step)

    def store(self, ref: int, index: int, value: int, step: str) -> None:
        self.accesses += 1
        super().store(ref, index, value, step)

    def scan(self, ref: int, step: str) -> list[int]:
        self.accesses += 1
        return super().scan(ref, step)


def serial_accesses(sc: Scenario) -> int | None:
    """Run the set-up, then each CPU's ops in CPU order, all on one CPU: the number
    of page-table accesses the CPUs' ops made, or None if an op returned an error,
    hit a BUG or faulted."""
    memory = PhysicalMemory(sc.geometry)
    root = memory.alloc(4)
    assert root is not None
    m = _CountingMachine(memory, root, XenConfig(variant=sc.variant, page1gb=sc.page1gb))
    for k, op in enumerate((*sc.setup, *(op for ops in sc.cpus for op in ops))):
        if k == len(sc.setup):
            m.accesses = 0
        if isinstance(op, AccessOp):
            continue
        m.begin_op(op.irqs)
        try:
            if call_op(m, op) != 0 and not isinstance(op, LookupOp):  # a lookup gives a frame
                return None
        except (XenBug, MemoryFault):
            return None
    return m.accesses
