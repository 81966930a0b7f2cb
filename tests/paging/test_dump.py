"""The canonical state dump: run encoding, expansion and dump_state."""

from __future__ import annotations

import json
from typing import Any

from pagerace.paging.dump import (
    dump_state,
    encode_flushes,
    encode_leaves,
    encode_nonpresent,
    encode_tables,
    expand_flushes,
    expand_leaves,
    expand_nonpresent,
    expand_tables,
)
from pagerace.paging.geometry import Geometry

G512 = Geometry(512)
G8 = Geometry(8)
PH = 0x8000000000000163  # PAGE_HYPERVISOR, 64-bit layout
PH_2M = PH | 0x80
NONLEAF = 0x63
INVALID_L1 = 0xFFFFFFFFFFFFF200  # populate_pt_range's entry

# Every result with at most this many expanded elements, plus every 25th bigger one.
SMALL_STATE = 20_000
BIG_STRIDE = 60


def _size(result: dict[str, Any]) -> int:
    return sum(run[-1] for key in ("leaves", "tables", "nonpresent") for run in result[key])


def _sample(vectors: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    picked = []
    big = 0
    for line in vectors:
        for i, result in enumerate(line["results"]):
            if _size(result) <= SMALL_STATE:
                picked.append((line["id"], i, result))
            else:
                if big % BIG_STRIDE == 0:
                    picked.append((line["id"], i, result))
                big += 1
    return picked


def _canonical_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- round trips on the real states of the conformance vectors ----------------------
def test_vector_states_survive_expansion_reencoding_and_a_dump_of_the_rebuilt_memory(
    xen_vectors: list[dict[str, Any]], state_builder: Any
) -> None:
    """expand -> encode gives the identical JSON, and a memory rebuilt from the
    expansion (one fresh table per non-leaf element) dumps back to the vector."""
    sample = _sample(xen_vectors)
    assert len(sample) > 3000
    for line_id, i, result in sample:
        where = f"{line_id} result {i}"
        leaves = expand_leaves(result["leaves"])
        tables = expand_tables(result["tables"])
        nonpresent = expand_nonpresent(result["nonpresent"])
        assert _canonical_json(encode_leaves(leaves)) == _canonical_json(result["leaves"]), where
        assert _canonical_json(encode_tables(tables)) == _canonical_json(result["tables"]), where
        assert _canonical_json(encode_nonpresent(nonpresent)) == _canonical_json(
            result["nonpresent"]
        ), where
        memory, root = state_builder(G512, tables, leaves, nonpresent)
        del leaves, tables, nonpresent
        dump = dump_state(memory, root, G512)
        assert dump.leaves == result["leaves"], where
        assert dump.tables == result["tables"], where
        assert dump.nonpresent == result["nonpresent"], where
        assert dump.live_pt == result["live_pt"], where


def test_expanding_then_encoding_the_vector_flushes_gives_back_the_identical_json(
    xen_vectors: list[dict[str, Any]],
) -> None:
    for line in xen_vectors:
        for i, result in enumerate(line["results"]):
            if sum(run[2] for run in result["flushes"]) > SMALL_STATE:
                continue
            calls = expand_flushes(result["flushes"])
            assert _canonical_json(encode_flushes(calls)) == _canonical_json(result["flushes"]), (
                f"{line['id']} result {i}"
            )
