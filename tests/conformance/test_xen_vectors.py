"""The model against the results of Xen's own code: every field of every op.

Two vector files: xen-sequential.jsonl (the vulnerable tree and the XSA-345 fix) and
xen-versions.jsonl (Xen 4.19.0, 4.20.0 and 4.21.0).  A missing file skips its tests
with the reason; a present file must match in every field.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from pagerace.xen.conformance import check_file

HERE = Path(__file__).parent
PUBLISHED = HERE.parents[1].parent / "shared" / "conformance"
FILES = {
    # file: (sequences, ops, {file variant: lines})
    "xen-sequential.jsonl": (300, 3904, {"vuln": 150, "fixed": 150}),
    "xen-versions.jsonl": (300, 3872, {"4.19": 100, "4.20.0": 100, "4.21": 100}),
}


def vectors(name: str) -> Path:
    path = HERE / name
    if not path.exists():
        pytest.skip(f"{path} is missing: copy it from the published conformance vectors")
    return path


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_sequence_of_the_vector_file_matches_xen_exactly(name: str) -> None:
    path = vectors(name)
    sequences, ops, _ = FILES[name]
    reports = list(check_file(str(path), jobs=2))
    failures = [
        f"{r.id}: {m.op_index} {m.field}: {m.detail}" for r in reports for m in r.mismatches
    ]
    assert failures == []
    assert len(reports) == sequences
    assert sum(r.ops for r in reports) == ops
    assert sum(r.ops_matched for r in reports) == ops


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_vector_file_holds_the_published_variants(name: str) -> None:
    path = vectors(name)
    counts = collections.Counter(json.loads(line)["variant"] for line in path.open())
    assert dict(counts) == FILES[name][2]


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_bundled_vectors_are_byte_identical_to_the_published_ones(name: str) -> None:
    bundled = vectors(name)
    published = PUBLISHED / name
    if not published.exists():
        pytest.skip(f"{published} is not here to compare with (a clone without it beside)")
    assert bundled.read_bytes() == published.read_bytes()
