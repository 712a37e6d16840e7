"""`validate` and `schema`: campaign files checked offline, and the published schemas."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click

from campaignsync.commands.wiring import format_option, warn, with_offline_settings
from campaignsync.config import Settings
from campaignsync.errors import Problem, ValidationFailed
from campaignsync.loader import validate_campaigns
from campaignsync.plan import plan_json_schema
from campaignsync.scrub import untrusted
from campaignsync.spec import campaign_json_schema, defaults_json_schema
from campaignsync.state import state_json_schema
from campaignsync.terminal import echo

SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "campaign": campaign_json_schema,
    "defaults": defaults_json_schema,
    "state": state_json_schema,
    "plan": plan_json_schema,
}


@click.command()
@with_offline_settings
@format_option(
    "text",
    "github",
    "json",
    help="text: path:line:column lines; github: Actions annotations; json: a list.",
)
def validate(settings: Settings, format_: str) -> int:
    """Check every campaign file offline; exit 1 if any is invalid."""
    try:
        campaigns = validate_campaigns(
            settings.campaigns_dir,
            settings.repository_root,
            warn=warn,
            environment=settings.environment,
            environments=settings.environments,
        )
    except ValidationFailed as exc:
        print_problems(exc.problems, format_)
        return 1
    if format_ == "json":
        echo("[]")
    elif format_ == "text":
        echo(f"All {len(campaigns)} campaign file(s) are valid.")
    return 0


@click.command()
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)), default="campaign")
def schema(kind: str) -> None:
    """Print the JSON Schema of a campaign file, the state file or a saved plan."""
    echo(json.dumps(SCHEMAS[kind](), indent=2))


def print_problems(problems: Sequence[Problem], format_: str) -> None:
    if format_ == "json":
        document = [
            {"path": p.path, "line": p.line, "column": p.column, "message": p.message}
            for p in problems
        ]
        echo(json.dumps(document, indent=2))
        return
    if format_ == "github":
        for problem in problems:
            echo(_github_annotation(problem))
        return
    for problem in problems:
        # One line each, whatever the file name holds.
        echo(untrusted(problem))
    files = len({problem.path for problem in problems})
    echo(f"{len(problems)} problem(s) in {files} file(s).")


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
