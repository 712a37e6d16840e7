"""The `campaignsync` command: the group, its commands, and errors mapped to exit codes.

Exit codes are fixed: 0 success, 1 error, 2 changes pending (with --detailed-exitcode),
3 stale plan or state lock held.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

import click

from campaignsync import __version__
from campaignsync.commands.apply import apply
from campaignsync.commands.drift import drift
from campaignsync.commands.emulator import emulator
from campaignsync.commands.files import print_problems, schema, validate
from campaignsync.commands.imports import import_
from campaignsync.commands.options import use_colour
from campaignsync.commands.plan import plan
from campaignsync.commands.state import state_group
from campaignsync.errors import CampaignsyncError, ValidationFailed


class _Cli(click.Group):
    """A group whose every failure is a message and a fixed exit code, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            _fail("Aborted.")
        except click.ClickException as exc:
            # Usage errors exit 1, not click's 2: exit code 2 means "changes pending".
            exc.show()
            sys.exit(1)
        except ValidationFailed as exc:
            print_problems(exc.problems, "text")
            sys.exit(exc.exit_code)
        except CampaignsyncError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("Interrupted.", 130)
        except Exception as exc:
            if os.environ.get("CAMPAIGNSYNC_DEBUG"):
                traceback.print_exc()
            _fail(
                f"internal error: {type(exc).__name__}: {exc}. This is a bug in campaignsync; "
                "please report it (set CAMPAIGNSYNC_DEBUG=1 to see where it happened)."
            )
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {_scrub(message)}", fg="red", err=True, color=use_colour(sys.stderr))
    sys.exit(code)


def _scrub(text: str) -> str:
    for variable in ("ONTORA_API_TOKEN", "ONTORA_API_KEY"):
        secret = os.environ.get(variable)
        if secret:
            text = text.replace(secret, "***")
    return text


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaignsync")
def cli() -> None:
    """Ontora interview campaigns as code: validate, plan and apply YAML campaigns."""


for command in (validate, plan, apply, drift, import_, state_group, schema, emulator):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="campaignsync")
