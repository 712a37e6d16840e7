"""The `campaignsync` command: parse options, wire the pieces, render, map errors to exits."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from campaignsync import __version__
from campaignsync.config import Settings, resolve_settings
from campaignsync.errors import CampaignsyncError, Problem, ValidationFailed
from campaignsync.loader import load_campaigns

F = TypeVar("F", bound=Callable[..., Any])


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
            _print_problems(exc.problems, "text")
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
    click.secho(f"Error: {_scrub(message)}", fg="red", err=True, color=_colour(sys.stderr))
    sys.exit(code)


def _scrub(text: str) -> str:
    for variable in ("ONTORA_API_TOKEN", "ONTORA_API_KEY"):
        secret = os.environ.get(variable)
        if secret:
            text = text.replace(secret, "***")
    return text


def _colour(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _settings_options(command: F) -> F:
    options = [
        click.option(
            "--dir", "dir_", metavar="DIR", help="Campaigns folder [env CAMPAIGNSYNC_DIR]."
        ),
        click.option("--state", metavar="FILE", help="State file [env CAMPAIGNSYNC_STATE]."),
        click.option("--api-url", metavar="URL", help="Ontora API base URL [env ONTORA_API_URL]."),
        click.option(
            "--workspace-id", metavar="UUID", help="Ontora workspace [env ONTORA_WORKSPACE_ID]."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(
    dir_: str | None, state: str | None, api_url: str | None, workspace_id: str | None
) -> Settings:
    return resolve_settings(
        {"dir": dir_, "state": state, "api_url": api_url, "workspace_id": workspace_id}
    )


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaignsync")
def cli() -> None:
    """Ontora interview campaigns as code: validate, plan and apply YAML campaigns."""


@cli.command()
@_settings_options
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text: path:line:column lines; github: Actions annotations; json: a list.",
)
def validate(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    format_: str,
) -> int:
    """Check every campaign file offline; exit 1 if any is invalid."""
    settings = _settings(dir_, state, api_url, workspace_id)
    try:
        campaigns = load_campaigns(settings.campaigns_dir, settings.repository_root)
    except ValidationFailed as exc:
        _print_problems(exc.problems, format_)
        return 1
    if format_ == "json":
        click.echo("[]")
    elif format_ == "text":
        click.echo(f"All {len(campaigns)} campaign file(s) are valid.")
    return 0


def _print_problems(problems: Sequence[Problem], format_: str) -> None:
    if format_ == "json":
        document = [
            {"path": p.path, "line": p.line, "column": p.column, "message": p.message}
            for p in problems
        ]
        click.echo(json.dumps(document, indent=2))
        return
    if format_ == "github":
        for problem in problems:
            click.echo(_github_annotation(problem))
        return
    for problem in problems:
        click.echo(str(problem))
    files = len({problem.path for problem in problems})
    click.echo(f"{len(problems)} problem(s) in {files} file(s).")


def _github_annotation(problem: Problem) -> str:
    properties = [f"file={_escape_property(problem.path)}"]
    if problem.line is not None:
        properties.append(f"line={problem.line}")
    if problem.column is not None:
        properties.append(f"col={problem.column}")
    return f"::error {','.join(properties)}::{_escape_data(problem.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@cli.command()
@click.argument("kind", type=click.Choice(["campaign"]), default="campaign")
def schema(kind: str) -> None:
    """Print the JSON Schema of a campaign file."""
    from campaignsync.spec import campaign_json_schema

    click.echo(json.dumps(campaign_json_schema(), indent=2))


def main() -> None:
    cli.main(prog_name="campaignsync")
