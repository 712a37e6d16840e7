"""The PostgreSQL store against a real server: compare and swap, names, the leased lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from campaignsync.errors import LockHeld, StateConflict, StateError
from campaignsync.pgstate import SCHEMA_VERSION, PostgresStore, migrate
from campaignsync.state import MAX_SERIAL, Entry, State
from campaignsync.store import LockHolder
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE

OpenStore = Callable[..., PostgresStore]


@pytest.fixture
def open_pg(postgres_url: str, state_name: str) -> Iterator[OpenStore]:
    """Open stores on the test server, by default on this test's own state name."""
    opened: list[PostgresStore] = []

    def open_(
        name: str = state_name, lease: float = 60.0, url: str = postgres_url
    ) -> PostgresStore:
        store = PostgresStore(url, name=name, lease=lease)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def read(store: PostgresStore) -> State:
    return store.read(api_url=API_URL, workspace_id=WORKSPACE)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll `condition`: a slow machine only takes longer, it does not fail."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def test_a_new_name_is_empty_and_the_first_write_fixes_a_lineage(open_pg: OpenStore) -> None:
    store = open_pg()
    empty = read(store)
    assert (empty.lineage, empty.serial, empty.campaigns) == (None, 0, {})
    written = store.write(empty.with_entry("a", Entry(interview_id=ID_A)))
    again = read(open_pg())
    assert (again.serial, again.lineage) == (1, written.lineage)
    assert again == written


def test_a_writer_with_a_stale_serial_is_refused(open_pg: OpenStore) -> None:
    mine, theirs = open_pg(), open_pg()
    first = mine.write(read(mine))
    stale = read(mine)
    theirs.write(read(theirs).with_entry("a", Entry(interview_id=ID_A)))
    with pytest.raises(StateConflict, match=r"now at serial 2; this campaignsync read serial 1"):
        mine.write(stale.with_entry("b", Entry(interview_id=ID_B)))
    stored = read(open_pg())
    assert (stored.serial, stored.lineage, set(stored.campaigns)) == (2, first.lineage, {"a"})


def test_two_first_writers_cannot_both_create_the_state(open_pg: OpenStore) -> None:
    mine, theirs = open_pg(), open_pg()
    empty_mine, empty_theirs = read(mine), read(theirs)
    theirs.write(empty_theirs.with_entry("a", Entry(interview_id=ID_A)))
    with pytest.raises(StateConflict, match="read serial 0"):
        mine.write(empty_mine.with_entry("b", Entry(interview_id=ID_B)))


def test_two_state_names_stay_apart(open_pg: OpenStore) -> None:
    staging, production = open_pg(name=f"s-{uuid.uuid4()}"), open_pg(name=f"p-{uuid.uuid4()}")
    staging.write(read(staging).with_entry("a", Entry(interview_id=ID_A)))
    assert read(production).campaigns == {}
    with production.lock():
        assert staging.lock_holder() is None
        with staging.lock():
            production.write(read(production).with_entry("b", Entry(interview_id=ID_B)))
    assert set(read(staging).campaigns) == {"a"}
    assert set(read(production).campaigns) == {"b"}


def test_a_state_of_another_api_is_refused(open_pg: OpenStore) -> None:
    store = open_pg()
    store.write(read(store))
    with pytest.raises(StateError, match="written for the API at"):
        store.read(api_url="http://127.0.0.1:9", workspace_id=WORKSPACE)


def test_the_lock_holder_is_shown_and_named_to_the_next_one(
    open_pg: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/campaigns")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    holder_store, other = open_pg(), open_pg()
    with holder_store.lock(command="campaignsync apply --auto-approve"):
        holder = other.lock_holder()
        assert holder is not None
        assert (holder.command, holder.pid, holder.live) == (
            "campaignsync apply --auto-approve",
            os.getpid(),
            True,
        )
        assert holder.ci_run_url == "https://github.com/acme/campaigns/actions/runs/42"
        with (
            pytest.raises(LockHeld, match=r"'campaignsync apply --auto-approve' by .*runs/42"),
            other.lock(),
        ):
            pass
    assert other.lock_holder() is None


def test_lock_timeout_waits_for_the_holder_in_turn(open_pg: OpenStore) -> None:
    holder_store, waiter = open_pg(), open_pg()
    entered = threading.Event()
    with holder_store.lock():
        thread = threading.Thread(target=lambda: _lock_and_mark(waiter, entered))
        thread.start()
        assert holder_store.lock_holder() is not None
    thread.join()
    assert entered.is_set()


def _lock_and_mark(store: PostgresStore, entered: threading.Event) -> None:
    with store.lock(timeout=60):
        entered.set()


def test_a_live_lease_is_renewed_past_its_length(open_pg: OpenStore) -> None:
    store, watcher = open_pg(lease=1.0), open_pg()
    with store.lock():
        first = watcher.lock_holder()
        assert first is not None

        def renewed() -> bool:
            now = watcher.lock_holder()
            return (
                now is not None and now.live and (now.expires_at or "") > (first.expires_at or "")
            )

        wait_until(renewed, "the lease to be renewed")


def test_a_crashed_holders_lease_runs_out_by_itself(
    open_pg: OpenStore, postgres_url: str, state_name: str
) -> None:
    script = (
        "import sys, time\n"
        "from campaignsync.pgstate import PostgresStore\n"
        "store = PostgresStore(sys.argv[1], name=sys.argv[2], lease=1.0)\n"
        "with store.lock(command='campaignsync apply (doomed)'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, postgres_url, state_name], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "locked\n"
        process.kill()  # SIGKILL: no clean-up runs
        process.wait()
        watcher = open_pg()
        dead = watcher.lock_holder()
        assert dead is not None
        assert dead.command == "campaignsync apply (doomed)"
        wait_until(lambda: not _live(watcher.lock_holder()), "the dead lease to run out")
        with watcher.lock():
            holder = watcher.lock_holder()
            assert holder is not None
            assert holder.pid == os.getpid()
    finally:
        process.kill()
        process.wait()


def _live(holder: LockHolder | None) -> bool:
    return holder is not None and holder.live


def test_force_unlock_refuses_a_live_lease_unless_asked_twice(open_pg: OpenStore) -> None:
    holder_store, other = open_pg(), open_pg()
    assert other.force_unlock() is None
    with holder_store.lock(command="campaignsync apply"):
        with pytest.raises(LockHeld, match="pass --force twice"):
            other.force_unlock()
        broken = other.force_unlock(even_if_live=True)
        assert broken is not None
        assert broken.command == "campaignsync apply"
        assert other.lock_holder() is None


def test_a_writer_whose_lock_was_taken_over_is_refused(open_pg: OpenStore) -> None:
    first, second = open_pg(), open_pg()
    with first.lock():
        current = read(first)
        second.force_unlock(even_if_live=True)
        with second.lock():
            with pytest.raises(StateConflict, match=r"lock on the state .* was lost"):
                first.write(current.with_entry("a", Entry(interview_id=ID_A)))
            second.write(read(second).with_entry("b", Entry(interview_id=ID_B)))
    assert set(read(second).campaigns) == {"b"}


@pytest.fixture
def fresh_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose connections see only an empty schema of their own."""
    schema = f"fresh_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in postgres_url else "?"
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def test_the_migration_reruns_harmlessly_and_first_runs_do_not_race(fresh_schema: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def first_run() -> None:
        try:
            with psycopg.connect(fresh_schema, autocommit=True) as connection:
                results.append(migrate(connection))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = PostgresStore(fresh_schema, name="kept")
    try:
        written = store.write(read(store).with_entry("a", Entry(interview_id=ID_A)))
        with psycopg.connect(fresh_schema, autocommit=True) as connection:
            assert migrate(connection) == SCHEMA_VERSION
            versions = connection.execute("SELECT version FROM campaignsync_schema").fetchall()
        assert versions == [(SCHEMA_VERSION,)]
        assert read(store) == written
    finally:
        store.close()


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_a_wrong_password_says_what_to_check_and_is_never_shown(
    open_pg: OpenStore, postgres_url: str
) -> None:
    store = open_pg(url=_with_password(postgres_url, "wrong-canary-pw"))
    with pytest.raises(StateError) as failure:
        read(store)
    assert "PGPASSWORD or ~/.pgpass" in str(failure.value)
    assert "wrong-canary-pw" not in str(failure.value)
    assert "wrong-canary-pw" not in store.where


def test_a_lock_holders_command_line_is_stored_without_the_password(
    open_pg: OpenStore, postgres_url: str
) -> None:
    password = urlsplit(postgres_url).password
    assert password, "the test server's URL carries its password"
    store = open_pg()
    with (
        store.lock(command=f"campaignsync apply --state {postgres_url}"),
        psycopg.connect(postgres_url) as connection,
    ):
        rows = connection.execute(
            "SELECT holder::text FROM campaignsync_lock WHERE name = %s", (store.name,)
        ).fetchall()
    assert rows
    assert password not in rows[0][0]


@pytest.mark.parametrize(
    ("document", "says"),
    [
        # jsonb keeps 1e5000 as a 1 and 5000 zeros, more digits than Python reads.
        ("jsonb_set(document, '{x}', '1e5000')", "holds a number too long to read"),
        ("'\"not a state\"'", "is not a campaignsync state"),
    ],
)
def test_a_document_edited_in_the_database_is_refused_with_a_message(
    open_pg: OpenStore, postgres_url: str, document: str, says: str
) -> None:
    store = open_pg()
    store.write(read(store).with_entry("a", Entry(interview_id=ID_A)))
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            f"UPDATE campaignsync_state SET document = {document}::jsonb WHERE name = %s",
            (store.name,),
        )
    with pytest.raises(StateError, match=f"^The state in .*{says}"):
        read(open_pg())


def test_a_state_at_the_largest_serial_is_never_written_past_it(
    open_pg: OpenStore, postgres_url: str
) -> None:
    store = open_pg()
    store.write(read(store).with_entry("a", Entry(interview_id=ID_A)))
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "UPDATE campaignsync_state SET serial = %s, "
            "document = jsonb_set(document, '{serial}', to_jsonb(%s::bigint)) WHERE name = %s",
            (MAX_SERIAL, MAX_SERIAL, store.name),
        )
    stuck = read(open_pg())
    assert stuck.serial == MAX_SERIAL
    with pytest.raises(StateError, match="the largest a state can keep"):
        open_pg().write(stuck.with_entry("b", Entry(interview_id=ID_B)))
    assert read(open_pg()) == stuck


def test_a_lock_holder_edited_in_the_database_is_unknown(
    open_pg: OpenStore, postgres_url: str
) -> None:
    store = open_pg()
    with store.lock(command="campaignsync apply"):
        with psycopg.connect(postgres_url) as connection:
            connection.execute(
                "UPDATE campaignsync_lock SET holder = '{\"pid\": 1e5000}'::jsonb WHERE name = %s",
                (store.name,),
            )
        holder = open_pg().lock_holder()
        assert holder is not None
        assert (holder.command, holder.pid, holder.live) == ("unknown", 0, True)


def test_a_missing_database_and_a_stopped_server_say_what_to_check(
    open_pg: OpenStore, postgres_url: str
) -> None:
    missing = urlunsplit(urlsplit(postgres_url)._replace(path="/no_such_database"))
    with pytest.raises(StateError, match="the database does not exist"):
        read(open_pg(url=missing))
    parts = urlsplit(postgres_url)
    down = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:1"))
    with pytest.raises(StateError, match="Check that the server is running"):
        read(open_pg(url=down))


def test_the_cause_is_told_even_when_a_secret_masks_part_of_its_words(
    open_pg: OpenStore, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTORA_API_TOKEN", "tab")  # inside "database" as libpq words it
    missing = urlunsplit(urlsplit(postgres_url)._replace(path="/no_such_database"))
    with pytest.raises(StateError, match="Create it, or fix the URL"):
        read(open_pg(url=missing))
