"""State in PostgreSQL: compare-and-swap writes, a leased lock, one versioned schema.

Each state is a row of `campaignsync_state` under its name, so many states share one
database. A write is one statement that succeeds only while the stored serial is the one
read. The lock is a row of `campaignsync_lock` with holder info and a lease the holder
renews from a background thread; a crashed holder's lease runs out by itself, and a writer
whose lease was taken over is refused. Times are the server's, so clocks need not agree.
psycopg's whole error family is mapped to our errors here, saying what to check.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from campaignsync import __version__
from campaignsync.errors import ConfigError, LockHeld, StateConflict, StateError
from campaignsync.jsontext import read_json
from campaignsync.scrub import remember_secret, untrusted
from campaignsync.state import (
    State,
    StateEncoder,
    check_belongs,
    next_serial,
    parse_document,
    state_document,
)
from campaignsync.store import DEFAULT_LEASE, LockHolder, shown_url, url_secrets

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1
# Serialises the first runs' migrations: any constant, the same in every campaignsync.
_MIGRATION_LOCK_KEY = 0x63_73_79_6E_63_00_01
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE campaignsync_state (
            name text PRIMARY KEY,
            lineage uuid NOT NULL,
            serial bigint NOT NULL CHECK (serial > 0),
            document jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE campaignsync_lock (
            name text PRIMARY KEY,
            token uuid NOT NULL,
            holder jsonb NOT NULL,
            acquired_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )""",
    ),
)
_UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigError(
            "A PostgreSQL state needs psycopg, which is not installed. Install it with "
            "pip install 'campaignsync[postgres]'."
        ) from exc
    return psycopg


class PostgresStore:
    """One named state in a PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str, *, name: str = "default", lease: float = DEFAULT_LEASE) -> None:
        self._psycopg = _import_psycopg()
        self._url = url
        self._secrets = list(url_secrets(url))
        for secret in self._secrets:
            remember_secret(secret)
        self.name = name
        self.lease = lease
        self._connection: psycopg.Connection[Any] | None = None
        self._renewer: _Renewer | None = None

    @property
    def where(self) -> str:
        return f"{shown_url(self._url)} (state {self.name!r})"

    # --- connection and schema ----------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection, its failures said as what to check."""
        with self.translated_errors():
            connection: psycopg.Connection[Any] = self._psycopg.connect(
                self._url, autocommit=True, connect_timeout=10, application_name="campaignsync"
            )
        return connection

    def _db(self) -> psycopg.Connection[Any]:
        if self._connection is None:
            connection = self.connect()
            with self.translated_errors():
                migrate(connection)
            self._connection = connection
        return self._connection

    @contextlib.contextmanager
    def translated_errors(self) -> Iterator[None]:
        """psycopg's errors, any of them, as StateError saying what to check."""
        try:
            yield
        except self._psycopg.Error as exc:
            raise StateError(self._explain(exc)) from exc

    def _explain(self, exc: Exception) -> str:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        detail = untrusted(lines[0], self._secrets)
        where = f"PostgreSQL at {shown_url(self._url)}"
        lowered = lines[0].lower()  # matched before scrubbing, which may mask any word
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            return (
                f"{where} refused the login ({detail}). Check the user name, and the password "
                "in PGPASSWORD or ~/.pgpass (never in campaignsync.yaml)."
            )
        if "database" in lowered and "does not exist" in lowered:
            return f"{where}: the database does not exist ({detail}). Create it, or fix the URL."
        if isinstance(exc, self._psycopg.OperationalError):
            return (
                f"Cannot use {where} ({detail}). Check that the server is running and that the "
                "host, port and database in the URL are right."
            )
        return f"{where} failed ({detail}). The stored state was not changed."

    def close(self) -> None:
        if self._renewer is not None:
            self._renewer.stop()
        if self._connection is not None:
            with contextlib.suppress(self._psycopg.Error):
                self._connection.close()
            self._connection = None

    # --- reading and writing ------------------------------------------------------------

    def read(self, *, api_url: str, workspace_id: str | None) -> State:
        with self.translated_errors():
            row = (
                self._db()
                .execute(
                    "SELECT document::text FROM campaignsync_state WHERE name = %s", (self.name,)
                )
                .fetchone()
            )
        if row is None:
            return State(api_url=api_url, workspace_id=workspace_id)
        state = self._parse(row[0])
        check_belongs(
            state,
            where=f"The state in {self.where}",
            api_url=api_url,
            workspace_id=workspace_id,
            other_state="pick the state of that {} with --state-name",
        )
        return state

    def _parse(self, text: str) -> State:
        where = f"The state in {self.where}"
        try:  # read as text, by the reader every state goes through, not psycopg's
            document = read_json(text)
        except ValueError as exc:
            raise StateError(f"{where} cannot be read: {exc}.") from exc
        return parse_document(document, where=where)

    def check_writable(self) -> None:
        """Connecting, migrating and reading have proved the rows are there to write."""
        self._db()

    def write(
        self, state: State, encoder: StateEncoder | None = None, *, replacing: State | None = None
    ) -> State:
        expected = state if replacing is None else replacing
        if self._renewer is not None and self._renewer.lost.is_set():
            raise self._lease_lost()
        written = state.model_copy(
            update={
                "serial": next_serial(expected),
                "lineage": state.lineage or str(uuid.uuid4()),
                "tool_version": __version__,
            }
        )
        document = state_document(written, encoder)
        with self.translated_errors(), self._db().transaction():
            if not self._still_holding():
                raise self._lease_lost()
            stored = self._swap(written, document, expected.serial, expected.lineage)
        if not stored:
            raise self._conflict(expected.serial)
        return written

    def _swap(self, written: State, document: str, serial: int, lineage: str | None) -> bool:
        values = (written.lineage, written.serial, document)
        if serial == 0:  # nothing stored yet: only the first writer may insert
            cursor = self._db().execute(
                "INSERT INTO campaignsync_state (name, lineage, serial, document) "
                "VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (name) DO NOTHING",
                (self.name, *values),
            )
        else:
            cursor = self._db().execute(
                "UPDATE campaignsync_state SET lineage = %s, serial = %s, document = %s::jsonb, "
                "updated_at = now() WHERE name = %s AND serial = %s AND lineage = %s",
                (*values, self.name, serial, lineage),
            )
        return cursor.rowcount == 1

    def _still_holding(self) -> bool:
        if self._renewer is None:
            return True
        row = (
            self._db()
            .execute("SELECT token FROM campaignsync_lock WHERE name = %s FOR SHARE", (self.name,))
            .fetchone()
        )
        return row is not None and str(row[0]) == self._renewer.token

    def _conflict(self, serial: int) -> StateConflict:
        with self.translated_errors():
            row = (
                self._db()
                .execute("SELECT serial FROM campaignsync_state WHERE name = %s", (self.name,))
                .fetchone()
            )
        now_at = "no state" if row is None else f"serial {row[0]}"
        return StateConflict(
            f"The state in {self.where} was changed by someone else (it is now at {now_at}; "
            f"this campaignsync read serial {serial}); nothing was written. Run the command "
            "again to work from the current state."
        )

    def _lease_lost(self) -> StateConflict:
        return StateConflict(
            f"The lock on the state in {self.where} was lost: its lease ran out and another "
            "campaignsync took it over, so nothing more is written. Run the command again once "
            "that one has finished."
        )

    # --- the lock -----------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, *, timeout: float = 0.0, command: str = "") -> Iterator[None]:
        token = str(uuid.uuid4())
        holder = LockHolder.of_this_process(command).to_json()
        deadline = time.monotonic() + timeout
        while not self._try_lock(token, holder):
            if time.monotonic() >= deadline:
                current = self.lock_holder()
                named = current.describe() if current else "another campaignsync"
                raise LockHeld(
                    f"The state in {self.where} is locked by {named}. Wait for it to finish, "
                    "or pass --lock-timeout SECONDS to wait longer."
                )
            time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
        self._renewer = _Renewer(self, token)
        try:
            yield
        finally:
            self._renewer.stop()
            self._renewer = None
            with self.translated_errors():
                self._db().execute(
                    "DELETE FROM campaignsync_lock WHERE name = %s AND token = %s",
                    (self.name, token),
                )

    def _try_lock(self, token: str, holder: dict[str, Any]) -> bool:
        with self.translated_errors():
            row = (
                self._db()
                .execute(
                    "INSERT INTO campaignsync_lock AS held "
                    "(name, token, holder, acquired_at, expires_at) "
                    "VALUES (%s, %s, %s::jsonb, now(), now() + %s * interval '1 second') "
                    "ON CONFLICT (name) DO UPDATE SET token = excluded.token, "
                    "holder = excluded.holder, acquired_at = excluded.acquired_at, "
                    "expires_at = excluded.expires_at WHERE held.expires_at <= now() "
                    "RETURNING token",
                    (self.name, token, json.dumps(holder), self.lease),
                )
                .fetchone()
            )
        return row is not None

    def lock_holder(self) -> LockHolder | None:
        with self.translated_errors():
            row = (
                self._db()
                .execute(
                    f"SELECT holder::text, {_UTC_TEXT.format('acquired_at')}, "
                    f"{_UTC_TEXT.format('expires_at')}, expires_at > now() "
                    "FROM campaignsync_lock WHERE name = %s",
                    (self.name,),
                )
                .fetchone()
            )
        if row is None:
            return None
        return LockHolder.from_text(row[0], since=row[1], expires_at=row[2], live=bool(row[3]))

    def force_unlock(self, *, even_if_live: bool = False) -> LockHolder | None:
        holder = self.lock_holder()
        if holder is None:
            return None
        if holder.live and not even_if_live:
            raise LockHeld(
                f"The state in {self.where} is locked by {holder.describe()}, and its lease is "
                "still being renewed: that campaignsync may be running. Wait for the lease to "
                "run out, or if you are sure it is gone, pass --force twice."
            )
        with self.translated_errors():
            self._db().execute("DELETE FROM campaignsync_lock WHERE name = %s", (self.name,))
        return holder


def migrate(connection: psycopg.Connection[Any]) -> int:
    """Bring the schema to SCHEMA_VERSION; harmless to re-run, safe to run twice at once."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
        connection.execute("CREATE TABLE IF NOT EXISTS campaignsync_schema (version int NOT NULL)")
        row = connection.execute("SELECT max(version) FROM campaignsync_schema").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        if current > SCHEMA_VERSION:
            raise StateError(
                f"The database's campaignsync tables are at schema version {current}, newer "
                f"than this campaignsync ({__version__}) knows ({SCHEMA_VERSION}). Upgrade "
                "campaignsync."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute("INSERT INTO campaignsync_schema (version) VALUES (%s)", (version,))
    return SCHEMA_VERSION


class _Renewer:
    """Renews a held lease every lease/3 on its own connection; sets `lost` if taken over."""

    def __init__(self, store: PostgresStore, token: str) -> None:
        self.token = token
        self.lost = threading.Event()
        self._store = store
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-renewer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: psycopg.Connection[Any] | None = None
        try:
            while not self._stopping.wait(self._store.lease / 3):
                try:
                    connection = connection or self._store.connect()
                    if not self._renew(connection):
                        self.lost.set()
                        return
                except StateError:
                    connection = None  # a dropped connection: try again next turn
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()

    def _renew(self, connection: psycopg.Connection[Any]) -> bool:
        with self._store.translated_errors():
            cursor = connection.execute(
                "UPDATE campaignsync_lock SET expires_at = now() + %s * interval '1 second' "
                "WHERE name = %s AND token = %s",
                (self._store.lease, self._store.name, self.token),
            )
        return cursor.rowcount == 1

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
