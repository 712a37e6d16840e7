"""`import`: adopt a campaign that already exists in Ontora into a file and state."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click
from pydantic import TypeAdapter, ValidationError

from campaignsync.campaign import CampaignFile
from campaignsync.commands.wiring import (
    configured_store,
    fetch_remote,
    lock_timeout_option,
    make_client,
    read_configured_state,
    require_key,
    require_workspace,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import ConfigError, StateError, ValidationFailed
from campaignsync.filestate import atomic_write
from campaignsync.loader import load_file
from campaignsync.ontora_models import READABLE_FIELDS, UNREADABLE_FIELDS, Uuid
from campaignsync.spec import FIELD_ORDER
from campaignsync.state import Entry, now
from campaignsync.survey import SUFFIXES
from campaignsync.terminal import echo
from campaignsync.textfile import display_path
from campaignsync.yamldoc import render_campaign_yaml

if TYPE_CHECKING:
    from campaignsync.drift import RemoteCampaign

_UUID: TypeAdapter[str] = TypeAdapter(Uuid)


@click.command("import")
@with_settings
@click.argument("interview_id")
@click.argument("key")
@lock_timeout_option
def import_(settings: Settings, interview_id: str, key: str, lock_timeout: float) -> None:
    """Write campaigns/KEY.yaml from campaign INTERVIEW_ID in Ontora, and record it in state.

    Only the fields Ontora lets us read are written; right after, `campaignsync plan
    --target KEY` shows no changes.
    """
    require_key(key)
    try:
        interview_id = _UUID.validate_python(interview_id)
    except ValidationError:
        raise ConfigError(
            f"{interview_id!r} is not a campaign id; it is a UUID, like "
            "6b0f7c2e-3c1d-4a55-9d0e-1f2a3b4c5d6e, in the campaign's URL in the web app."
        ) from None
    path = settings.campaigns_dir / f"{key}.yaml"
    with (
        make_client(settings) as client,
        configured_store(settings) as store,
        store.lock(timeout=lock_timeout),
    ):
        current = read_configured_state(settings, store)
        _refuse_to_overwrite(settings, current.campaigns, interview_id, key)
        workspace = require_workspace(settings, current, "import")
        remote = fetch_remote(client, workspace).get(interview_id.lower())
        if remote is None:
            raise ConfigError(
                f"Ontora lists no campaign {interview_id} in workspace {workspace}. Check the "
                "id (it is in the campaign's URL in the web app) and the workspace."
            )
        fields = _imported_fields(remote)
        depth = len(path.relative_to(settings.campaigns_dir).parts)
        text = render_campaign_yaml(
            fields,
            comments=[
                f"yaml-language-server: $schema={'../' * depth}schemas/campaign.schema.json",
                f"Imported from Ontora campaign {remote.interview_id} on {now()}.",
                "Ontora does not let campaignsync read these back, so they are not here and not",
                f"managed until you add them: {', '.join(UNREADABLE_FIELDS)}.",
                "Adding one sends it on the next apply.",
            ],
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
        loaded = load_file(path, key, settings.repository_root)
        if not isinstance(loaded, CampaignFile):
            # Ontora holds a value the campaign schema refuses: leave no half-import behind.
            os.unlink(path)
            raise ValidationFailed(loaded)
        entry = Entry(
            interview_id=remote.interview_id,
            last_applied=loaded.managed,
            source_digest=loaded.source_digest,
            contacts_file=loaded.contacts_file,
            applied_at=now(),
        )
        state = current.model_copy(update={"workspace_id": workspace, "api_url": settings.api_url})
        store.write(state.with_entry(key, entry))
    echo(
        f"Imported campaign {remote.interview_id} as {key} into {display_path(path)}. "
        f"`campaignsync plan --target {key}` should show no changes."
    )


def _imported_fields(remote: RemoteCampaign) -> dict[str, Any]:
    """What the file of an imported campaign says: every field Ontora lets us read, and
    its status if it was launched already (a file saying draft would fail its plan)."""
    fields = {"interview_id": remote.interview_id} | {
        name: remote.fields[name]
        for name in sorted(READABLE_FIELDS, key=FIELD_ORDER.__getitem__)
        if remote.fields.get(name) is not None
    }
    if remote.status == "active":
        fields["status"] = "active"
    return fields


def _refuse_to_overwrite(
    settings: Settings, campaigns: dict[str, Entry], interview_id: str, key: str
) -> None:
    for suffix in SUFFIXES:
        existing = settings.campaigns_dir / f"{key}{suffix}"
        if existing.exists():
            raise ConfigError(
                f"{display_path(existing)} already exists; import will not overwrite it."
            )
    if key in campaigns:
        raise StateError(
            f"State already has a campaign {key!r}; pick another key, or `campaignsync state rm "
            f"{key}` first."
        )
    for other, entry in campaigns.items():
        if entry.interview_id == interview_id.lower():
            raise StateError(f"Campaign {interview_id} is already managed as {other!r}.")
