"""Entry point: a click group whose commands live in their own modules.

Commands are imported lazily so that ``pagerace --help`` stays fast and one
command's imports never slow another down.  Every ``PageraceInputError`` that
escapes a command becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys

import click

from pagerace import __version__
from pagerace.errors import PageraceInputError
from pagerace.userio import one_line

__all__ = ["cli", "main"]

# command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("pagerace.cli.run", "run", "Explore a scenario's interleavings and report findings."),
    "resume": (
        "pagerace.cli.run",
        "resume",
        "Finish a run from its checkpoint file.",
    ),
    "replay": (
        "pagerace.cli.run",
        "replay",
        "Re-run one schedule of a scenario and print its trace.",
    ),
    "show": ("pagerace.cli.show", "show", "Print the page-table tree a scenario sets up."),
    "list": (
        "pagerace.cli.listing",
        "list_scenarios",
        "The bundled scenarios and what each expects.",
    ),
    "conform": (
        "pagerace.cli.conform",
        "conform",
        "Replay Xen conformance vectors against the model.",
    ),
    "check": (
        "pagerace.cli.check",
        "check",
        "Run a scenario's operations in order and judge each against its promise.",
    ),
    "xsa345": ("pagerace.cli.run", "xsa345", "Run the advisory's races on both variants."),
    "versions": (
        "pagerace.cli.versions",
        "versions",
        "Run every bundled scenario on every modelled Xen version.",
    ),
    "variants": (
        "pagerace.cli.variants",
        "variants",
        "List the modelled Xen versions and the releases each stands for.",
    ),
    "assess": ("pagerace.cli.assess", "assess", "XSA-345 exposure of a real Xen host."),
    "steps": (
        "pagerace.cli.steps",
        "steps_command",
        "Explain step labels: Xen function, what the step does, mm.c lines.",
    ),
    "hunt": (
        "pagerace.cli.hunt",
        "hunt",
        "Draw random scenarios and report each distinct race, minimised.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from pagerace.build import describe  # (looks at the installed modules: only here)

    click.echo(f"pagerace {__version__}, {describe()}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and whether it is compiled, and exit.",
)
def cli() -> None:
    """pagerace: find, explain and rule out races in hypervisor page-table code."""


#: What click (8.2 on) raises for a group given no command (older versions print the
#: help and exit 0 themselves).
_NO_ARGS: type[click.UsageError] | tuple[()] = getattr(click.exceptions, "NoArgsIsHelpError", ())

#: The environment variable of click's shell completion for ``pagerace``.
COMPLETE_VAR = "_PAGERACE_COMPLETE"


def main(argv: list[str] | None = None) -> None:
    """Run the command line; every way out is an exit status and at most one line
    on stderr (never a traceback for bad input, an interrupt or a full disk)."""
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:  # shell completion (docs in the README), as click's main() does it
        from click.shell_completion import shell_complete

        sys.exit(shell_complete(cli, {}, "pagerace", COMPLETE_VAR, instruction))
    try:
        try:
            # not cli.main(): it prints an empty line on Ctrl-C before raising Abort
            args = sys.argv[1:] if argv is None else list(argv)
            with cli.make_context("pagerace", args) as ctx:
                rc = cli.invoke(ctx)
        finally:
            sys.stdout.flush()
    except click.exceptions.Exit as exc:
        _exit(exc.exit_code)
    except _NO_ARGS as exc:  # `pagerace` alone: the help, as --help gives it
        assert exc.ctx is not None
        click.echo(exc.ctx.get_help())
        _exit(0)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "pagerace"
        _fail(f"{where}: {exc.format_message()} (see '{where} --help')", 2)
    except click.ClickException as exc:
        _fail(f"pagerace: {exc.format_message()}", 2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("pagerace: interrupted", 130)
    except PageraceInputError as exc:
        _fail(f"pagerace: {exc}", 2)
    except BrokenPipeError:
        _discard_stdout()
        sys.exit(0)
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRORS:
            raise
        _discard_stdout()
        _fail(f"pagerace: cannot write the output: {exc.strerror}", 2)
    # a command may return ctx.exit(n)'s status as a value
    _exit(rc if isinstance(rc, int) else 0)


# errors of writing to standard output (a full disk, /dev/full, a failed device)
_OUTPUT_ERRORS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG))


def _exit(code: int) -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    except OSError as exc:
        _discard_stdout()
        _fail(f"pagerace: cannot write the output: {exc.strerror}", 2)
    sys.exit(code)


def _fail(message: str, code: int) -> None:
    """One line on stderr (``one_line`` makes user text in it safe), then exit."""
    try:
        sys.stderr.write(one_line(message, limit=_MAX_LINE) + "\n")
        sys.stderr.flush()
    except OSError:
        pass
    sys.exit(code)


_MAX_LINE = 1000  # an error line longer than this is cut (the parts from the user are
# cut to ``MAX_SHOWN`` where they are put in; a list of names may be long)


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of what is
    still buffered cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
