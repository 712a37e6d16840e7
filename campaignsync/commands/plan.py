"""`plan`: show what apply would change on Ontora, without changing anything."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import click

from campaignsync.commands.wiring import (
    FilePath,
    fetch_remote,
    format_option,
    make_client,
    make_plan,
    read_configured_state,
    require_workspace,
    targets_option,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import ConfigError
from campaignsync.filestate import atomic_write
from campaignsync.plan import saved_json
from campaignsync.render import render_json, render_text
from campaignsync.render_markdown import (
    MARKDOWN_BUDGET,
    MARKDOWN_MIN_CHARS,
    MARKDOWN_PER_CAMPAIGN,
    render_markdown,
)
from campaignsync.terminal import echo, use_colour


@click.command()
@with_settings
@format_option(
    "text",
    "json",
    "markdown",
    help="text for a terminal, json for machines, markdown for a pull-request comment.",
)
@click.option(
    "--out",
    type=FilePath(),
    help="Save the JSON plan for `campaignsync apply FILE`. It holds contact data "
    "(names, emails, phones): keep it out of git and share it like a secret.",
)
@targets_option("Plan only campaigns whose key matches (glob, e.g. 'hr/*'); repeatable.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Also read Ontora (GET only): show remote edits, mark requests that would overwrite "
    "them, and record what was seen so `apply FILE` can refuse campaigns edited since.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=MARKDOWN_MIN_CHARS),
    default=MARKDOWN_BUDGET,
    show_default=True,
    help="Longest Markdown output; diffs are cut to fit it, keeping every campaign's header "
    f"while there are {MARKDOWN_PER_CAMPAIGN} characters per changed campaign.",
)
@click.option(
    "--show-sensitive", is_flag=True, help="Show contact names, emails and phones in Markdown."
)
def plan(
    settings: Settings,
    format_: str,
    out: Path | None,
    targets: tuple[str, ...],
    refresh: bool,
    detailed_exitcode: bool,
    max_chars: int,
    show_sensitive: bool,
) -> int:
    """Show what apply would change on Ontora; never changes anything itself.

    A saved plan (--out) contains contact data: keep it out of git.
    """
    if out is not None and not out.name:
        raise ConfigError("--out needs a file name, like plan.json.")
    if out is not None:
        _refuse_to_overwrite(out, settings)
    if refresh:
        from campaignsync.ontora import prepare_tls  # httpx only for --refresh

        prepare_tls()  # in the background, while the state is read
    current = read_configured_state(settings)
    remote = None
    if refresh:
        workspace = require_workspace(settings, current, "plan --refresh")
        with make_client(settings) as client:
            remote = fetch_remote(client, workspace)
    the_plan = make_plan(settings, targets, current, remote)
    document = render_json(the_plan) if format_ == "json" or out is not None else ""
    if format_ == "json":
        echo(document, nl=False)
    elif format_ == "markdown":
        output = render_markdown(the_plan, max_chars=max_chars, show_sensitive=show_sensitive)
        echo(output, nl=False)
    else:
        colour = use_colour(sys.stdout)
        echo(render_text(the_plan, colour=colour), nl=False, colour=colour)
    if out is not None:
        atomic_write(out, document.encode(), mode=0o600)
        env = f"--env {settings.environment} " if settings.environment else ""
        echo(f"Saved the plan to {out}; run `campaignsync apply {env}{out}` to apply it.", err=True)
    if detailed_exitcode and the_plan.has_changes:
        return 2
    return 0


def _refuse_to_overwrite(out: Path, settings: Settings) -> None:
    """--out replaces a saved plan or writes a new file; it never destroys anything else."""
    if out.resolve() == settings.state_path.resolve():
        raise ConfigError(
            f"--out {out} is the state file {settings.state_path}; saving the plan there would "
            "destroy the state. Save the plan under another name, like --out plan.json."
        )
    if (out.exists() or out.is_symlink()) and not _is_saved_plan(out):
        raise ConfigError(
            f"{out} exists and is not a saved campaignsync plan, so --out will not overwrite "
            "it. Choose another file name, or remove that file first if it is not needed."
        )


def _is_saved_plan(path: Path) -> bool:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # a folder, FIFO or device is never read
        document = saved_json(path.read_bytes())  # as apply reads a saved plan
    except (OSError, ValueError):
        return False
    return (
        isinstance(document, dict)
        and {
            "format_version",
            "state_lineage",
            "state_serial",
            "campaigns",
            "digest",
        }
        <= document.keys()
    )
