"""Files users name: read safely, written atomically.

Reading (``read_user_bytes``): only a regular file or a pipe/FIFO is read, never a
directory, a device (``/dev/zero`` would grow without end) or a socket; a FIFO is
opened without blocking (a FIFO with no writer reads as empty instead of waiting
for ever); at most ``limit`` bytes are read.

Writing (``write_atomic``): the text goes to a temporary file in the target's
directory, is flushed to disk and renamed over the target, so the target holds the
old contents or the new ones, never a truncated file, even when the process is
interrupted.  ``plan_outputs`` checks the output options of a command before the
work starts (an empty name, a missing directory, a directory, a device, two options
naming the same file) so that a long run never ends in an unwritable file.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import tempfile
from dataclasses import dataclass

from pagerace.errors import PageraceInputError
from pagerace.userio.text import one_line

__all__ = [
    "MAX_INPUT_BYTES",
    "OutputPlan",
    "UserFileError",
    "check_output_path",
    "plan_outputs",
    "read_user_bytes",
    "read_user_text",
    "write_atomic",
]

#: Default bound on the size of an input file.
MAX_INPUT_BYTES = 4 << 20
#: How long a pipe may stay silent before reading it gives up (seconds).
PIPE_IDLE_SECONDS = 30.0


class UserFileError(PageraceInputError):
    """A file named by the user cannot be read or written; ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def read_user_bytes(path: str, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The contents of the file at ``path``; ``UserFileError`` for anything but a
    readable regular file or pipe of at most ``limit`` bytes."""
    name = str(path)
    if not name:
        raise UserFileError("''", "an empty file name")
    if "\x00" in name:
        raise UserFileError(one_line(name), "a file name with a NUL character")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UserFileError(one_line(name), f"cannot read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UserFileError(name, "cannot read: it is a directory")
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            size = os.fstat(fd).st_size
            if size > limit:
                raise UserFileError(name, f"too large: {_size(size)} (at most {_size(limit)})")
            data = _read_all(fd, name, limit)
        elif stat.S_ISFIFO(mode):
            data = _read_all(fd, name, limit)
        else:
            kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
            raise UserFileError(name, f"cannot read: {kind}; give a regular file or a pipe")
    except OSError as exc:
        raise UserFileError(name, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return data


def _read_all(fd: int, name: str, limit: int) -> bytes:
    """Read to the end.  A pipe is read without blocking: with no writer a read
    gives the end at once; with a silent writer it waits at most PIPE_IDLE_SECONDS."""
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        except BlockingIOError:
            ready, _, _ = select.select([fd], [], [], PIPE_IDLE_SECONDS)
            if not ready:
                raise UserFileError(
                    name, f"cannot read: the pipe sent nothing for {PIPE_IDLE_SECONDS:.0f} s"
                ) from None
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise UserFileError(name, f"too large: more than {_size(limit)}")


def read_user_text(path: str, *, limit: int = MAX_INPUT_BYTES, strict: bool = True) -> str:
    """``read_user_bytes`` decoded as UTF-8 (``strict=False``: bad bytes become U+FFFD)."""
    data = read_user_bytes(path, limit=limit)
    try:
        return data.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise UserFileError(
            str(path), f"not UTF-8 text (byte {exc.start}: {data[exc.start]:#04x})"
        ) from None


# -- outputs ------------------------------------------------------------------------
def check_output_path(path: str, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written."""
    if path == "":
        raise PageraceInputError(f"{option}: an empty file name")
    shown = one_line(path)
    if "\x00" in path:
        raise PageraceInputError(f"{option} {shown}: a file name with a NUL character")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise PageraceInputError(f"{option} {shown}: cannot write: {exc.strerror}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise PageraceInputError(f"{option} {shown}: cannot write: it is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise PageraceInputError(
                f"{option} {shown}: cannot write: not a regular file (a device, FIFO or socket)"
            )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise PageraceInputError(
            f"{option} {shown}: cannot write: the directory {one_line(directory)} does not exist"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PageraceInputError(
            f"{option} {shown}: cannot write: no permission to create files in"
            f" {one_line(directory)}"
        )


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Replace the file at ``path`` with ``text`` atomically (UTF-8 for a str)."""
    path = os.fspath(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    target = os.path.realpath(path) if os.path.islink(path) else path
    check_output_path(target, "output")
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    try:
        existing = os.stat(target).st_mode & 0o777
    except OSError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base[:100]}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UserFileError(one_line(path), f"cannot write: {exc.strerror or exc}") from None
    try:
        try:
            if existing is None:
                umask = os.umask(0)
                os.umask(umask)
                existing = 0o666 & ~umask
            os.fchmod(fd, existing)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UserFileError(one_line(path), f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class OutputPlan:
    """The output files of one command, checked: ``files`` maps each option to its
    path; ``stdout`` names the option that writes to standard output ('-'), if any."""

    files: dict[str, str]
    stdout: str | None = None

    def get(self, option: str) -> str | None:
        return self.files.get(option)

    def check_apart(self, option: str, path: str) -> None:
        """Refuse ``path`` of ``option`` (a file the command keeps for itself, such as
        a checkpoint) when it names the same file as one of the plan's outputs."""
        identity = _identity(path)
        for other, where in self.files.items():
            if _identity(where) == identity:
                raise PageraceInputError(
                    f"{other} and {option} name the same file {one_line(path)}"
                )

    def discard_stale(self) -> list[str]:
        """Remove the existing files this plan would have replaced (an interrupted
        run must not leave an older run's result looking like its own); the paths
        removed."""
        removed = []
        for path in self.files.values():
            with contextlib.suppress(OSError):
                if os.path.isfile(path):
                    os.unlink(path)
                    removed.append(path)
        return removed


def _identity(path: str) -> tuple[int, int] | str:
    """What tells two names of one file apart from two files: its device and inode,
    or, before it exists, its real path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # (ValueError: a NUL in the name, which no file has)
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return path
    return (st.st_dev, st.st_ino)


def plan_outputs(stdout_ok: tuple[str, ...] = (), **options: str | None) -> OutputPlan:
    """Check a command's output options (``option_name=path``, None = not given).

    '-' means standard output, allowed only for the options in ``stdout_ok`` and
    for one of them at a time; two options may not name the same file.
    """
    files: dict[str, str] = {}
    stdout = None
    seen: dict[tuple[int, int] | str, str] = {}
    for name, path in options.items():
        if path is None:
            continue
        option = "--" + name.replace("_", "-")
        if path == "-":
            if option not in stdout_ok:
                raise PageraceInputError(f"{option}: '-' (standard output) is not supported here")
            if stdout is not None:
                raise PageraceInputError(f"{option} and {stdout} cannot both write to '-'")
            stdout = option
            continue
        check_output_path(path, option)
        identity = _identity(path)
        if identity in seen:
            raise PageraceInputError(
                f"{seen[identity]} and {option} name the same file {one_line(path)}"
            )
        seen[identity] = option
        files[option] = path
    return OutputPlan(files, stdout)
