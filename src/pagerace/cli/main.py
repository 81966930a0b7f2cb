"""Entry point: a click group whose commands live in their own modules.

Commands are imported lazily so that ``pagerace --help`` stays fast and one
command's imports never slow another down.  Every ``PageraceInputError`` that
escapes a command becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from pagerace import __version__
from pagerace.errors import PageraceInputError

__all__ = ["cli", "main"]

# command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("pagerace.cli.run", "run", "Explore a scenario's interleavings and report findings."),
    "replay": (
        "pagerace.cli.run",
        "replay",
        "Re-run one schedule of a scenario and print its trace.",
    ),
    "show": ("pagerace.cli.show", "show", "Print the page-table tree a scenario sets up."),
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
    "assess": ("pagerace.cli.assess", "assess", "XSA-345 exposure of a real Xen host."),
    "steps": (
        "pagerace.cli.steps",
        "steps_command",
        "Explain step labels: Xen function, what the step does, mm.c lines.",
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pagerace")
def cli() -> None:
    """pagerace: find, explain and rule out races in hypervisor page-table code."""


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="pagerace", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("pagerace: interrupted", err=True)
        sys.exit(130)
    except PageraceInputError as exc:
        click.echo(f"pagerace: {exc}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    # without standalone mode, click returns ctx.exit(n)'s status as a value
    sys.exit(rc if isinstance(rc, int) else 0)
