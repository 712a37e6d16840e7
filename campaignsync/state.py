"""The state file: what campaignsync last applied, read strictly and written atomically.

A write goes to a temporary file in the same folder, is fsynced, and renamed over the
old file, whose previous version is kept as `<state>.backup`. A lock file beside the state
(filelock's, released by the operating system if its holder dies) names who holds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
from pydantic import BaseModel, Field, ValidationError, field_validator

from campaignsync import __version__
from campaignsync.errors import LockHeld, StateError
from campaignsync.ontora_models import FROZEN, Uuid
from campaignsync.spec import check_key
from campaignsync.textfile import NotReadable, read_regular_file

FORMAT_VERSION = 1
# A state file is only ever read whole into memory; this bounds that (about a million
# campaigns), so that a path to something endless is refused rather than read.
MAX_STATE_BYTES = 1024 * 1024 * 1024


class PendingCreate(BaseModel):
    """Written before a create request is sent, so that a retry re-sends that exact body
    with that Idempotency-Key, and Ontora answers with the campaign it may have made."""

    model_config = FROZEN

    idempotency_key: str = Field(description="Idempotency-Key sent with POST /v1/interviews.")
    body: dict[str, Any] | None = Field(
        None,
        description="The exact body sent with that key; null only in states written before "
        "campaignsync recorded it.",
    )
    started_at: str = Field(description="When the create was first attempted (UTC).")


class Entry(BaseModel):
    """What campaignsync knows of one campaign, under its key."""

    model_config = FROZEN

    # A UUID, checked on reading: it is put into request paths.
    interview_id: Uuid | None = Field(
        None, description="Ontora's id of the campaign; null while a create is pending."
    )
    last_applied: dict[str, Any] = Field(
        default_factory=dict, description="The managed fields as last applied, normalised."
    )
    source_digest: str | None = Field(
        None,
        description="Digest of the campaign file (and its CSV) whose every request was "
        "applied; null after a request that left the campaign part-way.",
    )
    contacts_file: str | None = Field(
        None, description="That file's contacts_file, to find the CSV; set with the digest."
    )
    applied_at: str | None = Field(None, description="When the campaign was last applied (UTC).")
    unconfirmed: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields sent by a request whose answer never came (a lost connection, "
        "or a 5xx after every retry), with the values sent: Ontora may hold either these "
        "or the last-applied ones, so the next plan sends each of them again.",
    )
    pending_create: PendingCreate | None = Field(
        None, description="Set while a create may have been sent but is not yet recorded."
    )


class State(BaseModel):
    """The whole state file."""

    model_config = FROZEN

    format_version: int = Field(FORMAT_VERSION, description="Version of this file's layout.")
    lineage: str | None = Field(
        None, description="UUID fixed when the state is created; null before the first write."
    )
    serial: int = Field(0, ge=0, description="Incremented on every write.")
    tool_version: str = Field(__version__, description="campaignsync version that wrote it.")
    api_url: str | None = Field(None, description="Ontora API the campaigns live in.")
    workspace_id: str | None = Field(None, description="Ontora workspace of the campaigns.")
    campaigns: dict[str, Entry] = Field(
        default_factory=dict, description="Per campaign key, what was last applied."
    )

    @field_validator("campaigns")
    @classmethod
    def _keys_and_ids_are_sound(cls, campaigns: dict[str, Entry]) -> dict[str, Entry]:
        # Keys become paths and lines of output, and ids go into request paths: a state
        # edited by hand must not smuggle in what a campaign file could not.
        owners: dict[str, str] = {}
        for key, entry in campaigns.items():
            problem = check_key(key)
            if problem:
                raise ValueError(f"the key {key!r} is not a campaign key: {problem}")
            if entry.interview_id is None:
                continue
            if entry.interview_id in owners:
                raise ValueError(
                    f"{owners[entry.interview_id]!r} and {key!r} both claim campaign "
                    f"{entry.interview_id}; one campaign has one key"
                )
            owners[entry.interview_id] = key
        return campaigns

    def with_entry(self, key: str, entry: Entry | None) -> State:
        """A copy with `key` set to `entry`, or forgotten when `entry` is None."""
        campaigns = dict(self.campaigns)
        if entry is None:
            campaigns.pop(key, None)
        else:
            campaigns[key] = entry
        return self.model_copy(update={"campaigns": dict(sorted(campaigns.items()))})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_state(path: Path, *, api_url: str, workspace_id: str | None) -> State:
    """The state at `path`, checked against the configured API and workspace.

    A missing file is an empty state. Anything unreadable is an error and the file is
    left exactly as it is.
    """
    if not path.exists():
        return State(api_url=api_url, workspace_id=workspace_id)
    state = _parse(path)
    check_belongs(
        state,
        where=f"The state file {path}",
        api_url=api_url,
        workspace_id=workspace_id,
        other_state="point --state at the state of that {}",
    )
    return state


def check_belongs(
    state: State, *, where: str, api_url: str, workspace_id: str | None, other_state: str
) -> None:
    """Refuse a state written for another API or workspace than the configured one.

    `other_state` says how to choose another state, with `{}` for "API" or "workspace".
    """
    if state.api_url is not None and state.api_url != api_url:
        raise StateError(
            f"{where} was written for the API at {state.api_url}, but the configured API is "
            f"{api_url}. To use it, {other_state.format('API')}, or set --api-url / "
            "ONTORA_API_URL to match it."
        )
    if workspace_id and state.workspace_id and state.workspace_id != workspace_id:
        raise StateError(
            f"{where} belongs to workspace {state.workspace_id}, but the configured workspace "
            f"is {workspace_id}. To use it, {other_state.format('workspace')}, or fix "
            "--workspace-id / ONTORA_WORKSPACE_ID."
        )


def _parse(path: Path) -> State:
    untouched = "The file was not changed; restore it from git or from its .backup copy."
    try:
        # Never a plain read: a FIFO or a link to /dev/zero would block or read forever.
        raw = read_regular_file(path, what="a state file", limit=MAX_STATE_BYTES)
        text = raw.decode("utf-8")
    except NotReadable as exc:
        raise StateError(f"The state file {path} {exc.reason}. {untouched}") from exc
    except UnicodeDecodeError as exc:
        raise StateError(f"Cannot read the state file {path}: {exc}. {untouched}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"The state file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); it may be truncated. {untouched}"
        ) from exc
    if not isinstance(data, dict):
        raise StateError(f"The state file {path} is not a campaignsync state. {untouched}")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise StateError(
            f"The state file {path} has format_version {version!r}; this campaignsync "
            f"({__version__}) reads version {FORMAT_VERSION}. Use the campaignsync version "
            f"that wrote it. {untouched}"
        )
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise StateError(
            f"The state file {path} is damaged ({where}: {first['msg']}). {untouched}"
        ) from exc


def write_state(path: Path, state: State, encoder: StateEncoder | None = None) -> State:
    """Write `state` with serial + 1 (and a lineage if it has none); return what was written.

    The previous file is kept as `<state>.backup`. An `encoder` reused across writes
    re-encodes only the entries that changed since its last use.
    """
    written = state.model_copy(
        update={
            "serial": state.serial + 1,
            "lineage": state.lineage or str(uuid.uuid4()),
            "tool_version": __version__,
        }
    )
    chunks = (encoder or StateEncoder()).encode(written)
    path = path.resolve()  # through a symlink, replace the file it points at, not the link
    if path.exists():
        _keep_backup(path)
    atomic_write(path, chunks)
    return written


_BETWEEN_ENTRIES = b",\n"


class StateEncoder:
    """State as indented JSON, each entry encoded once and reused while it is unchanged.

    An apply writes state after every request; with a thousand campaigns of two hundred
    contacts each, re-encoding every entry each time would cost seconds per request. The
    result is a list of byte chunks written as they are, never joined into one string.
    """

    def __init__(self) -> None:
        self._fragments: dict[str, tuple[Entry, bytes]] = {}

    def encode(self, state: State) -> list[bytes]:
        head = state.model_dump(mode="json", exclude={"campaigns"})
        opening = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # drop "\n}"
        fragments = [self._fragment(key, entry) for key, entry in state.campaigns.items()]
        self._fragments = {key: self._fragments[key] for key in state.campaigns}
        if not fragments:
            return [f'{opening},\n  "campaigns": {{}}\n}}\n'.encode()]
        chunks = [f'{opening},\n  "campaigns": {{\n'.encode()]
        for fragment in fragments:
            chunks += (fragment, _BETWEEN_ENTRIES)  # never `sep + fragment`: that copies
        chunks[-1] = b"\n  }\n}\n"
        return chunks

    def _fragment(self, key: str, entry: Entry) -> bytes:
        cached = self._fragments.get(key)
        if cached is not None and cached[0] is entry:
            return cached[1]
        body = entry.model_dump_json(indent=2).replace("\n", "\n    ")
        fragment = f"    {json.dumps(key, ensure_ascii=False)}: {body}".encode()
        self._fragments[key] = (entry, fragment)
        return fragment


def _keep_backup(path: Path) -> None:
    """Make the current file the backup without copying it: a hard link, swapped in atomically."""
    backup = path.with_name(path.name + ".backup")
    link = path.with_name(f".{path.name}.{os.getpid()}.backup")
    try:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.link(path, link)
        os.replace(link, backup)
    except OSError:
        # Filesystems without hard links: copy instead.
        atomic_write(backup, path.read_bytes())


def atomic_write(path: Path, data: bytes | Sequence[bytes], *, mode: int = 0o644) -> None:
    """Replace `path` with `data` all at once: readers see the old file or the new, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            _write_all(descriptor, [data] if isinstance(data, bytes) else data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise StateError(f"Cannot write {path}: {exc}. The previous file is unchanged.") from exc
    _fsync_directory(path.parent)


def _write_all(descriptor: int, chunks: Sequence[bytes]) -> None:
    # Gathered writes: a few system calls for the whole file, not one per chunk. Each call
    # gives up the GIL, and on a busy interpreter every taking-back can wait its turn.
    pending: list[bytes | memoryview] = [chunk for chunk in chunks if chunk]
    start = 0
    while start < len(pending):
        written = os.writev(descriptor, pending[start : start + _IOV_MAX])
        while start < len(pending) and written >= len(pending[start]):
            written -= len(pending[start])
            start += 1
        if written:  # a short write: go on from inside this chunk
            pending[start] = memoryview(pending[start])[written:]


_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16


def _fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --- Lock -------------------------------------------------------------------------------


def lock_path(state_path: Path) -> Path:
    """The lock beside the real state file, so a path through a symlink shares its lock."""
    real = state_path.resolve()
    return real.with_name(real.name + ".lock")


def check_state_writable(state_path: Path) -> None:
    """Fail now if writing state would fail, before an apply sends a request it cannot record.

    Rewrites the file with its own bytes by the same temporary file and rename that every
    write uses (with no file yet, creates and removes one), so it fails exactly as they would.
    """
    path = state_path.resolve()
    try:
        if path.exists():
            atomic_write(path, path.read_bytes(), mode=stat.S_IMODE(path.stat().st_mode))
        else:
            probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
            atomic_write(probe, b"")
            probe.unlink()
    except (StateError, OSError) as exc:
        reason = exc.__cause__ if isinstance(exc, StateError) and exc.__cause__ else exc
        raise StateError(
            f"Cannot write the state file {state_path} ({reason}). apply records every request "
            "there as soon as it succeeds, so nothing was sent: make its folder writable and "
            "the file replaceable, or point --state at a writable place, then run it again."
        ) from exc


@contextlib.contextmanager
def state_lock(state_path: Path, *, timeout: float = 0.0, command: str = "") -> Iterator[None]:
    """Hold the state lock; wait up to `timeout` seconds, then raise LockHeld naming the holder.

    The lock itself is the operating system's (released if its holder dies); the file also
    names who holds it, for the message another run shows.
    """
    path = lock_path(state_path)
    lock = filelock.FileLock(path)
    try:
        lock.acquire(timeout=timeout, poll_interval=0.1)
    except filelock.Timeout:
        raise LockHeld(
            f"The state {state_path} is locked by {_holder(path)}. Wait for it to "
            "finish, or pass --lock-timeout SECONDS to wait longer."
        ) from None
    except OSError as exc:
        raise StateError(f"Cannot open the lock file {path}: {exc}.") from exc
    try:
        holder = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "command": command or " ".join(["campaignsync", *sys.argv[1:]]),
            "started_at": now(),
        }
        with contextlib.suppress(OSError):  # Windows locks the file's bytes: no name, no harm
            path.write_text(json.dumps(holder))
        yield
    finally:
        with contextlib.suppress(OSError):
            path.write_text("")
        lock.release()


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return (
            f"{info['command']!r} (pid {info['pid']} on {info['host']}, since {info['started_at']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def state_json_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://campaignsync.dev/schemas/state.schema.json",
        **State.model_json_schema(),
        "title": "campaignsync state",
    }
