"""The console entry point: Ctrl-C is handled before anything heavy is imported.

Importing click, rich and the model takes tens of milliseconds; an interrupt in
that time must end like any other: one line and exit status 130.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    try:
        from pagerace.cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("pagerace: interrupted\n")
        sys.exit(130)
    run(argv)
