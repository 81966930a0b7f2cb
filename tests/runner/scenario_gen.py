"""Random small scenarios (8 entries, 2..4 CPUs) for differential tests and benches.

``generated_scenario(seed)`` is a deterministic function of ``seed``: the set-up maps
the directmap's first 2 GiB in 1 GiB superpages and maybe some pages uncached, and
each CPU runs one or two operations (map, modify, destroy, populate, a hardware
access), sometimes with interrupts off, inside that region.
"""

from __future__ import annotations

import random

from pagerace.scenario import Scenario, parse_scenario

__all__ = ["generated_scenario", "generated_toml", "scenario_head"]

_FLAGS = ["PAGE_HYPERVISOR", "PAGE_HYPERVISOR_UC", "PAGE_HYPERVISOR_RO"]


def _page(rng: random.Random) -> str:
    # few regions and pages, so that the CPUs' operations meet
    return f"L3_SPAN + {rng.choice([2, 5, 6])} * L2_SPAN + {rng.choice([1, 3])} * PAGE_SIZE"


def _mfn(virt: str) -> str:
    return (
        virt.replace("L3_SPAN", "L3_PAGES")
        .replace("L2_SPAN", "L2_PAGES")
        .replace(" * PAGE_SIZE", "")
    )


def _op(rng: random.Random) -> str:
    kind = rng.choice(["map", "map", "map", "modify", "destroy", "populate", "access"])
    page = _page(rng)
    virt = f"DIRECTMAP + {page}"
    nr = rng.choice([1, 1, 1, 2, 9])
    irqs = ", irqs = false" if kind != "access" and rng.random() < 0.15 else ""
    if kind == "map":
        flags = rng.choice([*_FLAGS, "PAGE_HYPERVISOR"])
        return (
            f'{{ op = "map", virt = "{virt}", mfn = "{_mfn(page)}", nr = {nr},'
            f' flags = "{flags}"{irqs} }}'
        )
    if kind == "modify":
        return (
            f'{{ op = "modify", s = "{virt}", e = "{virt} + {nr} * PAGE_SIZE",'
            f' nf = "PAGE_HYPERVISOR_RO"{irqs} }}'
        )
    if kind == "destroy":
        return f'{{ op = "destroy", s = "{virt}", e = "{virt} + {nr} * PAGE_SIZE"{irqs} }}'
    if kind == "populate":
        return f'{{ op = "populate", virt = "{virt}", nr = {nr}{irqs} }}'
    return f'{{ op = "access", virt = "{virt}" }}'


def generated_toml(seed: int) -> str:
    rng = random.Random(seed)
    lines = [
        f'name = "generated-{seed}"',
        f'variant = "{rng.choice(["xen-4.14", "xsa-345"])}"',
        "entries = 8",
        "page1gb = true",
        "",
        "[[setup]]",
        'op = "map"',
        'virt = "DIRECTMAP"',
        "mfn = 0",
        'nr = "2 * L3_PAGES"',
        'flags = "PAGE_HYPERVISOR"',
    ]
    for _ in range(rng.randrange(1, 3)):
        page = _page(rng)
        lines += [
            "",
            "[[setup]]",
            'op = "map"',
            f'virt = "DIRECTMAP + {page}"',
            f'mfn = "{_mfn(page)}"',
            "nr = 1",
            'flags = "PAGE_HYPERVISOR_UC"',
        ]
    for _ in range(rng.choice([2, 2, 3, 3, 4])):
        ops = ", ".join(_op(rng) for _ in range(rng.choice([1, 1, 2])))
        lines += ["", "[[cpus]]", f"ops = [ {ops} ]"]
    return "\n".join(lines) + "\n"


def generated_scenario(seed: int) -> Scenario:
    return parse_scenario(generated_toml(seed), f"generated-{seed}.toml")


def scenario_head(name: str, variant: str, nr: str | int = '"L2_PAGES"') -> str:
    """The start of a hand-written test scenario at 8 entries with 1 GiB pages: its
    set-up maps ``nr`` pages (a TOML value) of the directmap from frame 0."""
    return f"""name = "{name}"
variant = "{variant}"
entries = 8
page1gb = true
[[setup]]
op = "map"
virt = "DIRECTMAP"
mfn = 0
nr = {nr}
flags = "PAGE_HYPERVISOR"
"""
