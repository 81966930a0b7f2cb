"""``pagerace conform``: summary line, mismatch reports and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VECTORS = Path(__file__).parents[1] / "conformance" / "xen-sequential.jsonl"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagerace", "conform", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def first_lines(tmp_path: Path, n: int) -> list[str]:
    return VECTORS.read_text().splitlines()[:n]


def test_matching_vectors_print_the_summary_and_exit_0(tmp_path: Path) -> None:
    f = tmp_path / "v.jsonl"
    f.write_text("\n".join(first_lines(tmp_path, 3)) + "\n")
    p = run(str(f), "--jobs", "1")
    assert p.returncode == 0, p.stderr
    ops = sum(len(json.loads(line)["ops"]) for line in first_lines(tmp_path, 3))
    assert p.stdout.strip() == f"conform: 3/3 sequences match ({ops}/{ops} ops)"


def test_a_wrong_expected_leaf_is_reported_with_id_op_field_and_decoded_element(
    tmp_path: Path,
) -> None:
    seq = json.loads(first_lines(tmp_path, 1)[0])
    leaf = seq["results"][0]["leaves"][0]
    leaf[2] += 1  # the first leaf's mfn
    f = tmp_path / "v.jsonl"
    f.write_text(json.dumps(seq) + "\n")
    p = run(str(f))
    assert p.returncode == 1
    first = p.stdout.splitlines()[0]
    assert first.startswith(f"{seq['id']}: op 0 (map): leaves: element 0: model [va 0x")
    assert "mfn 0x100000" in first and "Xen [va" in first and "mfn 0x100001" in first
    assert "P|RW|A|D|PSE|G|NX" in first
    assert p.stdout.splitlines()[-1] == f"conform: 0/1 sequences match (0/{len(seq['ops'])} ops)"


def test_a_wrong_flush_count_is_a_mismatch_in_flushes(tmp_path: Path) -> None:
    seq = json.loads(first_lines(tmp_path, 1)[0])
    seq["results"][1]["flushes"] = []
    f = tmp_path / "v.jsonl"
    f.write_text(json.dumps(seq) + "\n")
    p = run(str(f))
    assert p.returncode == 1
    assert "op 1 (map): flushes: element 0: model has 1 more, first flush_area(" in p.stdout


def bad(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "bad.jsonl"
    f.write_text(text)
    return run(str(f))


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    p = run(str(tmp_path / "nope.jsonl"))
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    assert "nope.jsonl" in p.stderr and "Traceback" not in p.stderr


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    p = bad(tmp_path, first_lines(tmp_path, 1)[0] + "\n{not json\n")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0
    assert "bad.jsonl:2: not valid JSON" in p.stderr


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    seq = json.loads(first_lines(tmp_path, 1)[0])
    del seq["ops"][2]["nf"]
    p = bad(tmp_path, json.dumps(seq) + "\n")
    assert p.returncode == 2
    assert "ops[2]: missing field 'nf'" in p.stderr


def test_an_out_of_range_value_is_named(tmp_path: Path) -> None:
    seq = json.loads(first_lines(tmp_path, 1)[0])
    seq["ops"][0]["virt"] = 1 << 64
    p = bad(tmp_path, json.dumps(seq) + "\n")
    assert p.returncode == 2
    assert "ops[0].virt" in p.stderr and "out of range" in p.stderr


def test_an_unknown_variant_option_is_rejected(tmp_path: Path) -> None:
    p = run(str(VECTORS), "--variant", "xen-9")
    assert p.returncode == 2
    assert '--variant: unknown variant "xen-9"' in p.stderr


def test_an_empty_file_is_bad_input(tmp_path: Path) -> None:
    p = bad(tmp_path, "")
    assert p.returncode == 2
    assert "no sequences" in p.stderr
