"""Keys for imported campaigns: slugs of their names, safe and never taken twice."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from campaignsync.adoption import (
    SLUG_LIMIT,
    assign_keys,
    in_order_made,
    record,
    recoverable,
    slug,
)
from campaignsync.campaign import CampaignFile
from campaignsync.drift import RemoteCampaign
from campaignsync.spec import check_key
from campaignsync.store import FileStore

ID = "6b0f7c2e-3c1d-4a55-9d0e-1f2a3b4c5d6e"


def remote(name: str, interview_id: str = ID, **fields: object) -> RemoteCampaign:
    return RemoteCampaign(interview_id=interview_id, fields={"name": name, **fields})


def test_a_slug_is_the_name_in_lower_case_ascii_words() -> None:
    assert slug("Weekly check-in: Q1 2027", ID) == "weekly-check-in-q1-2027"
    assert slug("Café Überblick", ID) == "cafe-uberblick"
    assert slug("  ../..//_defaults ", ID) == "defaults"


def test_a_name_with_no_ascii_letters_gets_a_key_from_its_id() -> None:
    assert slug("日本語の調査", ID) == "campaign-6b0f7c2e"
    assert slug("", ID) == "campaign-6b0f7c2e"


def test_a_long_name_is_cut_at_a_word() -> None:
    name = "word " * 30
    cut = slug(name, ID)
    assert len(cut) <= SLUG_LIMIT
    assert cut.endswith("word")
    assert slug("x" * 100, ID) == "x" * SLUG_LIMIT


@given(st.text(max_size=200))
def test_every_slug_is_a_safe_key_segment(name: str) -> None:
    made = slug(name, ID)
    assert check_key(made) is None
    assert "/" not in made
    assert 0 < len(made) <= SLUG_LIMIT


def test_clashes_with_files_state_and_each_other_are_numbered(tmp_path: Path) -> None:
    (tmp_path / "weekly.yml").write_text("name: Ours\n")
    campaigns = [
        remote("Weekly", "00000000-0000-4000-8000-000000000001"),
        remote("weekly", "00000000-0000-4000-8000-000000000002"),
        remote("Exit", "00000000-0000-4000-8000-000000000003"),
        remote("Exit", "00000000-0000-4000-8000-000000000004"),
    ]
    keys = [where.key for where, _ in assign_keys(campaigns, "", tmp_path, ["EXIT"])]
    assert keys == ["weekly-2", "weekly-3", "exit-2", "exit-3"]


def test_keys_go_under_the_folder_given(tmp_path: Path) -> None:
    ((where, _),) = assign_keys([remote("Exit")], "imported/2027", tmp_path, [])
    assert where.key == "imported/2027/exit"
    assert where.path == tmp_path / "imported" / "2027" / "exit.yaml"


def loaded(**managed: object) -> CampaignFile:
    return CampaignFile(
        key="k", path=Path("k.yaml"), source="k.yaml", managed=dict(managed), source_digest="d"
    )


def test_only_a_file_saying_just_what_ontora_shows_may_be_recorded_as_applied() -> None:
    shown = remote("Exit", goal="Why", channel=None)
    assert recoverable(loaded(name="Exit", goal="Why"), shown)
    assert recoverable(loaded(name="Exit", goal="Why", channel=None), shown)
    assert not recoverable(loaded(name="Exit", goal="Ours"), shown)
    assert not recoverable(loaded(name="Exit"), shown)
    assert not recoverable(loaded(name="Exit", goal="Why", voice_id="aria"), shown)


def test_campaigns_are_taken_in_the_order_ontora_made_them() -> None:
    def made(interview_id: str, created_at: str | None) -> RemoteCampaign:
        return RemoteCampaign(interview_id=interview_id, created_at=created_at)

    listed = [
        made("late", "2027-01-01T10:00:00Z"),
        made("unknown", None),
        made("early-fraction", "2027-01-01T09:00:00.500000Z"),
        made("early", "2027-01-01T09:00:00Z"),
        made("zone", "2027-01-01T09:30:00+02:00"),
        made("tie", "2027-01-01T09:00:00Z"),
    ]
    assert [c.interview_id for c in in_order_made(listed)] == [
        "zone",
        "early",
        "tie",
        "early-fraction",
        "late",
        "unknown",
    ]


def test_recording_claims_applied_only_what_ontora_shows(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state.json")
    empty = store.read(api_url="https://api.ontora.com", workspace_id=None)
    # `voice_id` reached the file from a _defaults.yaml: Ontora cannot confirm it holds it.
    inherited = CampaignFile(
        key="k",
        path=Path("k.yaml"),
        source="k.yaml",
        managed={"name": "Exit", "voice_id": "aria"},
        source_digest="d",
        interview_id=ID,
    )
    state = record(store, empty, inherited, api_url="https://api.ontora.com", workspace=ID)
    entry = state.campaigns["k"]
    assert entry.last_applied == {"name": "Exit"}
    assert entry.source_digest is None  # so plan reads the file and sends voice_id
    shown = CampaignFile(
        key="j",
        path=Path("j.yaml"),
        source="j.yaml",
        managed={"name": "J"},
        source_digest="e",
        interview_id="00000000-0000-4000-8000-000000000009",
    )
    state = record(store, state, shown, api_url="https://api.ontora.com", workspace=ID)
    assert state.campaigns["j"].source_digest == "e"
    assert state.campaigns["j"].last_applied == {"name": "J"}
