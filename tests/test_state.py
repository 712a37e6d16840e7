"""The state document: its fields, format versions, encoding, and the `state` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from campaignsync.errors import StateError
from campaignsync.filestate import state_lock, write_state
from campaignsync.state import (
    FORMAT_VERSION,
    Entry,
    PendingCreate,
    State,
    StateEncoder,
    parse_document,
    state_document,
    state_json_schema,
)
from tests.conftest import RunCli
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, read_back


def test_the_file_holds_every_documented_field(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(
        path, read_back(path).with_entry("a", Entry(interview_id=ID_A, last_applied={"name": "a"}))
    )
    document = json.loads(path.read_text())
    assert set(document) == {
        "format_version",
        "lineage",
        "serial",
        "tool_version",
        "api_url",
        "workspace_id",
        "fingerprint_key",
        "campaigns",
    }
    assert set(document["campaigns"]["a"]) == {
        "interview_id",
        "last_applied",
        "source_digest",
        "contacts_file",
        "applied_at",
        "unconfirmed",
        "pending_create",
    }


def test_campaigns_are_kept_in_key_order_however_they_were_read_or_added() -> None:
    unsorted = version_1_document() | {
        "format_version": FORMAT_VERSION,
        "campaigns": {"b": {"interview_id": ID_B}, "a": {"interview_id": ID_A}},
    }
    state = parse_document(unsorted, where="The state")
    assert list(state.campaigns) == ["a", "b"]
    state = state.with_entry("ab", Entry()).with_entry("a", Entry(interview_id=ID_A))
    assert list(state.campaigns) == ["a", "ab", "b"]
    assert list(state.with_entry("ab", None).campaigns) == ["a", "b"]


def test_a_version_1_file_from_before_pending_bodies_and_unconfirmed_fields_reads_as_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    old_entry = {
        "interview_id": None,
        "last_applied": {},
        "source_digest": None,
        "contacts_file": None,
        "applied_at": None,
        "pending_create": {"idempotency_key": "k-1", "started_at": "2026-11-01T10:00:00Z"},
    }
    document = version_1_document() | {"campaigns": {"a": old_entry}}
    path.write_text(json.dumps(document))
    entry = read_back(path).campaigns["a"]
    assert entry.pending_create is not None
    assert (entry.pending_create.idempotency_key, entry.pending_create.body) == ("k-1", None)
    assert entry.unconfirmed == {}


CONTACTS = [
    {"name": "Dana Whitfield", "email": "Dana.Whitfield@example.org", "job_title": "Lead"},
    {"name": "Marek Kowalski", "phone": "+48 61 555 0199"},
]


def version_1_document(**entry: Any) -> dict[str, Any]:
    """A state as campaignsync wrote it with format_version 1: contacts in full."""
    return {
        "format_version": 1,
        "lineage": "5a0d6a4e-3a56-4bd4-a3e1-0b1f7b3f2c9d",
        "serial": 4,
        "tool_version": "0.1.0",
        "api_url": API_URL,
        "workspace_id": WORKSPACE,
        "campaigns": {"a": {"interview_id": ID_A, **entry}},
    }


def test_a_version_1_state_reads_with_its_contacts_fingerprinted() -> None:
    document = version_1_document(
        last_applied={"name": "A", "contacts": CONTACTS},
        unconfirmed={"contacts": CONTACTS[:1]},
    )
    migrated = parse_document(document, where="The state")
    assert migrated.format_version == FORMAT_VERSION == 3
    assert (migrated.lineage, migrated.serial) == (document["lineage"], 4)
    entry = migrated.campaigns["a"]
    assert entry.last_applied["name"] == "A"
    printer = migrated.printer
    assert entry.last_applied["contacts"] == printer.of_contacts(CONTACTS)
    assert entry.unconfirmed["contacts"] == printer.of_contacts(CONTACTS[:1])
    text = state_document(migrated)
    for value in ("Dana", "Whitfield", "example.org", "Marek", "+48 61 555 0199", "Lead"):
        assert value not in text
    jsonschema.validate(json.loads(text), state_json_schema())
    assert parse_document(json.loads(text), where="The state") == migrated


def test_a_state_of_another_format_names_the_version_that_wrote_it() -> None:
    document = version_1_document() | {"format_version": 9, "tool_version": "7.0.1"}
    with pytest.raises(StateError, match=r"format_version 9 \(written by campaignsync 7\.0\.1\)"):
        parse_document(document, where="The state")


def test_a_contacts_list_of_something_else_than_contacts_is_refused() -> None:
    document = version_1_document(last_applied={"contacts": ["dana@example.org"]})
    with pytest.raises(StateError, match="contacts must be a list of objects"):
        parse_document(document, where="The state")


def test_a_version_2_state_reads_with_the_same_fingerprints_a_line_per_contact() -> None:
    fresh = State()
    printer = fresh.printer
    kept = printer.of_contacts(CONTACTS)
    as_version_2 = {
        "fingerprint": kept["fingerprint"],
        "items": [
            {"identity": printer.identity(contact), "fields": printer.fields(contact)}
            for contact in CONTACTS
        ],
    }
    document = version_1_document(
        last_applied={"name": "A", "contacts": as_version_2},
        unconfirmed={"contacts": as_version_2},
    ) | {"format_version": 2, "fingerprint_key": fresh.fingerprint_key}
    migrated = parse_document(document, where="The state")
    assert migrated.format_version == FORMAT_VERSION
    entry = migrated.campaigns["a"]
    assert entry.last_applied == {"name": "A", "contacts": kept}
    assert entry.unconfirmed == {"contacts": kept}
    assert kept["items"][0].startswith(f"{printer.identity(CONTACTS[0])} name:")


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(
    "contacts",
    [
        "dana@example.org",
        {"fingerprint": "ab", "items": "x"},
        {"fingerprint": "ab", "items": [{"identity": "cd"}]},
        {"fingerprint": "ab", "items": [{"identity": "cd", "fields": {"name": 1}}]},
        {"fingerprint": "ab", "items": [{"identity": "cd", "fields": {"full name": "ef"}}]},
        {"fingerprint": "ab", "items": ["cd name:Dana Whitfield"]},
        {"fingerprint": 1, "items": []},
        {"count": 5},  # a mark's count, where only what was applied may be
    ],
)
def test_hand_edited_contact_fingerprints_are_refused_as_damaged(
    contacts: object, version: int
) -> None:
    document = version_1_document(last_applied={"contacts": contacts}) | {"format_version": version}
    with pytest.raises(StateError, match=r"is damaged \(campaigns\.a\.last_applied"):
        parse_document(document, where="The state")


class TestStateCommands:
    @pytest.fixture
    def saved(self, project: Path) -> Path:
        path = project / "campaignsync.state.json"
        current = State(api_url=API_URL, workspace_id=WORKSPACE)
        current = current.with_entry(
            "hr/a", Entry(interview_id=ID_A, applied_at="2026-11-01T10:00:00Z")
        )
        write_state(path, current.with_entry("b", Entry(interview_id=ID_B)))
        return path

    def test_list_and_show(self, saved: Path, run_cli: RunCli) -> None:
        assert run_cli("state", "list").output == (
            f"b\t{ID_B}\t\nhr/a\t{ID_A}\t2026-11-01T10:00:00Z\n"
        )
        shown = json.loads(run_cli("state", "show", "hr/a").output)
        assert shown["hr/a"]["interview_id"] == ID_A

    def test_rm_and_mv_write_through_the_atomic_path(self, saved: Path, run_cli: RunCli) -> None:
        assert run_cli("state", "mv", "hr/a", "hr/renamed").exit_code == 0
        result = run_cli("state", "rm", "b")
        assert result.exit_code == 0
        assert "Ontora still has it" in result.output
        current = read_back(saved)
        assert list(current.campaigns) == ["hr/renamed"]
        assert current.serial == 3
        assert json.loads(saved.with_name(saved.name + ".backup").read_text())["serial"] == 2

    def test_unknown_keys_and_taken_names_are_errors(self, saved: Path, run_cli: RunCli) -> None:
        before = saved.read_text()
        result = run_cli("state", "rm", "nope")
        assert result.exit_code == 1
        assert "State has no campaign 'nope' (it has: b, hr/a)" in result.stderr
        assert run_cli("state", "mv", "b", "hr/a").exit_code == 1
        assert saved.read_text() == before

    @pytest.mark.parametrize("new", ["x//y", "trail/", "../out", "a\nb"])
    def test_mv_refuses_an_unsafe_key(self, saved: Path, run_cli: RunCli, new: str) -> None:
        before = saved.read_text()
        result = run_cli("state", "mv", "b", new)
        assert result.exit_code == 1
        assert "is not a campaign key" in result.stderr
        assert saved.read_text() == before

    def test_rm_of_a_pending_create_warns_that_the_campaign_may_exist(
        self, saved: Path, run_cli: RunCli
    ) -> None:
        body = {"workspace_id": WORKSPACE, "name": "Team survey"}
        pending = PendingCreate(idempotency_key="k", body=body, started_at="t")
        write_state(saved, read_back(saved).with_entry("c", Entry(pending_create=pending)))
        result = run_cli("state", "rm", "c")
        assert result.exit_code == 0
        assert "Ontora may already have made campaign 'Team survey'" in result.stderr
        assert "`campaignsync import INTERVIEW_ID c`" in result.stderr
        assert "c" not in read_back(saved).campaigns

    @pytest.mark.parametrize(
        ("new", "message"),
        [
            ("hr/a", "hr/a is already the key of that campaign"),
            ("", "'' is not a campaign key"),
            ("/abs", "'/abs' is not a campaign key"),
            ("hr/../x", "'hr/../x' is not a campaign key"),
            ("hr//x", "'hr//x' is not a campaign key"),
            ("hr/.hidden", "'hr/.hidden' is not a campaign key"),
            ("hr/a b", "'hr/a b' is not a campaign key"),
        ],
    )
    def test_mv_refuses_the_same_key_and_invalid_keys(
        self, saved: Path, run_cli: RunCli, new: str, message: str
    ) -> None:
        before = saved.read_bytes()
        result = run_cli("state", "mv", "hr/a", new)
        assert result.exit_code == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert saved.read_bytes() == before

    def test_a_held_lock_exits_three(self, saved: Path, run_cli: RunCli) -> None:
        with state_lock(saved, command="campaignsync apply --auto-approve"):
            result = run_cli("state", "rm", "b")
        assert result.exit_code == 3
        assert "locked by 'campaignsync apply --auto-approve'" in result.stderr


def test_the_encoder_writes_exactly_the_state_through_changes_and_removals() -> None:
    encoder = StateEncoder()
    current = State(api_url=API_URL)
    assert json.loads(b"".join(encoder.encode(current))) == current.model_dump(mode="json")
    current = current.with_entry("a", Entry(interview_id=ID_A, last_applied={"name": "é"}))
    current = current.with_entry("b/c", Entry(interview_id=ID_B))
    first = encoder.encode(current)
    assert json.loads(b"".join(first)) == current.model_dump(mode="json")
    changed = current.with_entry("b/c", Entry(interview_id=ID_B, last_applied={"goal": "g"}))
    second = encoder.encode(changed)
    assert json.loads(b"".join(second)) == changed.model_dump(mode="json")
    forgotten = changed.with_entry("a", None)
    assert json.loads(b"".join(encoder.encode(forgotten))) == forgotten.model_dump(mode="json")


@pytest.mark.parametrize(
    "interview_id", ["../../v1/interviews", "", "11111111-1111", "x\ny", ID_A + "/start"]
)
def test_an_interview_id_that_is_not_a_uuid_is_refused_naming_the_key(
    tmp_path: Path, interview_id: str
) -> None:
    path = tmp_path / "state.json"
    document = {
        "format_version": 1,
        "lineage": "5a0d6a4e-3a56-4bd4-a3e1-0b1f7b3f2c9d",
        "serial": 3,
        "api_url": API_URL,
        "campaigns": {"hr/onboarding": {"interview_id": interview_id}},
    }
    path.write_text(json.dumps(document))
    before = path.read_bytes()
    with pytest.raises(StateError, match=r"campaigns\.hr/onboarding\.interview_id") as caught:
        read_back(path)
    assert "is not a UUID" in str(caught.value)
    assert "was not changed" in str(caught.value)
    assert path.read_bytes() == before


def test_an_interview_id_in_state_is_read_in_its_canonical_form(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    entry = {"interview_id": WORKSPACE.upper()}
    path.write_text(json.dumps({"format_version": 1, "campaigns": {"a": entry}}))
    assert read_back(path).campaigns["a"].interview_id == WORKSPACE


@pytest.mark.parametrize(
    ("campaigns", "said"),
    [
        ({"../../etc": {"interview_id": WORKSPACE}}, "is not a campaign key"),
        ({"a\nb": {"interview_id": WORKSPACE}}, "is not a campaign key"),
        (
            {"a": {"interview_id": WORKSPACE}, "b": {"interview_id": WORKSPACE.upper()}},
            "both claim campaign",
        ),
    ],
)
def test_a_hand_edited_state_with_an_unsafe_key_or_a_shared_id_is_refused(
    tmp_path: Path, campaigns: dict[str, Any], said: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": 1, "api_url": API_URL, "campaigns": campaigns}))
    before = path.read_bytes()
    with pytest.raises(StateError, match=said):
        read_back(path)
    assert path.read_bytes() == before
