"""The model against the results of Xen's own code: every field of every op."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pagerace.xen.conformance import check_file

VECTORS = Path(__file__).parent / "xen-sequential.jsonl"


def test_all_300_sequences_of_the_shared_vectors_match_xen_exactly() -> None:
    reports = list(check_file(str(VECTORS), jobs=2))
    failures = [
        f"{r.id}: {m.op_index} {m.field}: {m.detail}" for r in reports for m in r.mismatches
    ]
    assert failures == []
    assert len(reports) == 300
    assert sum(r.ops for r in reports) == 3904
    assert sum(r.ops_matched for r in reports) == 3904


def test_the_bundled_vectors_are_byte_identical_to_the_published_ones() -> None:
    # the published set, beside the clone or named by PAGERACE_SHARED
    shared = Path(os.environ.get("PAGERACE_SHARED", Path(__file__).parents[2].parent / "shared"))
    published = shared / "conformance" / "xen-sequential.jsonl"
    if not published.is_file():
        pytest.skip(f"no published vectors at {published} (set PAGERACE_SHARED)")
    assert VECTORS.read_bytes() == published.read_bytes()
