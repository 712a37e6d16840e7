"""`import`: adopt campaigns that already exist in Ontora, one by its id or every one of
the workspace, into campaign files and state; each run ends with a plan that must be empty."""

from __future__ import annotations

from collections.abc import Sequence

import click
from pydantic import TypeAdapter, ValidationError

from campaignsync.adoption import Folders, existing_file, record, target, write_campaign_file
from campaignsync.commands.import_all import Filters, import_all
from campaignsync.commands.wiring import (
    configured_campaigns,
    configured_store,
    fetch_remote,
    lock_timeout_option,
    make_client,
    make_plan,
    read_configured_state,
    require_key,
    require_workspace,
    warn,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import ConfigError, PlanError, StateError
from campaignsync.ontora_models import Uuid
from campaignsync.state import Entry, State
from campaignsync.terminal import echo
from campaignsync.textfile import display_path

_UUID: TypeAdapter[str] = TypeAdapter(Uuid)
# The lifecycle Ontora documents: draft -> active -> paused, active|paused -> completed.
STATUSES = ("draft", "active", "paused", "completed")


@click.command("import")
@with_settings
@click.argument("interview_id", required=False)
@click.argument("key", required=False)
@click.option("--all", "all_", is_flag=True, help="Import every campaign not yet in state.")
@click.option("--project-id", metavar="UUID", help="With --all: only this project's campaigns.")
@click.option("--status", type=click.Choice(STATUSES), help="With --all: only in this status.")
@click.option(
    "--into", metavar="FOLDER", help="With --all: write under the campaigns folder's FOLDER."
)
@click.option(
    "--dry-run", is_flag=True, help="With --all: show what would be written; write nothing."
)
@lock_timeout_option
def import_(
    settings: Settings,
    interview_id: str | None,
    key: str | None,
    all_: bool,
    project_id: str | None,
    status: str | None,
    into: str | None,
    dry_run: bool,
    lock_timeout: float,
) -> None:
    """Adopt Ontora campaigns: INTERVIEW_ID as campaigns/KEY.yaml, or --all not yet in state.

    Only the fields Ontora lets us read are written, each campaign is recorded in state,
    and the plan of what was imported must then show no changes.
    """
    if all_:
        if interview_id is not None:
            raise click.UsageError("--all imports every campaign: give no INTERVIEW_ID or KEY.")
        filters = Filters(
            project_id=project_id and _uuid_argument(project_id, "project"), status=status
        )
        folder = _folder(into) if into is not None else ""
        keys = import_all(
            settings, filters, into=folder, dry_run=dry_run, lock_timeout=lock_timeout
        )
        if keys:
            verify_empty_plan(settings, keys)
        return
    if interview_id is None or key is None:
        raise click.UsageError(
            "Give INTERVIEW_ID and KEY to import one campaign, or --all for every campaign "
            "of the workspace."
        )
    given = {"--project-id": project_id, "--status": status, "--into": into, "--dry-run": dry_run}
    only_with_all = [option for option, value in given.items() if value]
    if only_with_all:
        raise click.UsageError(f"{', '.join(only_with_all)} only go with --all.")
    _import_one(settings, interview_id, key, lock_timeout)


def _import_one(settings: Settings, interview_id: str, key: str, lock_timeout: float) -> None:
    require_key(key)
    interview_id = _uuid_argument(interview_id, "campaign")
    where = target(settings.campaigns_dir, key)
    with (
        make_client(settings) as client,
        configured_store(settings) as store,
        store.lock(timeout=lock_timeout, command="import"),
    ):
        current = read_configured_state(settings, store)
        _refuse_to_overwrite(settings, current, interview_id, key)
        # The import ends with a plan, which needs every file valid: fail before writing.
        configured_campaigns(settings, warn=warn)
        workspace = require_workspace(settings, current, "import")
        remote = fetch_remote(client, workspace).get(interview_id)
        if remote is None:
            raise ConfigError(
                f"Ontora lists no campaign {interview_id} in workspace {workspace}. Check the "
                "id (it is in the campaign's URL in the web app) and the workspace."
            )
        folders = Folders(settings.campaigns_dir, settings.repository_root)
        loaded = write_campaign_file(remote, where, folders)
        record(store, current, loaded, api_url=settings.api_url, workspace=workspace)
    echo(f"Imported campaign {remote.interview_id} as {key} into {display_path(where.path)}.")
    verify_empty_plan(settings, [key])


def verify_empty_plan(settings: Settings, keys: Sequence[str]) -> None:
    """Plan what was just imported: a change no folder default explains means a file and
    Ontora disagree. What the defaults add is told, to be sent by the next apply."""
    current = read_configured_state(settings)
    campaigns = configured_campaigns(settings, current, warn=warn)
    plan = make_plan(settings, keys, current, campaigns=campaigns)
    inherited = {campaign.key: campaign.inherited for campaign in campaigns}
    unexplained, from_defaults = [], []
    for item in plan.changed:
        fields = [change.field for change in item.changes] or [str(item.action)]
        supplied = inherited.get(item.key, {})
        own = [name for name in fields if name not in supplied]
        shown = ", ".join(f"{name} from {supplied[name]}" for name in fields if name in supplied)
        if own:
            unexplained.append(f"{item.key} ({', '.join(own)})")
        else:
            from_defaults.append(f"{item.key} ({shown})")
    if unexplained:
        raise PlanError(
            f"The import is recorded, but its plan is not empty: {'; '.join(unexplained)}. "
            "An imported file should say exactly what Ontora holds: run `campaignsync plan` "
            "to see the difference before any apply, and please report it."
        )
    echo(f"The plan for the {len(keys)} imported campaign(s) shows no changes of theirs.")
    if from_defaults:
        echo(
            "The next apply sends what folder defaults add to them: "
            f"{'; '.join(from_defaults)}. Run `campaignsync plan` to review it."
        )


def _uuid_argument(value: str, what: str) -> str:
    try:
        return _UUID.validate_python(value)
    except ValidationError:
        raise ConfigError(
            f"{value!r} is not a {what} id; it is a UUID, like "
            f"6b0f7c2e-3c1d-4a55-9d0e-1f2a3b4c5d6e, in the {what}'s URL in the web app."
        ) from None


def _folder(into: str) -> str:
    """--into as a folder inside the campaigns folder, by the same rules as every key."""
    folder = into.rstrip("/")
    require_key(folder)
    return folder


def _refuse_to_overwrite(settings: Settings, current: State, interview_id: str, key: str) -> None:
    existing = existing_file(settings.campaigns_dir, key)
    if existing is not None:
        raise ConfigError(f"{display_path(existing)} already exists; import will not overwrite it.")
    campaigns: dict[str, Entry] = current.campaigns
    if key in campaigns:
        raise StateError(
            f"State already has a campaign {key!r}; pick another key, or `campaignsync state rm "
            f"{key}` first."
        )
    for other, entry in campaigns.items():
        if entry.interview_id == interview_id:
            raise StateError(f"Campaign {interview_id} is already managed as {other!r}.")
