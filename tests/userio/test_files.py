"""Reading what users name, writing what they get: pagerace.userio.files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pagerace.errors import PageraceInputError
from pagerace.userio import (
    UserFileError,
    check_output_path,
    plan_outputs,
    read_user_bytes,
    read_user_text,
    write_atomic,
)


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    f = tmp_path / "a.toml"
    f.write_bytes(b"x = 1\n")
    assert read_user_bytes(str(f)) == b"x = 1\n"
    assert read_user_text(str(f)) == "x = 1\n"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.mkdir(), "it is a directory"),
        (lambda p: os.mkfifo(p), "empty"),  # no writer: read as empty, never blocks
        (None, "No such file or directory"),
    ],
    ids=["directory", "fifo-without-writer", "missing"],
)
def test_what_is_not_a_readable_file_is_one_error(
    tmp_path: Path, make: object, reason: str
) -> None:
    p = tmp_path / "input"
    if make is not None:
        make(p)  # type: ignore[operator]
    if reason == "empty":
        assert read_user_bytes(str(p)) == b""
        return
    with pytest.raises(UserFileError, match=reason):
        read_user_bytes(str(p))


def test_a_device_is_refused_instead_of_read_for_ever() -> None:
    with pytest.raises(UserFileError, match="a device"):
        read_user_bytes("/dev/zero")


def test_a_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 1001)
    with pytest.raises(UserFileError, match="too large"):
        read_user_bytes(str(f), limit=1000)
    assert len(read_user_bytes(str(f), limit=1001)) == 1001


def test_a_pipe_is_read_up_to_the_limit(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.write(w, b"y" * 5000)
    os.close(w)
    assert read_user_bytes(f"/dev/fd/{r}") == b"y" * 5000
    os.close(r)
    r, w = os.pipe()
    os.write(w, b"y" * 2000)
    os.close(w)
    with pytest.raises(UserFileError, match="too large"):
        read_user_bytes(f"/dev/fd/{r}", limit=1000)
    os.close(r)


def test_text_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    f = tmp_path / "bad"
    f.write_bytes(b"ok\xff")
    with pytest.raises(UserFileError, match=r"not UTF-8 text \(byte 2: 0xff\)"):
        read_user_text(str(f))
    assert read_user_text(str(f), strict=False) == "ok\ufffd"


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    out.chmod(0o640)
    write_atomic(str(out), "new\n")
    assert out.read_text() == "new\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_atomic_keeps_the_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(out), "new" * 1000)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_atomic_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_text("old")
    link = tmp_path / "l.json"
    link.symlink_to(target)
    write_atomic(str(link), "new")
    assert link.is_symlink() and target.read_text() == "new"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "an empty file name"),
        ("{tmp}", "it is a directory"),
        ("{tmp}/missing/r.json", "does not exist"),
        ("/dev/full", "not a regular file"),
        ("/dev/null", "not a regular file"),
    ],
)
def test_unwritable_outputs_are_refused_before_any_work(
    tmp_path: Path, path: str, reason: str
) -> None:
    with pytest.raises(PageraceInputError, match=reason):
        check_output_path(path.format(tmp=tmp_path), "--json")
    with pytest.raises(PageraceInputError, match=reason):
        write_atomic(path.format(tmp=tmp_path), "x")


def test_two_options_naming_one_file_are_refused(tmp_path: Path) -> None:
    a = str(tmp_path / "r.json")
    with pytest.raises(PageraceInputError, match="--json and --html name the same file"):
        plan_outputs(json=a, html=str(tmp_path / "." / "r.json"))
    Path(a).write_text("x")
    os.link(a, tmp_path / "hard.json")
    with pytest.raises(PageraceInputError, match="name the same file"):
        plan_outputs(json=a, html=str(tmp_path / "hard.json"))


def test_standard_output_only_where_allowed_and_once() -> None:
    plan = plan_outputs(("--json",), json="-", html=None)
    assert plan.stdout == "--json" and plan.files == {}
    with pytest.raises(PageraceInputError, match="--html: '-'"):
        plan_outputs(("--json",), json="r.json", html="-")


def test_discard_stale_removes_only_existing_planned_files(tmp_path: Path) -> None:
    old = tmp_path / "r.json"
    old.write_text("from an earlier run")
    plan = plan_outputs(json=str(old), html=str(tmp_path / "r.html"))
    assert plan.discard_stale() == [str(old)]
    assert not old.exists()
