"""The pytest plugin of pagerace (entry point ``pytest11``: loaded by pytest once
pagerace is installed; ``-p no:pagerace`` turns it off).

Options:

* ``--pagerace-max-executions N``: cap the executions of every ``@explores`` test and
  every ``assert_clean`` (a quick pass over a suite; a test whose search is cut
  fails as "not established" rather than passing unchecked);
* ``--pagerace-html DIR``: write the HTML report of each failing ``assert_clean`` to
  ``DIR/<test>.html``.

Replaying one counterexample needs no option: ``PAGERACE_SCHEDULE=<schedule> pytest
-k <test>`` (the failure message prints the line).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pagerace import testing
from pagerace.errors import PageraceInputError

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
]


def _positive(text: str) -> int:
    """``--pagerace-max-executions``: ASCII digits, 1 to 10**12, as ``pagerace run``
    reads a count (no other scripts' digits, no sign)."""
    from pagerace.userio import parse_uint

    try:
        return parse_uint(text, "--pagerace-max-executions", minimum=1, maximum=10**12)
    except PageraceInputError as exc:
        raise pytest.UsageError(str(exc)) from None


def _folder(text: str) -> Path:
    """The folder of ``--pagerace-html``: a directory, or a path where one can be made
    (checked before any test runs, not when the first report is written)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise pytest.UsageError(f"--pagerace-html: {text} exists and is not a directory")
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pagerace", "pagerace model checking")
    group.addoption(
        "--pagerace-max-executions",
        metavar="N",
        default=None,
        help="cap the executions of every pagerace exploration (@explores, assert_clean)",
    )
    group.addoption(
        "--pagerace-html",
        metavar="DIR",
        default=None,
        help="write the HTML report of each failing assert_clean to DIR/<test>.html",
    )


def pytest_configure(config: pytest.Config) -> None:
    cap = config.getoption("--pagerace-max-executions")
    html = config.getoption("--pagerace-html")
    testing.settings.max_executions = _positive(cap) if cap is not None else None
    testing.settings.html_dir = _folder(html) if html else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    testing.settings.failed_run = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    run = testing.settings.failed_run
    folder = testing.settings.html_dir
    if call.when != "call" or run is None:
        return
    testing.settings.failed_run = None
    if report.failed and folder is not None:
        from pagerace.report.html import write_html
        from pagerace.report.json import result_dict

        path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_") + ".html")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_html(result_dict(run), str(path))
        except OSError as exc:  # (the folder cannot be made; the test's failure stands)
            why = f"{folder}: {exc.strerror or exc}"
            report.sections.append(("pagerace", f"HTML report not written: {why}"))
        except PageraceInputError as exc:  # (the file cannot be written)
            report.sections.append(("pagerace", f"HTML report not written: {exc}"))
        else:
            report.sections.append(("pagerace", f"HTML report: {path}"))
