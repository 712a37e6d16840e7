"""`import --all`: adopt every campaign of the workspace that state does not hold yet.

Each campaign is written, then recorded in state at once, under the lock: a run stopped
part-way leaves every campaign either recorded with its file, or with a file only, which
the next run records (see `adoption`). Nothing is ever written over an existing file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from campaignsync.adoption import (
    Folders,
    Target,
    assign_keys,
    existing_file,
    in_order_made,
    record,
    recoverable,
    write_campaign_file,
)
from campaignsync.campaign import CampaignFile
from campaignsync.commands.wiring import (
    configured_campaigns,
    configured_store,
    make_client,
    read_configured_state,
    require_workspace,
    warn,
)
from campaignsync.config import Settings
from campaignsync.drift import RemoteCampaign, read_remote
from campaignsync.errors import ValidationFailed
from campaignsync.loader import load_file
from campaignsync.state import State
from campaignsync.store import StateStore
from campaignsync.terminal import echo
from campaignsync.textfile import display_path

if TYPE_CHECKING:
    from campaignsync.ontora import OntoraClient

# Below this many campaigns a run is over before a progress bar would tell anything.
PROGRESS_FROM = 10


@dataclass(frozen=True)
class Filters:
    """Which campaigns of the workspace to list (GET /v1/interviews query parameters)."""

    project_id: str | None = None
    status: str | None = None


@dataclass
class Survey:
    """What a run finds before it writes anything."""

    workspace: str
    listed: int
    in_state: int
    new: list[tuple[Target, RemoteCampaign]] = field(default_factory=list)
    # Files naming a listed campaign that state lacks, saying just what Ontora shows:
    # written by an import that stopped before recording them.
    unrecorded: list[tuple[CampaignFile, RemoteCampaign]] = field(default_factory=list)
    # Files adopting a listed campaign with values of their own: plan and apply's job.
    adopting: list[tuple[CampaignFile, RemoteCampaign]] = field(default_factory=list)
    # Keys in state whose file is gone.
    fileless: list[str] = field(default_factory=list)


def import_all(
    settings: Settings, filters: Filters, *, into: str, dry_run: bool, lock_timeout: float
) -> list[str]:
    """Import every listed campaign not in state; the keys recorded (none on a dry run)."""
    with make_client(settings) as client, configured_store(settings) as store:
        if dry_run:
            found = _survey(settings, client, read_configured_state(settings, store), filters, into)
            _show_dry_run(found)
            return []
        with store.lock(timeout=lock_timeout, command="import --all"):
            current = read_configured_state(settings, store)
            found = _survey(settings, client, current, filters, into)
            _show_notes(found)
            done: list[str] = []
            try:
                current = _adopt(settings, store, current, found, done)
            finally:
                _show_done(found, done)
    return done


def _survey(
    settings: Settings, client: OntoraClient, current: State, filters: Filters, into: str
) -> Survey:
    workspace = require_workspace(settings, current, "import --all")
    items = client.list_interviews(workspace, project_id=filters.project_id, status=filters.status)
    # In the order Ontora made them, so that the first of two namesakes keeps the plain key.
    remote = in_order_made(list(read_remote(items).values()))
    # Every file must be valid first: a file's interview_id says what it already adopts.
    loaded = configured_campaigns(settings, current, warn=warn)
    recorded = {entry.interview_id for entry in current.campaigns.values()}
    files = {campaign.interview_id: campaign for campaign in loaded if campaign.interview_id}
    found = Survey(workspace, len(remote), sum(r.interview_id in recorded for r in remote))
    fresh = []
    for campaign in remote:
        if campaign.interview_id in recorded:
            continue
        adopted = files.get(campaign.interview_id)
        if adopted is None:
            fresh.append(campaign)
            continue
        # Read on its own, as an import reads the file it writes: without folder defaults.
        own = load_file(adopted.path, adopted.key, settings.repository_root)
        unrecorded = isinstance(own, CampaignFile) and adopted.key not in current.campaigns
        if unrecorded and isinstance(own, CampaignFile) and recoverable(own, campaign):
            found.unrecorded.append((own, campaign))
            continue
        found.adopting.append((adopted, campaign))
    taken = [campaign.key for campaign in loaded] + list(current.campaigns)
    found.new = assign_keys(fresh, into, settings.campaigns_dir, taken)
    listed = {campaign.interview_id for campaign in remote}
    found.fileless = [
        key
        for key, entry in current.campaigns.items()
        if entry.interview_id in listed and existing_file(settings.campaigns_dir, key) is None
    ]
    return found


def _adopt(
    settings: Settings, store: StateStore, current: State, found: Survey, done: list[str]
) -> State:
    total = len(found.unrecorded) + len(found.new)
    with _progress(total) as advance:
        for loaded, _ in found.unrecorded:
            current = record(
                store, current, loaded, api_url=settings.api_url, workspace=found.workspace
            )
            done.append(loaded.key)
            advance()
        for where, remote in found.new:
            try:
                loaded = write_campaign_file(remote, where, _folders(settings))
            except ValidationFailed:
                echo(
                    f"Campaign {remote.interview_id} holds values a campaign file cannot "
                    f"(below); it was not imported. Correct them in Ontora's web app, then run "
                    "`campaignsync import --all` again: it goes on with the campaigns not yet "
                    "in state.",
                    err=True,
                )
                raise
            current = record(
                store, current, loaded, api_url=settings.api_url, workspace=found.workspace
            )
            done.append(where.key)
            advance()
    return current


def _folders(settings: Settings) -> Folders:
    return Folders(settings.campaigns_dir, settings.repository_root)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for long lists, only on a terminal (click hides it elsewhere)."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield lambda: None
        return
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


def _show_dry_run(found: Survey) -> None:
    lines = [_listed(found)]
    if found.new:
        lines.append("import --all would write:")
        lines += [
            f"  {display_path(where.path)}  <- {remote.interview_id} {remote.fields.get('name')!r}"
            for where, remote in found.new
        ]
    if found.unrecorded:
        lines.append("It would record these files, written by an import that stopped early:")
        lines += [f"  {c.source}  <- {remote.interview_id}" for c, remote in found.unrecorded]
    lines.append("Dry run: nothing was written. Run it without --dry-run to import.")
    echo("\n".join(lines))
    _show_notes(found)


def _listed(found: Survey) -> str:
    return (
        f"Ontora lists {found.listed} campaign(s) in workspace {found.workspace}; "
        f"{found.in_state} already in state."
    )


def _show_notes(found: Survey) -> None:
    for adopted, remote in found.adopting:
        echo(
            f"Note: {adopted.source} already adopts campaign {remote.interview_id} with values "
            "of its own; it is left to `campaignsync plan` and `apply`.",
            err=True,
        )
    for key in found.fileless:
        echo(
            f"Note: {key} is in state but its file is gone; `campaignsync state rm {key}`, "
            "then `campaignsync import --all` writes it again.",
            err=True,
        )


def _show_done(found: Survey, done: Sequence[str]) -> None:
    if not done and not found.new and not found.unrecorded:
        echo(f"{_listed(found)} Nothing to import.")
        return
    where = {loaded.key: loaded.source for loaded, _ in found.unrecorded}
    where |= {t.key: display_path(t.path) for t, _ in found.new}
    ids = {loaded.key: r.interview_id for loaded, r in found.unrecorded}
    ids |= {t.key: r.interview_id for t, r in found.new}
    lines = [f"Imported {key} into {where[key]} (campaign {ids[key]})." for key in done]
    pending = len(found.new) + len(found.unrecorded) - len(done)
    lines.append(
        f"{_listed(found)} Imported {len(done)}"
        + (f"; {pending} not imported yet." if pending else ".")
    )
    echo("\n".join(lines))
