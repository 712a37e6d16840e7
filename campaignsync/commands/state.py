"""`state list | show | rm | mv`: inspect and edit what campaignsync last applied."""

from __future__ import annotations

import json

import click

from campaignsync.commands.options import (
    lock_timeout_option,
    read_configured_state,
    require_key,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import StateError
from campaignsync.state import Entry, State, state_lock, write_state
from campaignsync.terminal import echo


@click.group("state")
def state_group() -> None:
    """Inspect and edit the state file (what campaignsync last applied)."""


@state_group.command("list")
@with_settings
def state_list(settings: Settings) -> None:
    """List the campaigns in state with their Ontora ids."""
    for key, entry in read_configured_state(settings).campaigns.items():
        if entry.interview_id is None:
            echo(f"{key}\t(create pending)")
        else:
            echo(f"{key}\t{entry.interview_id}\t{entry.applied_at or ''}")


@state_group.command("show")
@with_settings
@click.argument("key")
def state_show(settings: Settings, key: str) -> None:
    """Print one campaign's state entry as JSON."""
    entry = _entry(read_configured_state(settings), key)
    echo(json.dumps({key: entry.model_dump(mode="json")}, indent=2, ensure_ascii=False))


@state_group.command("rm")
@with_settings
@lock_timeout_option
@click.argument("key")
def state_rm(settings: Settings, lock_timeout: float, key: str) -> None:
    """Forget a campaign; it stays in Ontora (there is no delete endpoint)."""
    with state_lock(settings.state_path, timeout=lock_timeout):
        current = read_configured_state(settings)
        entry = _entry(current, key)
        write_state(settings.state_path, current.with_entry(key, None))
    if entry.interview_id is None:
        echo(f"Forgot {key} and its pending create.")
        echo(_pending_create_warning(key, entry), err=True)
        return
    echo(
        f"Forgot {key} (campaign {entry.interview_id}). Ontora still has it; campaignsync no "
        "longer manages it."
    )


def _pending_create_warning(key: str, entry: Entry) -> str:
    body = entry.pending_create.body if entry.pending_create else None
    name = body.get("name") if body else None
    which = f"campaign {name!r}" if isinstance(name, str) else "the campaign"
    return (
        f"Warning: its create was sent but never confirmed, so Ontora may already have made "
        f"{which}. Look for it in Ontora before the next apply, which would create another. "
        f"If it exists, adopt it: add `interview_id: INTERVIEW_ID` (from its URL in the web "
        f"app) to the campaign file, or move the file aside and run `campaignsync import "
        f"INTERVIEW_ID {key}`."
    )


@state_group.command("mv")
@with_settings
@lock_timeout_option
@click.argument("old")
@click.argument("new")
def state_mv(settings: Settings, lock_timeout: float, old: str, new: str) -> None:
    """Follow a renamed campaign file: move the state entry OLD to NEW."""
    require_key(new)
    with state_lock(settings.state_path, timeout=lock_timeout):
        current = read_configured_state(settings)
        entry = _entry(current, old)
        if new == old:
            raise StateError(f"{new} is already the key of that campaign; nothing to move.")
        if new in current.campaigns:
            raise StateError(
                f"State already has a campaign {new!r}. Remove it first with "
                f"`campaignsync state rm {new}` if it is no longer wanted."
            )
        write_state(settings.state_path, current.with_entry(old, None).with_entry(new, entry))
    echo(f"Moved {old} to {new}.")


def _entry(current: State, key: str) -> Entry:
    entry = current.campaigns.get(key)
    if entry is None:
        known = ", ".join(current.campaigns) or "none"
        raise StateError(f"State has no campaign {key!r} (it has: {known}).")
    return entry
