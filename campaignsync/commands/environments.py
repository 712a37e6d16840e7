"""`environments`: the environments campaignsync.yaml declares, for people and for scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from campaignsync.commands.wiring import format_option
from campaignsync.config import Settings, resolve_settings
from campaignsync.store import shown_url
from campaignsync.terminal import echo


@click.command()
@format_option(
    "text",
    "json",
    help="text: one name a line; json: each with the settings --env NAME resolves to.",
)
def environments(format_: str) -> None:
    """List the environments campaignsync.yaml declares, in order (none: no output)."""
    declared = resolve_settings({}, needs_environment=False).environments
    if format_ == "text":
        for name in declared:
            echo(name)
        return
    described = [_described(resolve_settings({"env": name})) for name in declared]
    echo(json.dumps(described, indent=2))


def _described(settings: Settings) -> dict[str, Any]:
    """What a script needs to know of one environment; the state file as a relative path
    when it is inside the working directory, so that `git add` takes it as it is."""
    state_file = None
    if settings.state_url is None:
        path = settings.state_path
        state_file = str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    return {
        "name": settings.environment,
        "api_url": settings.api_url,
        "workspace_id": settings.workspace_id,
        "state_file": state_file,
        "state_url": shown_url(settings.state_url) if settings.state_url else None,
        "state_name": settings.state_name,
    }
