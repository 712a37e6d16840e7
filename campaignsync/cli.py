"""The `campaignsync` command: the group, its commands, and errors mapped to exit codes.

Exit codes are fixed (README "Exit codes"): 0 success, 1 error, 2 changes pending (with
--detailed-exitcode), 3 plan again (stale plan, lock held, another target, remote edit),
130 interrupted.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import threading
import traceback
from typing import Any, NoReturn

import click

from campaignsync import __version__
from campaignsync.errors import CampaignsyncError, ValidationFailed
from campaignsync.terminal import echo, fail_message

# name -> (module, attribute, one-line help). Each command's module, and the libraries it
# needs (pydantic, YAML, httpx, FastAPI), loads only when that command runs, which keeps
# `campaignsync --help` as quick as importing click. A test keeps the help lines true.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "init",
        "init",
        "Set up a campaigns repository in FOLDER (default: here); never overwrites a file.",
    ),
    "validate": (
        "validate",
        "validate",
        "Check every campaign file offline; exit 1 if any is invalid.",
    ),
    "plan": (
        "plan",
        "plan",
        "Show what apply would change on Ontora; never changes anything itself.",
    ),
    "apply": (
        "apply",
        "apply",
        "Make Ontora match the campaign files, and record each success in state.",
    ),
    "drift": (
        "drift",
        "drift",
        "Compare last applied, Ontora and the files for every field Ontora lets us read.",
    ),
    "import": (
        "imports",
        "import_",
        "Adopt Ontora campaigns: INTERVIEW_ID as campaigns/KEY.yaml, or --all not yet in state.",
    ),
    "state": (
        "state",
        "state_group",
        "Inspect and edit the state file (what campaignsync last applied).",
    ),
    "schema": (
        "validate",
        "schema",
        "Print the JSON Schema of a campaign file, the state file or a saved plan.",
    ),
    "emulator": (
        "emulator",
        "emulator",
        "Serve a local Ontora emulator for trials and tests (needs campaignsync[emulator]).",
    ),
    "environments": (
        "environments",
        "environments",
        "List the environments campaignsync.yaml declares, in order (none: no output).",
    ),
}


class _Cli(click.Group):
    """A group whose every failure is a message and a fixed exit code, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Abort as exc:
            # click turns a KeyboardInterrupt inside any command into Abort, from it.
            if isinstance(exc.__cause__, KeyboardInterrupt):
                _fail("Interrupted.", 130)
            _fail("Aborted.")
        except click.ClickException as exc:
            # Usage errors exit 1, not click's 2: exit code 2 means "changes pending".
            shown = io.StringIO()
            exc.show(file=shown)
            echo(shown.getvalue(), err=True, nl=False)
            sys.exit(1)
        except ValidationFailed as exc:
            from campaignsync.commands.validate import print_problems

            print_problems(exc.problems, "text")
            sys.exit(exc.exit_code)
        except CampaignsyncError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("Interrupted.", 130)
        except Exception as exc:
            if os.environ.get("CAMPAIGNSYNC_DEBUG"):
                echo(traceback.format_exc(), err=True, nl=False)
            _fail(
                f"internal error: {type(exc).__name__}: {exc}. This is a bug in campaignsync; "
                "please report it (set CAMPAIGNSYNC_DEBUG=1 to see where it happened)."
            )
        sys.exit(result if isinstance(result, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        command: click.Command = getattr(
            importlib.import_module(f"campaignsync.commands.{module}"), attribute
        )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, _, summary) in COMMANDS.items()])


def _fail(message: str, code: int = 1) -> NoReturn:
    fail_message(message)
    sys.exit(code)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaignsync")
def cli() -> None:
    """Ontora interview campaigns as code: validate, plan and apply YAML campaigns."""


def main() -> None:
    _show_what_the_console_cannot()
    try:
        cli.main(prog_name="campaignsync")
    except SystemExit as exc:
        if not isinstance(exc.code, int):
            raise
        _exit_without_teardown(exc.code)


def _show_what_the_console_cannot() -> None:
    """A console in another encoding than UTF-8 (latin-1, cp1252) gets what it cannot
    show as escapes (`\\u2615`) instead of an error that ends the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a stream already closed
                reconfigure(errors="backslashreplace")


def _exit_without_teardown(code: int) -> NoReturn:
    """Exit with `code`, skipping the interpreter's teardown once nothing is left to finish.

    By now every command has closed its files and store and released its lock; freeing a
    large state and plan object by object would only delay the exit. Output is flushed
    first; if that fails, or a thread still runs, the ordinary exit reports or waits; so it
    does under a profiler or a coverage tracer, which write their data at that exit.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the caller closed it (`>&-`), nothing to flush
                stream.flush()
        except (OSError, ValueError):
            sys.exit(code)
    others = [thread for thread in threading.enumerate() if thread is not threading.main_thread()]
    if any(thread.is_alive() and not thread.daemon for thread in others):
        sys.exit(code)
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(code)  # a profiler or coverage run saves its data at the ordinary exit
    os._exit(code)
