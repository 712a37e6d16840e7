"""End to end: what a plan says about the people it affects, with and without --refresh."""

from __future__ import annotations

import json
from typing import Any

from tests.emulator_harness import Trial

QUESTION = "If you could change one thing about onboarding, what would it be?"


def launched_with_interviews_held(applied: Trial) -> None:
    """hr/onboarding (5 contacts) launched, 2 interviews scheduled and 3 completed, and a
    question of it changed in git."""
    interview_id = applied.interview_id("hr/onboarding")
    path = applied.root / "campaigns" / "hr" / "onboarding.yaml"
    path.write_text(path.read_text() + "status: active\n")
    launched = applied.cli("apply", "--auto-approve", "--allow-launch")
    assert launched.returncode == 0, launched.stderr
    assert applied.emulator.campaigns()[interview_id]["status"] == "active"
    assert [method for method, _, _ in applied.sent()][-1:] == ["POST"]  # the start
    applied.emulator.hold_interviews(interview_id, scheduled_count=2, completed_count=3)
    applied.edit("hr/onboarding.yaml", QUESTION, "What one thing would you change first?")


def campaign_in(document: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [item for item in document["campaigns"] if item["key"] == key]
    (item,) = found
    return item


def test_a_refreshed_plan_counts_everyone_an_active_campaign_contacts(applied: Trial) -> None:
    launched_with_interviews_held(applied)
    refreshed = applied.cli("plan", "--refresh", "--format", "json")
    assert refreshed.returncode == 0, refreshed.stderr
    document = json.loads(refreshed.stdout)
    assert campaign_in(document, "hr/onboarding")["audience"] == {
        "contact_count": 5,
        "scheduled_count": 2,
        "completed_count": 3,
        "added": 0,
        "removed": 0,
        "changed": 0,
        "affected": 5,
    }
    assert document["people_affected"] == 5
    offline = json.loads(applied.cli("plan", "--format", "json").stdout)
    assert campaign_in(offline, "hr/onboarding")["audience"]["completed_count"] is None
    assert offline["people_affected"] == 0
    assert offline["digest"] == document["digest"]
    assert applied.sent() == []


def test_text_and_markdown_say_it(applied: Trial) -> None:
    launched_with_interviews_held(applied)
    people = (
        "people: affects 5 people (contacts: unchanged; active in Ontora: 5 contacts, "
        "2 scheduled, 3 completed)"
    )
    warning = "! changes questions on a campaign with 3 completed interviews"
    text = applied.cli("plan", "--refresh").stdout
    assert f"    {people}\n    {warning}\n" in text
    assert text.endswith("Affects 5 people.\n")
    markdown = applied.cli("plan", "--refresh", "--format", "markdown").stdout
    assert f"{people}\n{warning}\n" in markdown
    assert "**Affects 5 people.**" in markdown
    offline = applied.cli("plan").stdout
    assert "    people: affects no one (contacts: unchanged)\n" in offline
    assert "completed interviews" not in offline


def test_contact_edits_are_counted_without_refresh(applied: Trial) -> None:
    applied.edit("hr/onboarding-contacts.csv", "Data Analyst", "Senior Data Analyst")
    document = json.loads(applied.cli("plan", "--format", "json").stdout)
    people = campaign_in(document, "hr/onboarding")["audience"]
    assert (people["added"], people["removed"], people["changed"]) == (0, 0, 1)
    assert document["people_affected"] == 1
