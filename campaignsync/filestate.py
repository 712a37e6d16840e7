"""The state kept in a local file: read strictly, written atomically, locked beside it.

A write goes to a temporary file in the same folder, is fsynced, and renamed over the
old file, whose previous version is kept as `<state>.backup`. A lock file beside the state
(filelock's, released by the operating system if its holder dies) names who holds it.
Nothing here needs a POSIX-only call at import time, so the package imports on Windows.
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
from pathlib import Path

import filelock

from campaignsync import __version__
from campaignsync.errors import LockHeld, StateError
from campaignsync.jsontext import read_json
from campaignsync.state import (
    FORMAT_VERSION,
    MAX_STATE_BYTES,
    State,
    StateEncoder,
    check_belongs,
    next_serial,
    now,
    parse_document,
)
from campaignsync.textfile import NotReadable, read_regular_file

_UNTOUCHED = "The file was not changed; restore it from git or from its .backup copy."


def read_state(
    path: Path, *, api_url: str, workspace_id: str | None, untouched: str = _UNTOUCHED
) -> State:
    """The state at `path`, checked against the configured API and workspace.

    A missing file is an empty state. Anything unreadable is an error ending in
    `untouched`, and the file is left exactly as it is.
    """
    return read_state_file(path, api_url=api_url, workspace_id=workspace_id, untouched=untouched)[0]


def read_state_file(
    path: Path, *, api_url: str, workspace_id: str | None, untouched: str = _UNTOUCHED
) -> tuple[State, bool]:
    """`read_state`, and whether the file is in an older format, migrated as it was read."""
    if not path.exists():
        return State(api_url=api_url, workspace_id=workspace_id), False
    state, older = _parse(path, untouched)
    check_belongs(
        state,
        where=f"The state file {path}",
        api_url=api_url,
        workspace_id=workspace_id,
        other_state="point --state at the state of that {}",
    )
    return state, older


def _parse(path: Path, untouched: str) -> tuple[State, bool]:
    try:
        # Never a plain read: a FIFO or a link to /dev/zero would block or read forever.
        raw = read_regular_file(path, what="a state file", limit=MAX_STATE_BYTES)
        text = raw.decode("utf-8")
    except NotReadable as exc:
        raise StateError(f"The state file {path} {exc.reason}. {untouched}") from exc
    except UnicodeDecodeError as exc:
        raise StateError(f"Cannot read the state file {path}: {exc}. {untouched}") from exc
    try:
        data = read_json(text)
    except ValueError as exc:
        raise StateError(f"The state file {path} cannot be read: {exc}. {untouched}") from exc
    state = parse_document(data, where=f"The state file {path}", untouched=untouched)
    return state, data["format_version"] != FORMAT_VERSION


def write_state(
    path: Path, state: State, encoder: StateEncoder | None = None, *, backup: State | None = None
) -> State:
    """Write `state` with serial + 1 (and a lineage if it has none); return what was written.

    The previous file is kept as `<state>.backup`. An `encoder` reused across writes
    re-encodes only the entries that changed since its last use.
    """
    written = state.model_copy(
        update={
            "serial": next_serial(state),
            "lineage": state.lineage or str(uuid.uuid4()),
            "tool_version": __version__,
        }
    )
    chunks = (encoder or StateEncoder()).encode(written)
    path = path.resolve()  # through a symlink, replace the file it points at, not the link
    if backup is not None:
        # The file is in an older format, which may hold contact data: back up the state
        # it held as migrated, never the file itself.
        atomic_write(_backup_path(path), StateEncoder().encode(backup))
    elif path.exists():
        _keep_backup(path)
    atomic_write(path, chunks)
    return written


def _backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def _keep_backup(path: Path) -> None:
    """Make the current file the backup without copying it: a hard link, swapped in atomically."""
    backup = _backup_path(path)
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
    writev = getattr(os, "writev", None)  # not on Windows: one joined write instead
    if writev is None:
        _write_joined(descriptor, b"".join(chunks))
        return
    iov_max = _iov_max()
    pending: list[bytes | memoryview] = [chunk for chunk in chunks if chunk]
    start = 0
    while start < len(pending):
        written = writev(descriptor, pending[start : start + iov_max])
        while start < len(pending) and written >= len(pending[start]):
            written -= len(pending[start])
            start += 1
        if written:  # a short write: go on from inside this chunk
            pending[start] = memoryview(pending[start])[written:]


def _write_joined(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _iov_max() -> int:
    """How many buffers one gathered write may take; 16 where the system will not say."""
    try:
        return max(1, os.sysconf("SC_IOV_MAX"))
    except (AttributeError, ValueError, OSError):
        return 16


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

    Goes through the same temporary file and rename that every write uses, so it fails
    exactly as they would, and leaves the state file as it is (see `_replaces_a_link`).
    With no file yet, creates and removes one.
    """
    path = state_path.resolve()
    try:
        if not path.exists():
            probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
            atomic_write(probe, b"")
            probe.unlink()
        elif not _replaces_a_link(path):
            atomic_write(path, path.read_bytes(), mode=stat.S_IMODE(path.stat().st_mode))
    except (StateError, OSError) as exc:
        reason = exc.__cause__ if isinstance(exc, StateError) and exc.__cause__ else exc
        raise StateError(
            f"Cannot write the state file {state_path} ({reason}). apply records every request "
            "there as soon as it succeeds, so nothing was sent: make its folder writable and "
            "the file replaceable, or point --state at a writable place, then run it again."
        ) from exc


def _replaces_a_link(path: Path) -> bool:
    """Replace a second name of `path`'s file, a hard link beside it, as a write replaces
    `path`: the same folder and the same file decide whether that may be done. False where
    no such link can be made; then only rewriting the file itself tells.
    """
    link = path.with_name(f".{path.name}.{os.getpid()}.probe")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(path, link)
    except OSError:
        return False
    try:
        atomic_write(link, b"")
    finally:
        with contextlib.suppress(OSError):
            link.unlink()
    return True


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
        info = read_json(path.read_text() or "{}")
        return (
            f"{info['command']!r} (pid {info['pid']} on {info['host']}, since {info['started_at']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
