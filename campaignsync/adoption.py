"""Campaigns that already exist in Ontora, written as campaign files and recorded in state.

Shared by `import INTERVIEW_ID KEY` and `import --all`. Each campaign is written first and
recorded second, so that an interruption leaves at worst a file not yet recorded; that
file names its `interview_id`, and a run of `import --all` afterwards records it instead
of writing a second one (`recoverable`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaignsync.campaign import CampaignFile
from campaignsync.drift import RemoteCampaign
from campaignsync.errors import ConfigError, StateError, ValidationFailed
from campaignsync.filestate import atomic_write
from campaignsync.launch import STATUS
from campaignsync.loader import load_file
from campaignsync.ontora_models import READABLE_FIELDS, UNREADABLE_FIELDS
from campaignsync.spec import FIELD_ORDER, check_key
from campaignsync.state import Entry, State, now
from campaignsync.store import StateStore
from campaignsync.survey import SUFFIXES
from campaignsync.textfile import display_path
from campaignsync.yamldoc import render_campaign_yaml

SLUG_LIMIT = 60


def imported_fields(remote: RemoteCampaign) -> dict[str, Any]:
    """What a campaign file adopting `remote` says: its id, every value Ontora shows, and
    its status if it was launched already (a file saying draft would fail its plan)."""
    fields = {"interview_id": remote.interview_id} | {
        name: remote.fields[name]
        for name in sorted(READABLE_FIELDS, key=FIELD_ORDER.__getitem__)
        if remote.fields.get(name) is not None
    }
    if remote.status == "active":
        fields[STATUS] = "active"
    return fields


def imported_text(remote: RemoteCampaign, fields: Mapping[str, Any], depth: int) -> str:
    """The file's text: the schema line, where it came from, what Ontora cannot show."""
    return render_campaign_yaml(
        dict(fields),
        comments=[
            f"yaml-language-server: $schema={'../' * depth}schemas/campaign.schema.json",
            f"Imported from Ontora campaign {remote.interview_id} on {now()}.",
            "Ontora does not let campaignsync read these back, so they are not here and not",
            f"managed until you add them: {', '.join(UNREADABLE_FIELDS)}.",
            "Adding one sends it on the next apply.",
        ],
    )


@dataclass(frozen=True)
class Target:
    """Where one imported campaign goes: its key and its file."""

    key: str
    path: Path


def target(campaigns_dir: Path, key: str) -> Target:
    return Target(key, campaigns_dir / f"{key}.yaml")


def write_campaign_file(remote: RemoteCampaign, where: Target, folders: Folders) -> CampaignFile:
    """Write `remote` as a new campaign file and load it back; nothing is left if it fails.

    It is loaded on its own, without the `_defaults.yaml` files above it: what it says is
    exactly what Ontora holds, which is what state records. What the defaults add is then
    a change the next plan shows.
    """
    try:
        where.path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot make the folder {display_path(where.path.parent)}: {exc}. Pick another "
            "--into folder, or move what is in the way."
        ) from exc
    depth = len(where.path.relative_to(folders.campaigns_dir).parts)
    text = imported_text(remote, imported_fields(remote), depth)
    atomic_write(where.path, text.encode("utf-8"))
    loaded = load_file(where.path, where.key, folders.repository_root)
    if not isinstance(loaded, CampaignFile):
        # Ontora holds a value the campaign schema refuses: leave no half-import behind.
        os.unlink(where.path)
        raise ValidationFailed(loaded)
    return loaded


@dataclass(frozen=True)
class Folders:
    """Where campaign files live: the campaigns folder, and the repository holding it."""

    campaigns_dir: Path
    repository_root: Path


def record(
    store: StateStore, state: State, loaded: CampaignFile, *, api_url: str, workspace: str
) -> State:
    """Record `loaded` (a file read on its own) in state as applied, as far as Ontora
    shows it holds the file's values; the state as stored is returned, to be the base of
    the next record. A field Ontora cannot show is left out of last applied, and the file
    is then not marked fully applied, so that plan sends it.
    """
    if loaded.interview_id is None:
        raise StateError(f"{loaded.source} names no interview_id, so it cannot be recorded.")
    shown = {
        name: value
        for name, value in loaded.managed.items()
        if name in READABLE_FIELDS or name == STATUS  # the list endpoint shows the status
    }
    complete = shown == loaded.managed
    entry = Entry(
        interview_id=loaded.interview_id,
        last_applied=shown,
        source_digest=loaded.source_digest if complete else None,
        contacts_file=loaded.contacts_file if complete else None,
        applied_at=now(),
    )
    updated = state.model_copy(update={"workspace_id": workspace, "api_url": api_url})
    return store.write(updated.with_entry(loaded.key, entry), replacing=state)


def recoverable(loaded: CampaignFile, remote: RemoteCampaign) -> bool:
    """Whether a file adopting `remote` says exactly what Ontora shows and nothing else, so
    recording it as applied is true (the file an interrupted import wrote is such a one)."""
    expected = imported_fields(remote)
    expected.pop("interview_id")
    managed = {name: value for name, value in loaded.managed.items() if value is not None}
    return managed == expected


def existing_file(campaigns_dir: Path, key: str) -> Path | None:
    for suffix in SUFFIXES:
        path = campaigns_dir / f"{key}{suffix}"
        if os.path.lexists(path):
            return path
    return None


# --- Keys for a whole workspace ------------------------------------------------------


def slug(name: str, interview_id: str) -> str:
    """A key segment from a campaign name: lower-case ASCII letters, digits and '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if len(words) > SLUG_LIMIT:
        cut = words[:SLUG_LIMIT]
        words = (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")
    return words or f"campaign-{interview_id[:8]}"


def in_order_made(campaigns: list[RemoteCampaign]) -> list[RemoteCampaign]:
    """In the order Ontora made them (then as listed), so that of two campaigns of one
    name the older keeps the plain key, run after run."""

    def made(campaign: RemoteCampaign) -> datetime:
        try:
            moment = datetime.fromisoformat(campaign.created_at or "")
        except ValueError:
            return datetime.max.replace(tzinfo=UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return sorted(campaigns, key=made)  # a stable sort: ties stay as listed


def assign_keys(
    remotes: Iterable[RemoteCampaign], folder: str, campaigns_dir: Path, taken: Iterable[str]
) -> list[tuple[Target, RemoteCampaign]]:
    """A new key for each campaign, from its name, under `folder`: never one a file, state
    or an earlier campaign has (compared without case, for case-insensitive disks)."""
    used = {key.lower() for key in taken}
    assigned = []
    for remote in remotes:
        base = slug(str(remote.fields.get("name") or ""), remote.interview_id)
        prefix = f"{folder}/" if folder else ""
        key, number = f"{prefix}{base}", 1
        while key.lower() in used or existing_file(campaigns_dir, key) is not None:
            number += 1
            key = f"{prefix}{base}-{number}"
        problem = check_key(key)
        if problem is not None:  # a slug is always a safe segment; this guards the folder
            raise StateError(f"{key!r} is not a campaign key: {problem}.")
        used.add(key.lower())
        assigned.append((target(campaigns_dir, key), remote))
    return assigned
