"""Shared fixtures of the paging tests: the Xen conformance vectors and state builders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pagerace.paging.geometry import Geometry
from pagerace.paging.memory import PhysicalMemory

VECTORS = Path(__file__).resolve().parents[1] / "conformance" / "xen-sequential.jsonl"

BuildState = Callable[..., tuple[PhysicalMemory, int]]


@pytest.fixture(scope="session")
def xen_vectors() -> list[dict[str, Any]]:
    with VECTORS.open() as f:
        return [json.loads(line) for line in f]


def build_state(
    geometry: Geometry,
    tables: Iterable[Sequence[int]],
    leaves: Iterable[Sequence[int]] = (),
    nonpresent: Iterable[Sequence[int]] = (),
) -> tuple[PhysicalMemory, int]:
    """A fresh memory whose tree holds exactly the given expanded elements.

    ``tables`` ([va, level, flags], pre-order) gets one freshly allocated child table
    per element, since the vectors leave table frames out; leaves ([va, level, mfn,
    flags]) and non-present entries ([va, level, raw]) are written into them.
    """
    memory = PhysicalMemory(geometry)
    root = memory.alloc(4)
    assert root is not None
    children: dict[tuple[int, int], int] = {}

    def parent(va: int, level: int) -> int:
        if level == 4:
            return root
        span = geometry.span[level + 1]
        return children[(level + 1, va & ~(span - 1))]

    for va, level, flags in tables:
        child = memory.alloc(level - 1)
        assert child is not None
        memory.write(parent(va, level), geometry.table_offset(va, level), (child << 12) | flags)
        children[(level, va)] = child
    for va, level, mfn, flags in leaves:
        memory.write(parent(va, level), geometry.table_offset(va, level), (mfn << 12) | flags)
    for va, level, raw in nonpresent:
        memory.write(parent(va, level), geometry.table_offset(va, level), raw)
    return memory, root


@pytest.fixture
def state_builder() -> BuildState:
    return build_state
