"""Drift classification as data: theirs, ours, conflict, missing, status, normalisation."""

from __future__ import annotations

from typing import Any

from campaignsync.drift import DriftKind, build_drift_report, classify, read_remote

ID = "11111111-1111-4111-8111-111111111111"


def remote(**fields: Any) -> Any:
    item = {"id": ID, "status": "draft", "updated_at": "2026-11-01T10:00:00.5Z", "name": "A"}
    return read_remote([item | fields])[ID]


def kinds(last: dict[str, Any], desired: dict[str, Any] | None, **now: Any) -> dict[str, str]:
    drift = classify("k", ID, last, desired, remote(**now))
    return {entry.field: entry.kind.value for entry in drift.fields}


def test_theirs_ours_and_conflict() -> None:
    last = {"name": "A", "goal": "g", "channel": "phone", "description": "d"}
    desired = {"name": "A", "goal": "g2", "channel": "meet", "description": "d"}
    found = kinds(last, desired, goal="g", channel="web", description="edited")
    assert found == {"goal": "ours", "channel": "conflict", "description": "theirs"}


def test_the_same_change_on_both_sides_is_not_drift() -> None:
    assert kinds({"name": "A", "goal": "g"}, {"name": "A", "goal": "new"}, goal="new") == {}


def test_unmanaged_fields_are_never_compared() -> None:
    assert kinds({"name": "A"}, {"name": "A"}, goal="set in the web app") == {}


def test_a_removed_field_is_ours_until_applied() -> None:
    assert kinds({"name": "A", "goal": "g"}, {"name": "A"}, goal="g") == {"goal": "ours"}


def test_an_orphan_compares_only_remote_with_last_applied() -> None:
    assert kinds({"name": "A", "goal": "g"}, None, goal="edited") == {"goal": "theirs"}


def test_remote_values_are_normalised_before_comparing() -> None:
    last = {
        "name": "A",
        "timeframe_start": "2027-01-01T09:00:00Z",
        "project_id": "6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e31",
    }
    found = kinds(
        last,
        last,
        timeframe_start="2027-01-01T10:00:00+01:00",
        project_id="6F1C2A9E-3B7D-4C55-9A0E-2D8F4B1C7E31",
    )
    assert found == {}
    zone_less = kinds(
        last, last, timeframe_start="2027-01-01T09:00:00", project_id=last["project_id"]
    )
    assert zone_less == {}


def test_missing_and_not_draft() -> None:
    gone = classify("k", ID, {"name": "A"}, {"name": "A"}, None)
    assert gone.missing
    assert gone.differs
    active = classify("k", ID, {"name": "A"}, {"name": "A"}, remote(status="active"))
    assert active.not_draft
    assert not active.differs


def test_overwritten_by_lists_remote_edits_the_requests_send() -> None:
    drift = classify(
        "k", ID, {"name": "A", "goal": "g"}, {"name": "B", "goal": "g"}, remote(goal="x")
    )
    assert drift.overwritten_by(["name", "goal"]) == ("goal",)
    assert drift.overwritten_by(["name"]) == ()


def test_report_counts_and_sync() -> None:
    report = build_drift_report(
        {"a": {"name": "A", "goal": "new"}},
        {"a": (ID, {"name": "A", "goal": "g"}), "b": ("22222222-2222-4222-8222-222222222222", {})},
        {ID: remote(goal="g", status="paused")},
        api_url="https://api.ontora.com",
        workspace_id="ws",
    )
    assert not report.in_sync
    assert (report.counts.ours, report.counts.missing, report.counts.not_draft) == (1, 1, 1)
    assert [c.fields[0].kind for c in report.campaigns if c.fields] == [DriftKind.OURS]


def test_unknown_response_fields_are_ignored() -> None:
    assert remote(brand_new_field=1).fields["name"] == "A"


def test_the_list_endpoints_counts_are_read_but_never_compared() -> None:
    seen = remote(status="active", contact_count=60, scheduled_count=3, completed_count=57)
    assert (seen.contact_count, seen.scheduled_count, seen.completed_count) == (60, 3, 57)
    assert "completed_count" not in seen.fields
    drift = classify("k", ID, {"name": "A"}, {"name": "A"}, seen)
    assert (drift.contact_count, drift.scheduled_count, drift.completed_count) == (60, 3, 57)
    assert not drift.differs


def test_a_count_that_is_not_a_whole_number_is_not_a_count() -> None:
    seen = remote(contact_count="60", scheduled_count=-1, completed_count=True)
    assert (seen.contact_count, seen.scheduled_count, seen.completed_count) == (None, None, None)
    assert remote().completed_count is None
