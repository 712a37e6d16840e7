"""`state list | show | rm | mv | pull | push | lock | unlock`: inspect and edit state."""

from __future__ import annotations

import json
from pathlib import Path

import click

from campaignsync.commands.wiring import (
    FilePath,
    configured_store,
    format_option,
    lock_timeout_option,
    read_configured_state,
    require_key,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import ConfigError, StateError
from campaignsync.filestate import read_state
from campaignsync.state import Entry, State, state_document
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
    with configured_store(settings) as store, store.lock(timeout=lock_timeout):
        current = read_configured_state(settings, store)
        entry = _entry(current, key)
        store.write(current.with_entry(key, None))
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
    with configured_store(settings) as store, store.lock(timeout=lock_timeout):
        current = read_configured_state(settings, store)
        entry = _entry(current, old)
        if new == old:
            raise StateError(f"{new} is already the key of that campaign; nothing to move.")
        if new in current.campaigns:
            raise StateError(
                f"State already has a campaign {new!r}. Remove it first with "
                f"`campaignsync state rm {new}` if it is no longer wanted."
            )
        store.write(current.with_entry(old, None).with_entry(new, entry))
    echo(f"Moved {old} to {new}.")


@state_group.command("pull")
@with_settings
def state_pull(settings: Settings) -> None:
    """Print the whole state document: the same JSON as the state file."""
    echo(state_document(read_configured_state(settings)), nl=False)


@state_group.command("push")
@with_settings
@lock_timeout_option
@click.option("--force", is_flag=True, help="Push even another lineage or a lower serial.")
@click.argument("file", type=FilePath())
def state_push(settings: Settings, lock_timeout: float, force: bool, file: Path) -> None:
    """Replace the stored state with FILE (a state file, as `state pull` prints it)."""
    if not file.is_file():
        raise ConfigError(f"There is no state file {file}; give the path of one to push.")
    pushed = read_state(
        file,
        api_url=settings.api_url,
        workspace_id=settings.workspace_id,
        untouched="Nothing was pushed, and the stored state was not changed.",
    )
    with configured_store(settings) as store, store.lock(timeout=lock_timeout):
        current = read_configured_state(settings, store)
        if not force:
            _check_push(pushed, current, store.where)
        written = store.write(pushed, replacing=current)
    echo(f"Pushed {file} to {store.where}: now serial {written.serial} of {written.lineage}.")


def _check_push(pushed: State, current: State, where: str) -> None:
    if current.lineage is None:
        return
    if pushed.lineage != current.lineage:
        raise StateError(
            f"{where} holds lineage {current.lineage}, and the file is lineage "
            f"{pushed.lineage}: another state, not a copy of this one. Nothing was pushed; "
            "pass --force to replace it all the same."
        )
    if pushed.serial < current.serial:
        raise StateError(
            f"{where} is at serial {current.serial}, newer than the file's {pushed.serial}. "
            "Nothing was pushed; `campaignsync state pull` gives the newer one, or pass "
            "--force to replace it all the same."
        )


@state_group.command("lock")
@with_settings
@format_option("text", "json", help="Output format.")
def state_lock_holder(settings: Settings, format_: str) -> None:
    """Show who holds the state lock, and since when."""
    with configured_store(settings) as store:
        holder = store.lock_holder()
        where = store.where
    if format_ == "json":
        shown = None if holder is None else holder.to_json()
        echo(json.dumps({"state": where, "locked": holder is not None, "holder": shown}, indent=2))
    elif holder is None:
        echo(f"{where} is not locked.")
    elif not holder.live:
        echo(f"{where} is not locked: the lease of {holder.describe()} ran out.")
    else:
        echo(f"{where} is locked by {holder.describe()}.")


@state_group.command("unlock")
@with_settings
@click.option(
    "--force",
    count=True,
    help="Break the lock; give it twice to break one whose lease is still being renewed.",
)
def state_unlock(settings: Settings, force: int) -> None:
    """Break the state lock of a campaignsync that is gone."""
    if not force:
        raise ConfigError(
            "state unlock breaks another run's lock: pass --force to say so (twice while "
            "its lease is live). `campaignsync state lock` shows who holds it."
        )
    with configured_store(settings) as store:
        holder = store.force_unlock(even_if_live=force > 1)
        where = store.where
    if holder is None:
        echo(f"{where} was not locked.")
    else:
        echo(f"Unlocked {where}, which was held by {holder.describe()}.")


def _entry(current: State, key: str) -> Entry:
    entry = current.campaigns.get(key)
    if entry is None:
        known = ", ".join(current.campaigns) or "none"
        raise StateError(f"State has no campaign {key!r} (it has: {known}).")
    return entry
