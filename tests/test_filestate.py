"""The state file on disk: strict reading, atomic writes with backup, and the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from campaignsync.errors import LockHeld, StateError
from campaignsync.filestate import (
    atomic_write,
    check_state_writable,
    lock_path,
    read_state,
    state_lock,
    write_state,
)
from campaignsync.state import MAX_SERIAL, Entry, PendingCreate, State
from tests.conftest import unwritable
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, read_back


def test_a_missing_file_is_an_empty_state(tmp_path: Path) -> None:
    current = read_back(tmp_path / "state.json")
    assert (current.lineage, current.serial, current.campaigns) == (None, 0, {})


def test_writes_fix_the_lineage_bump_the_serial_and_keep_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = write_state(path, read_back(path).with_entry("a", Entry(interview_id=ID_A)))
    assert first.serial == 1
    assert first.lineage
    second = write_state(path, read_back(path).with_entry("b", Entry(interview_id=ID_B)))
    assert (second.serial, second.lineage) == (2, first.lineage)
    assert read_back(path) == second
    backup = json.loads((tmp_path / "state.json.backup").read_text())
    assert backup["serial"] == 1
    assert list(backup["campaigns"]) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.backup"]


def test_a_state_at_the_largest_serial_is_read_and_never_written_past_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    near = write_state(path, read_back(path).model_copy(update={"serial": MAX_SERIAL - 2}))
    assert near.serial == MAX_SERIAL - 1
    last = write_state(path, read_back(path))
    assert last.serial == MAX_SERIAL
    assert read_back(path) == last
    before = path.read_bytes()
    with pytest.raises(StateError, match=r"the largest a state can keep.*nothing was written"):
        write_state(path, read_back(path).with_entry("a", Entry(interview_id=ID_A)))
    assert path.read_bytes() == before


def test_values_as_deep_as_a_campaign_file_holds_are_written_and_read_back(
    tmp_path: Path,
) -> None:
    deepest: Any = []
    for _ in range(62):  # the file's mapping and this field's value: 64 levels
        deepest = [deepest]
    pending = PendingCreate(idempotency_key="k", body={"x": deepest}, started_at="now")
    entries = {"a": Entry(interview_id=ID_A, last_applied={"x": deepest}, unconfirmed={"x": 1})}
    entries["b"] = Entry(pending_create=pending)
    path = tmp_path / "state.json"
    written = write_state(path, read_back(path).model_copy(update={"campaigns": entries}))
    assert read_back(path) == written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format_version": 1, "serial": ', "is not valid JSON"),
        ("[]", "is not a campaignsync state"),
        ('{"format_version": 99}', "has format_version 99"),
        ('{"format_version": 1, "serial": "many"}', r"is damaged \(serial"),
        ('{"format_version": 3, "serial": ' + "9" * 4300 + "}", r"is damaged \(serial"),
        ('{"format_version": 3, "serial": 9223372036854775808}', r"is damaged \(serial"),
        ("\xff\xfe", "is not valid JSON"),
        ('{"format_version": 3, "serial": ' + "9" * 5000 + "}", "holds a number too long"),
        ('{"format_version": 3, "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests"),
        ('{"format_version": 3, "x": NaN}', "a number that is not finite"),
        ('{"format_version": 3, "x": -Infinity}', "a number that is not finite"),
        ('{"format_version": 3, "x": 1e400}', "a number that is not finite"),
        ('{"format_version": 3, "x": "\\ud800"}', "text that is not Unicode"),
        ('{"format_version": 3.0}', "has format_version 3.0"),
        ('{"format_version": true}', "has format_version True"),
        ('{"format_version": "' + "3" * 5000 + '"}', "has format_version '333"),
    ],
)
def test_unreadable_state_is_an_error_and_left_untouched(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateError, match=message) as caught:
        read_back(path)
    assert "was not changed" in str(caught.value)
    assert path.read_text() == content


def test_state_for_another_api_or_workspace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(path, State(api_url=API_URL, workspace_id=WORKSPACE))
    with pytest.raises(StateError, match=r"written for the API at https://api\.ontora\.com"):
        read_back(path, api_url="http://127.0.0.1:8787")
    with pytest.raises(StateError, match="belongs to workspace"):
        read_back(path, workspace_id="another")
    assert read_back(path, workspace_id=None).workspace_id == WORKSPACE


def test_a_held_lock_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with state_lock(path, command="campaignsync apply"):
        with pytest.raises(LockHeld) as caught, state_lock(path, timeout=0.2):
            pass
        assert "'campaignsync apply' (pid" in str(caught.value)
        assert caught.value.exit_code == 3
    with state_lock(path):  # released: free again
        pass
    assert lock_path(path).read_text() == ""


@pytest.mark.parametrize("written", ["", "{", "[" * 100_000, '{"pid": 1e400}', "\udcff"])
def test_a_lock_file_that_cannot_be_read_names_another_process(
    tmp_path: Path, written: str
) -> None:
    path = tmp_path / "state.json"
    with state_lock(path):
        lock_path(path).write_text(written, encoding="utf-8", errors="surrogateescape")
        with pytest.raises(LockHeld, match="is locked by another process"), state_lock(path):
            pass


def test_a_contender_that_fails_leaves_the_holder_named(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with state_lock(path, command="campaignsync apply"):
        for _ in range(2):
            with pytest.raises(LockHeld, match="'campaignsync apply' \\(pid"), state_lock(path):
                pass


def test_a_state_reached_through_a_symlink_shares_the_lock_of_the_real_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "state.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    held = pytest.raises(LockHeld, match="'campaignsync apply'")
    with state_lock(real, command="campaignsync apply"), held, state_lock(link):
        pass
    with state_lock(link, command="campaignsync apply"), held, state_lock(real):
        pass


def test_a_write_through_a_symlink_replaces_the_file_it_points_at(tmp_path: Path) -> None:
    real = tmp_path / "state.json"
    link = tmp_path / "link.json"
    write_state(real, State(api_url=API_URL))
    link.symlink_to(real)
    write_state(link, read_back(link).with_entry("a", Entry(interview_id=ID_A)))
    assert link.is_symlink()
    assert list(read_back(real).campaigns) == ["a"]


@pytest.mark.parametrize("existing", [True, False])
def test_an_unwritable_state_folder_is_found_before_anything_is_sent(
    tmp_path: Path, existing: bool
) -> None:
    path = tmp_path / "state.json"
    if existing:
        write_state(path, State(api_url=API_URL))
    before = path.read_bytes() if existing else None
    with unwritable(tmp_path), pytest.raises(StateError) as caught:
        check_state_writable(path)
    assert f"Cannot write the state file {path}" in str(caught.value)
    assert "nothing was sent" in str(caught.value)
    assert (path.read_bytes() if existing else None) == before
    check_state_writable(path)  # writable again: no complaint, and nothing left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == (["state.json"] if existing else [])


def test_checking_that_state_is_writable_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    # The same file, not a copy of it: its hard links, its time and its inode are kept.
    path = tmp_path / "state.json"
    write_state(path, State(api_url=API_URL))
    before = path.stat()
    check_state_writable(path)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_nlink,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_state_file_that_cannot_be_replaced_is_found_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    write_state(path, State(api_url=API_URL))
    with unwritable(path), pytest.raises(StateError, match="nothing was sent"):
        check_state_writable(path)


def test_the_backup_is_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(path, State(api_url=API_URL))
    previous = path.read_bytes()
    write_state(path, read_back(path).with_entry("a", Entry(interview_id=ID_A)))
    assert (tmp_path / "state.json.backup").read_bytes() == previous
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_short_writes_are_carried_on_until_every_byte_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_writev = os.writev

    def stingy(descriptor: int, buffers: list[bytes]) -> int:
        return real_writev(descriptor, [bytes(buffers[0])[:3]])  # at most 3 bytes a call

    monkeypatch.setattr(os, "writev", stingy)
    chunks = [b"first chunk, ", b"", b"second", b" and the third\n"]
    atomic_write(tmp_path / "file", chunks)
    assert (tmp_path / "file").read_bytes() == b"".join(chunks)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_state_path_that_is_no_regular_file_is_refused_unread(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.json"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(StateError, match="not a regular file; a state file must be a plain file"):
        read_state(path, api_url=API_URL, workspace_id=WORKSPACE)


def test_the_package_imports_and_writes_state_without_posix_only_calls(tmp_path: Path) -> None:
    # As on Windows: no fcntl, no gathered writes, no sysconf.
    script = (
        "import os, sys\n"
        "sys.modules['fcntl'] = None\n"
        "del os.writev, os.sysconf\n"
        "from pathlib import Path\n"
        "import campaignsync.cli\n"
        "from campaignsync.filestate import atomic_write\n"
        "atomic_write(Path(sys.argv[1]), [b'one, ', b'', b'two'])\n"
    )
    target = tmp_path / "file"
    subprocess.run([sys.executable, "-c", script, str(target)], check=True, capture_output=True)
    assert target.read_bytes() == b"one, two"
