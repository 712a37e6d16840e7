"""The state-store interface and its file implementation: compare and swap, the lock holder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from campaignsync.config import resolve_settings
from campaignsync.errors import StateConflict, StateError
from campaignsync.filestate import lock_path
from campaignsync.state import FORMAT_VERSION, Entry, state_document, state_json_schema
from campaignsync.store import (
    FileStore,
    LockHolder,
    ci_run_url,
    open_store,
    shown_url,
    url_secrets,
)
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE


def test_a_file_store_refuses_a_write_from_a_stale_read(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    mine, theirs = FileStore(path), FileStore(path)
    stale = mine.read(api_url=API_URL, workspace_id=WORKSPACE)
    current = theirs.read(api_url=API_URL, workspace_id=WORKSPACE)
    theirs.write(current.with_entry("a", Entry(interview_id=ID_A)))
    with pytest.raises(StateConflict, match="changed by someone else"):
        mine.write(stale.with_entry("b", Entry(interview_id=ID_B)))
    assert set(json.loads(path.read_text())["campaigns"]) == {"a"}


def test_a_file_store_sees_a_change_made_between_its_own_writes(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    mine, theirs = FileStore(path), FileStore(path)
    written = mine.write(mine.read(api_url=API_URL, workspace_id=WORKSPACE))
    written = mine.write(written.with_entry("a", Entry(interview_id=ID_A)))
    assert written.serial == 2
    theirs.write(theirs.read(api_url=API_URL, workspace_id=WORKSPACE))
    with pytest.raises(StateConflict, match="now at serial 3"):
        mine.write(written.with_entry("b", Entry(interview_id=ID_B)))


def test_a_write_replacing_a_state_keeps_its_own_lineage(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state.json")
    current = store.write(store.read(api_url=API_URL, workspace_id=WORKSPACE))
    other = current.model_copy(update={"lineage": "11111111-2222-4333-8444-555555555555"})
    written = store.write(other, replacing=current)
    assert (written.lineage, written.serial) == (other.lineage, current.serial + 1)


def test_the_file_lock_holder_is_shown_while_held_and_cannot_be_broken(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state.json")
    assert store.lock_holder() is None
    with store.lock(command="campaignsync apply --auto-approve"):
        holder = store.lock_holder()
        assert holder is not None
        assert holder.command == "campaignsync apply --auto-approve"
        with pytest.raises(StateError, match="nothing to break"):
            store.force_unlock(even_if_live=True)
    assert store.lock_holder() is None
    assert store.force_unlock() is None


@pytest.mark.parametrize("written", ["{", "[" * 100_000, '{"pid": 1e400}', "\udcff", "[1]"])
def test_a_file_lock_holder_that_cannot_be_read_is_unknown(tmp_path: Path, written: str) -> None:
    store = FileStore(tmp_path / "state.json")
    with store.lock():
        lock_path(store.path).write_text(written, encoding="utf-8", errors="surrogateescape")
        holder = store.lock_holder()
        assert holder is not None
        assert (holder.command, holder.pid) == ("unknown", 0)


def test_the_store_is_picked_by_the_state_value(tmp_path: Path) -> None:
    assert isinstance(open_store("state/prod.json", cwd=tmp_path), FileStore)
    store = open_store("postgresql://ci@db.example:5432/states", cwd=tmp_path, name="prod")
    assert type(store).__name__ == "PostgresStore"
    assert store.where == "postgresql://ci@db.example:5432/states (state 'prod')"
    assert type(open_store("POSTGRES://db.example/x", cwd=tmp_path)).__name__ == "PostgresStore"


def test_a_url_is_shown_without_its_password() -> None:
    assert shown_url("postgresql://ci:s3cr%40t@db:5432/x") == "postgresql://ci:***@db:5432/x"
    assert shown_url("postgresql://db/x") == "postgresql://db/x"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ci@db/x?password=hunter2", "postgresql://ci@db/x?password=***"),
        (
            "postgresql://db/x?sslmode=require&PASSWORD=a%26b&sslpassword=k3y",
            "postgresql://db/x?sslmode=require&PASSWORD=***&sslpassword=***",
        ),
        ("postgresql://ci:pw@db/x?password=pw2", "postgresql://ci:***@db/x?password=***"),
        ("postgresql://db/x?sslmode=require", "postgresql://db/x?sslmode=require"),
    ],
)
def test_a_url_is_shown_without_a_password_given_as_a_query_parameter(url: str, shown: str) -> None:
    # libpq takes `password` and `sslpassword` (the client key's) from the query too.
    assert shown_url(url) == shown


def test_every_password_a_url_holds_is_a_secret_as_written_and_decoded() -> None:
    url = "postgresql://ci:Sec%40ret%2fPw@db/x?password=hunter%32&sslpassword=k3y"
    secrets = set(url_secrets(url))
    assert {"Sec@ret/Pw", "Sec%40ret%2fPw", "hunter2", "hunter%32", "k3y"} <= secrets
    assert url_secrets("postgresql://ci@db/x?sslmode=require") == ()


def test_the_ci_run_is_named_when_known() -> None:
    env = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/campaigns",
        "GITHUB_RUN_ID": "42",
    }
    assert ci_run_url(env) == "https://github.com/acme/campaigns/actions/runs/42"
    assert ci_run_url({"GITHUB_RUN_ID": "42"}) is None


@pytest.mark.parametrize(
    "state",
    [
        "postgresql://ci@db/x?password=canary-pw-1",
        "postgresql://ci:canary%2Fpw%402@db/x",
        "postgresql://ci:canary%2fpw%402@db/x",
    ],
)
def test_a_holders_command_is_stored_without_the_state_urls_password(
    tmp_path: Path, state: str
) -> None:
    settings = resolve_settings({"state": state}, env={}, cwd=tmp_path)
    holder = LockHolder.of_this_process(f"campaignsync apply --state {settings.state_url}")
    assert "canary" not in json.dumps(holder.to_json())  # only the password says canary
    assert "canary" not in holder.describe()


def test_a_holders_command_is_stored_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTORA_API_TOKEN", "tok-canary-123")
    holder = LockHolder.of_this_process("campaignsync apply --token tok-canary-123")
    assert "tok-canary-123" not in json.dumps(holder.to_json())
    assert "tok-canary-123" not in holder.describe()


def test_a_holder_read_back_cannot_forge_a_line() -> None:
    holder = LockHolder.from_json({"command": "x\n\x1b[2Jfake", "host": "h", "pid": "1; rm"})
    assert "\n" not in holder.describe()
    assert "\x1b" not in holder.describe()
    assert holder.pid == 0


def test_pull_prints_the_file_byte_for_byte_and_valid_json(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state.json")
    current = store.read(api_url=API_URL, workspace_id=WORKSPACE)
    store.write(current.with_entry("a", Entry(interview_id=ID_A)))
    stored = store.read(api_url=API_URL, workspace_id=WORKSPACE)
    assert state_document(stored) == (tmp_path / "state.json").read_text()
    jsonschema.validate(json.loads(state_document(stored)), state_json_schema())


def test_the_first_write_of_a_version_1_file_keeps_no_contact_data_even_in_the_backup(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    contacts = [{"name": "Dana Whitfield", "email": "dana@example.org"}]
    entry = {"interview_id": ID_A, "last_applied": {"name": "A", "contacts": contacts}}
    document = {"format_version": 1, "api_url": API_URL, "serial": 3, "campaigns": {"a": entry}}
    document["lineage"] = "5a0d6a4e-3a56-4bd4-a3e1-0b1f7b3f2c9d"
    path.write_text(json.dumps(document))
    store = FileStore(path)
    current = store.read(api_url=API_URL, workspace_id=WORKSPACE)
    written = store.write(current.with_entry("b", Entry(interview_id=ID_B)))
    backup = path.with_name("state.json.backup")
    for kept in (path, backup):
        assert "Dana" not in kept.read_text()
        assert "dana@example.org" not in kept.read_text()
    assert json.loads(path.read_text())["format_version"] == FORMAT_VERSION
    assert json.loads(backup.read_text())["serial"] == 3  # the previous state, migrated
    assert store.read(api_url=API_URL, workspace_id=WORKSPACE) == written
    store.write(written.with_entry("b", None))
    assert json.loads(backup.read_text())["serial"] == 4  # from then on, the file itself


def test_a_postgres_state_without_psycopg_says_what_to_install(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from pathlib import Path\n"
        "from campaignsync.errors import ConfigError\n"
        "from campaignsync.store import open_store\n"
        "try:\n"
        "    open_store('postgresql://db/x', cwd=Path('.'))\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "pip install 'campaignsync[postgres]'" in result.stdout
