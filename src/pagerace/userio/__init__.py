"""pagerace.userio: the edge between pagerace and what users hand it or get from it.

Every file a user names is read through ``read_user_bytes`` / ``read_user_text``
(regular files and pipes only, bounded in size, never blocking on a FIFO without a
writer); every output file (``--json``, ``--html``, checkpoints) is written through
``write_atomic`` (temporary file, fsync, rename: never a truncated file);
``one_line`` makes a user-provided string safe inside a one-line message and
``did_you_mean`` suggests the name a user may have meant;
``parse_uint`` is the one parser of user numbers; ``load_toml`` and ``load_json``
parse structured text without a RecursionError, an integer-digit ValueError or a
silently dropped duplicate key.

This package imports nothing from pagerace but ``pagerace.errors``; every layer may
use it.
"""

from pagerace.userio.files import (
    MAX_INPUT_BYTES,
    OutputPlan,
    UserFileError,
    check_output_path,
    plan_outputs,
    read_user_bytes,
    read_user_text,
    write_atomic,
)
from pagerace.userio.structured import MAX_NESTING, StructuredTextError, load_json, load_toml
from pagerace.userio.text import MAX_SHOWN, did_you_mean, one_line, parse_uint, printable

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_NESTING",
    "MAX_SHOWN",
    "OutputPlan",
    "StructuredTextError",
    "UserFileError",
    "check_output_path",
    "did_you_mean",
    "load_json",
    "load_toml",
    "one_line",
    "parse_uint",
    "plan_outputs",
    "printable",
    "read_user_bytes",
    "read_user_text",
    "write_atomic",
]
