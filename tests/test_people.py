"""A plan's effect on people: contact entries added, removed and changed, the numbers
Ontora reports for an active campaign (--refresh), and the plan's total."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from campaignsync.drift import read_remote
from campaignsync.people import People
from campaignsync.plan import Plan
from campaignsync.planner import build_plan
from campaignsync.state import State
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state

ANN = {"name": "Ann", "email": "ann@example.org"}
BOB = {"name": "Bob", "phone": "+1 555 0100"}
CY = {"name": "Cy", "email": "cy@example.org", "job_title": "Picker"}
DEE = {"name": "Dee", "email": "dee@example.org"}


def plan_of(campaigns: list[Any], current: State, **options: Any) -> Plan:
    return build_plan(campaigns, current, api_url=API_URL, workspace_id=WORKSPACE, **options)


def listed(interview_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": interview_id, "updated_at": "2026-11-01T10:00:00Z", "name": "a"} | fields


def audience(plan: Plan, key: str = "a") -> People:
    (item,) = [item for item in plan.campaigns if item.key == key]
    return item.audience


class TestContactEntries:
    def test_added_removed_and_changed_count_by_identity(self) -> None:
        before = {"name": "a", "contacts": [ANN, BOB, CY]}
        # Ann's email differs only in case: the same contact. Cy's title changed; Bob is gone.
        after = [{**ANN, "email": "ANN@example.org"}, {**CY, "job_title": "Lead"}, DEE]
        plan = plan_of([campaign("a", contacts=after)], state(a=applied(ID_A, before)))
        assert audience(plan) == People(added=1, removed=1, changed=2, affected=4)
        assert plan.people_affected == 4

    def test_a_contact_with_several_changed_fields_is_one_changed(self) -> None:
        before = {"name": "a", "contacts": [ANN, CY]}
        after = [ANN, {**CY, "job_title": "Lead", "department": "Ops", "is_required": True}]
        plan = plan_of([campaign("a", contacts=after)], state(a=applied(ID_A, before)))
        assert audience(plan) == People(changed=1, affected=1)

    def test_a_reorder_alone_changes_no_one(self) -> None:
        before = {"name": "a", "contacts": [ANN, BOB]}
        plan = plan_of([campaign("a", contacts=[BOB, ANN])], state(a=applied(ID_A, before)))
        assert plan.has_changes
        assert audience(plan) == People()
        assert plan.people_affected == 0

    def test_a_create_adds_every_contact_it_declares(self) -> None:
        plan = plan_of([campaign("a", contacts=[ANN, BOB, CY])], State())
        assert audience(plan) == People(added=3, affected=3)

    def test_removing_the_contacts_field_removes_every_contact(self) -> None:
        before = {"name": "a", "contacts": [ANN, BOB]}
        plan = plan_of([campaign("a")], state(a=applied(ID_A, before)))
        assert audience(plan) == People(removed=2, affected=2)

    def test_an_edit_that_leaves_contacts_alone_affects_no_one(self) -> None:
        before = {"name": "a", "goal": "old", "contacts": [ANN]}
        plan = plan_of([campaign("a", goal="new", contacts=[ANN])], state(a=applied(ID_A, before)))
        assert audience(plan) == People()

    def test_the_total_sums_every_changed_campaign(self) -> None:
        current = state(a=applied(ID_A, {"name": "a", "contacts": [ANN]}))
        plan = plan_of(
            [campaign("a", contacts=[ANN, BOB]), campaign("b", contacts=[CY, DEE])], current
        )
        assert (audience(plan, "a").affected, audience(plan, "b").affected) == (1, 2)
        assert plan.people_affected == 3
        assert plan.document()["people_affected"] == 3


class TestRefreshed:
    """With --refresh, the list endpoint's numbers for a campaign Ontora reports active."""

    before: ClassVar[dict[str, Any]] = {
        "name": "a",
        "questions": [{"text": "Why?"}],
        "contacts": [ANN, BOB],
    }

    def refreshed(self, desired: Any, **listed_fields: Any) -> Plan:
        remote = read_remote([listed(ID_A, **listed_fields)])
        return plan_of([desired], state(a=applied(ID_A, self.before)), remote=remote)

    def test_an_active_campaign_shows_what_ontora_reports(self) -> None:
        edited = campaign(
            "a", questions=[{"text": "Why not?"}], contacts=[ANN, BOB], status="active"
        )
        plan = self.refreshed(
            edited, status="active", contact_count=60, scheduled_count=3, completed_count=57
        )
        expected = People(contact_count=60, scheduled_count=3, completed_count=57, affected=60)
        assert audience(plan) == expected
        assert plan.people_affected == 60

    def test_an_active_campaign_affects_everyone_it_contacts_and_those_added(self) -> None:
        edited = campaign(
            "a", questions=self.before["questions"], contacts=[ANN, CY, DEE], status="active"
        )
        plan = self.refreshed(edited, status="active", contact_count=2, completed_count=1)
        people = audience(plan)
        assert (people.added, people.removed, people.contact_count) == (2, 1, 2)
        assert people.affected == 4  # Ann and Bob, whom it contacts, and Cy and Dee

    def test_a_draft_shows_no_reported_numbers(self) -> None:
        edited = campaign("a", questions=[{"text": "Why not?"}], contacts=[ANN])
        plan = self.refreshed(edited, status="draft", contact_count=2, completed_count=0)
        assert audience(plan) == People(removed=1, affected=1)

    def test_an_unchanged_active_campaign_affects_no_one(self) -> None:
        unchanged = campaign(
            "a", **{k: v for k, v in self.before.items() if k != "name"}, status="active"
        )
        plan = self.refreshed(unchanged, status="active", contact_count=2, completed_count=2)
        assert not plan.has_changes
        assert audience(plan).completed_count == 2
        assert plan.people_affected == 0

    def test_an_active_campaign_ontora_gives_no_contact_count_counts_its_entries(self) -> None:
        edited = campaign(
            "a", questions=self.before["questions"], contacts=[ANN, CY], status="active"
        )
        plan = self.refreshed(edited, status="active", completed_count=5)
        assert audience(plan) == People(added=1, removed=1, completed_count=5, affected=2)


class TestSaved:
    def plan(self) -> Plan:
        current = state(a=applied(ID_A, {"name": "a", "contacts": [ANN]}))
        remote = read_remote([listed(ID_A, status="active", contact_count=1, completed_count=1)])
        desired = [campaign("a", contacts=[ANN, BOB], status="active"), campaign("b")]
        return plan_of(desired, current, remote=remote)

    def test_a_saved_plan_reads_back_with_its_people(self) -> None:
        plan = self.plan()
        document = json.loads(json.dumps(plan.document()))
        assert document["campaigns"][0]["audience"]["completed_count"] == 1
        assert Plan.model_validate_json(json.dumps(document)) == plan

    @pytest.mark.parametrize(
        ("where", "name", "value"),
        [("campaign", "affected", 0), ("campaign", "completed_count", 0), ("plan", "", 0)],
    )
    def test_a_saved_plan_whose_people_were_edited_is_refused(
        self, where: str, name: str, value: int
    ) -> None:
        document = self.plan().document()
        if where == "plan":
            document["people_affected"] = value
        else:
            document["campaigns"][0]["audience"][name] = value
        with pytest.raises(ValidationError, match="changed after it was made"):
            Plan.model_validate_json(json.dumps(document))


def test_other_ids_stay_apart() -> None:
    current = state(
        a=applied(ID_A, {"name": "a", "contacts": [ANN]}),
        b=applied(ID_B, {"name": "b", "contacts": [ANN]}),
    )
    remote = read_remote([listed(ID_B, status="active", contact_count=9, completed_count=4)])
    desired = [campaign("a", contacts=[]), campaign("b", contacts=[], status="active")]
    plan = plan_of(desired, current, remote=remote)
    assert audience(plan, "a") == People(removed=1, affected=1)
    assert audience(plan, "b") == People(removed=1, contact_count=9, completed_count=4, affected=9)
    assert plan.people_affected == 10
