"""Where state is kept: the interface the applier and commands use, and the local file.

A store reads the state (which carries the serial it was read at), writes only while the
stored serial is still the one read (compare and swap: a writer that lost a race gets
StateConflict, never a silent overwrite), and locks with holder info. `open_store` picks
one from the --state value: a postgresql:// URL is PostgreSQL, anything else a file path.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

from campaignsync.errors import LockHeld, StateConflict, StateError
from campaignsync.filestate import (
    check_state_writable,
    lock_path,
    read_state_file,
    state_lock,
    write_state,
)
from campaignsync.jsontext import read_json
from campaignsync.scrub import MASK, scrub, untrusted
from campaignsync.state import State, StateEncoder, now

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_STATE_NAME = "default"
DEFAULT_LEASE = 120.0  # seconds a PostgreSQL lock outlives a holder that stopped renewing


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a state lock, and since when; `live` is False once it lapsed."""

    who: str
    host: str
    pid: int
    command: str
    since: str
    ci_run_url: str | None = None
    expires_at: str | None = None
    live: bool = True

    @classmethod
    def of_this_process(cls, command: str = "") -> LockHolder:
        return cls(
            who=_user(),
            host=socket.gethostname(),
            pid=os.getpid(),
            # Scrubbed before it is stored: a command line may carry a secret.
            command=scrub(command or " ".join(["campaignsync", *sys.argv[1:]])),
            since=now(),
            ci_run_url=ci_run_url(os.environ),
        )

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        *,
        since: str | None = None,
        expires_at: str | None = None,
        live: bool = True,
    ) -> LockHolder:
        """A holder read back from a store; anything missing reads as unknown."""
        ci_run = data.get("ci_run_url")
        return cls(
            who=str(data.get("who", "unknown")),
            host=str(data.get("host", "unknown")),
            pid=_number(data.get("pid")),
            command=str(data.get("command", "unknown")),
            since=str(since or data.get("since") or data.get("started_at") or "unknown"),
            ci_run_url=str(ci_run) if ci_run else None,
            expires_at=expires_at,
            live=live,
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        since: str | None = None,
        expires_at: str | None = None,
        live: bool = True,
    ) -> LockHolder:
        """A holder as a store keeps it, JSON text; all unknown if that cannot be read."""
        try:
            data = read_json(text or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        return cls.from_json(data, since=since, expires_at=expires_at, live=live)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line naming the holder, safe to print whatever the store held."""
        text = (
            f"{untrusted(self.command)!r} by {untrusted(self.who)} (pid {self.pid} on "
            f"{untrusted(self.host)}, since {untrusted(self.since)}"
        )
        if self.ci_run_url:
            text += f", CI run {untrusted(self.ci_run_url)}"
        if self.expires_at:
            lease = "lease until" if self.live else "lease expired at"
            text += f", {lease} {untrusted(self.expires_at)}"
        return text + ")"


def _number(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The GitHub Actions run this process belongs to, when it runs in one."""
    parts = [env.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run = parts
    return f"{server}/{repository}/actions/runs/{run}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid, as in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


class StateStore(Protocol):
    """What the applier and the commands need of wherever state is kept."""

    @property
    def where(self) -> str:
        """The store as shown in messages: never with a password."""

    def read(self, *, api_url: str, workspace_id: str | None) -> State:
        """The stored state (an empty one if none), checked against the API and workspace."""

    def write(
        self, state: State, encoder: StateEncoder | None = None, *, replacing: State | None = None
    ) -> State:
        """Store `state` with serial + 1 if the stored serial is still `replacing`'s.

        `replacing` is the state as read, `state` itself by default; StateConflict if the
        stored state moved since. Returns what was stored.
        """

    def check_writable(self) -> None:
        """Fail now if a write would fail, before an apply sends what it could not record."""

    def lock(self, *, timeout: float = 0.0, command: str = "") -> AbstractContextManager[None]:
        """Hold the state lock; wait up to `timeout` seconds, then raise LockHeld."""

    def lock_holder(self) -> LockHolder | None:
        """Who holds the lock, or None when nobody does."""

    def force_unlock(self, *, even_if_live: bool = False) -> LockHolder | None:
        """Break the lock and return who held it; refuse a live one unless `even_if_live`."""

    def close(self) -> None:
        """Release connections; the store is not used again."""


def is_state_url(value: str) -> bool:
    return value.lower().startswith(URL_SCHEMES)


# libpq takes these from a URL's query as well as its user info: the password, and the
# passphrase of the client's TLS key.
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def shown_url(url: str) -> str:
    """The URL as it may be printed: every password replaced by the mask."""
    parts = urlsplit(url)
    if parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{user}:{MASK}@{host}")
    query = "&".join(
        f"{name}={MASK}" if _is_secret_parameter(name) else f"{name}{sep}{value}"
        for name, sep, value in _query_items(parts.query)
    )
    return urlunsplit(parts._replace(query=query))


def url_secrets(url: str) -> tuple[str, ...]:
    """Every password the URL holds, as written in it and decoded: ValueError if it is not
    a URL."""
    parts = urlsplit(url)
    written = [parts.password] if parts.password else []
    written += [
        value
        for name, _, value in _query_items(parts.query)
        if _is_secret_parameter(name) and value
    ]
    secrets = [*written, *(unquote(value) for value in written)]
    secrets += [unquote_plus(value) for value in written if "+" in value]
    return tuple(dict.fromkeys(secret for secret in secrets if secret))


def _query_items(query: str) -> list[tuple[str, str, str]]:
    """Each `name=value` of a query as written: name, `=` (or nothing), value."""
    return [item.partition("=") for item in query.split("&")]


def _is_secret_parameter(name: str) -> bool:
    return unquote_plus(name).strip().lower() in _SECRET_PARAMETERS


def open_store(
    value: str, *, cwd: Path, name: str = DEFAULT_STATE_NAME, lease: float | None = None
) -> StateStore:
    """The store a --state value names: a PostgreSQL URL, or a file path relative to `cwd`."""
    if is_state_url(value):
        from campaignsync.pgstate import PostgresStore

        return PostgresStore(value, name=name, lease=lease or DEFAULT_LEASE)
    return FileStore(cwd / value)


_Stamp = tuple[int, int, int] | None


class FileStore:
    """The local state file, through filestate's reading, atomic writing and lock.

    Compare and swap: before each write (made under the lock) the serial on disk must still
    be the one read. The file is parsed again only if it changed since this store last saw
    it, so an apply writing after every request does not re-read its own writes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[_Stamp, int, str | None] | None = None
        self._migrated: State | None = None  # as read, while the file is in an older format

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self, *, api_url: str, workspace_id: str | None) -> State:
        stamp = _stamp(self.path)
        state, older = read_state_file(self.path, api_url=api_url, workspace_id=workspace_id)
        self._seen = (stamp, state.serial, state.lineage)
        self._migrated = state if older else None
        return state

    def write(
        self, state: State, encoder: StateEncoder | None = None, *, replacing: State | None = None
    ) -> State:
        expected = state if replacing is None else replacing
        self._check_unchanged(expected.serial, expected.lineage)
        current = state.model_copy(update={"serial": expected.serial})
        written = write_state(self.path, current, encoder, backup=self._migrated)
        self._migrated = None
        self._seen = (_stamp(self.path), written.serial, written.lineage)
        return written

    def _check_unchanged(self, serial: int, lineage: str | None) -> None:
        stamp = _stamp(self.path)
        if self._seen == (stamp, serial, lineage):
            return
        on_disk = _serial_on_disk(self.path) if stamp is not None else (0, None)
        if on_disk[0] != serial or (serial > 0 and on_disk[1] != lineage):
            raise StateConflict(
                f"The state file {self.path} was changed by someone else (it is now at serial "
                f"{on_disk[0]}; this campaignsync read serial {serial}); nothing was written. "
                "Run the command again to work from the current state."
            )

    def check_writable(self) -> None:
        check_state_writable(self.path)

    def lock(self, *, timeout: float = 0.0, command: str = "") -> AbstractContextManager[None]:
        return state_lock(self.path, timeout=timeout, command=command)

    def lock_holder(self) -> LockHolder | None:
        try:
            with state_lock(self.path, timeout=0.0, command="campaignsync state lock"):
                return None
        except LockHeld:
            return _file_holder(lock_path(self.path))

    def force_unlock(self, *, even_if_live: bool = False) -> LockHolder | None:
        holder = self.lock_holder()
        if holder is not None:
            raise StateError(
                f"The state file {self.path} is locked by {holder.describe()}. A file lock is "
                "released by the system as soon as its holder ends, so there is nothing to "
                "break: wait for that process, or stop it."
            )
        return None

    def close(self) -> None:
        """Nothing to release: the file is opened per read and write."""


def _stamp(path: Path) -> _Stamp:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"Cannot read the state file {path}: {exc}.") from exc
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _serial_on_disk(path: Path) -> tuple[int, str | None]:
    try:
        data = read_json(path.read_bytes())
        return int(data["serial"]), data.get("lineage")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateError(
            f"Cannot read the serial of the state file {path} ({exc}); nothing was written. "
            "Restore it from git or from its .backup copy."
        ) from exc


def _file_holder(path: Path) -> LockHolder:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):  # gone, or not UTF-8: nothing known of the holder
        text = ""
    return LockHolder.from_text(text)
