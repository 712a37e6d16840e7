"""`drift`: how Ontora differs from what was last applied and from the files (GET only)."""

from __future__ import annotations

import sys

import click

from campaignsync.commands.wiring import (
    fetch_remote,
    format_option,
    make_client,
    read_configured_state,
    require_workspace,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.drift import build_drift_report
from campaignsync.loader import load_campaigns
from campaignsync.ontora import prepare_tls
from campaignsync.render_drift import render_drift_json, render_drift_markdown, render_drift_text
from campaignsync.terminal import echo, use_colour


@click.command()
@with_settings
@format_option("text", "json", "markdown", help="text for a terminal, json or markdown.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when in sync, 2 when drift is found."
)
def drift(settings: Settings, format_: str, detailed_exitcode: bool) -> int:
    """Compare last applied, Ontora and the files for every field Ontora lets us read.

    theirs: changed in Ontora only (edited in the web app); ours: changed in git only;
    conflict: changed in both, differently. Never writes state; sends only GET requests.
    Ontora cannot read back voice_id, follow-ups, topics, questions or contacts, so drift
    in those is not visible.
    """
    prepare_tls()  # in the background, while the state and the files are read
    current = read_configured_state(settings)
    workspace = require_workspace(settings, current, "drift")
    desired = {
        campaign.key: campaign.managed
        for campaign in load_campaigns(
            settings.campaigns_dir,
            settings.repository_root,
            environment=settings.environment,
            environments=settings.environments,
        )
    }
    with make_client(settings) as client:
        remote = fetch_remote(client, workspace)
    last_applied = {
        key: (entry.interview_id, entry.last_applied)
        for key, entry in current.campaigns.items()
        if entry.interview_id is not None
    }
    report = build_drift_report(
        desired, last_applied, remote, api_url=settings.api_url, workspace_id=workspace
    )
    if format_ == "json":
        echo(render_drift_json(report), nl=False)
    elif format_ == "markdown":
        echo(render_drift_markdown(report), nl=False)
    else:
        colour = use_colour(sys.stdout)
        echo(render_drift_text(report, colour=colour), nl=False, colour=colour)
    return 2 if detailed_exitcode and not report.in_sync else 0
