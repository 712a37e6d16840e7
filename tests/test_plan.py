"""The planner as data: one test per action and per rule of DESIGN.md."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from campaignsync.campaign import CampaignFile
from campaignsync.diff import ListDiff
from campaignsync.drift import read_remote
from campaignsync.errors import PlanError, StateError
from campaignsync.jsontext import MAX_DEPTH
from campaignsync.plan import INTERVIEW_ID, Action, Plan, content_digest
from campaignsync.planner import build_plan
from campaignsync.state import Entry, PendingCreate, State
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state

TOPICS = [{"name": "Pay", "priority": 1}, {"name": "Tools", "goal": "What tools lack"}]
CONTACTS = [
    {"name": "Ann", "email": "ann@example.org"},
    {"name": "Bob", "phone": "+1 555 0100"},
]
OTHERS = [{"name": "Cy", "email": "cy@example.org"}, {"name": "Di", "email": "di@example.org"}]


def plan_of(campaigns: list[CampaignFile], current: State | None = None, **options: Any) -> Plan:
    options.setdefault("workspace_id", WORKSPACE)
    return build_plan(campaigns, current or state(), api_url=API_URL, **options)


def only(plan: Plan) -> Any:
    (item,) = plan.campaigns
    return item


def requests(plan: Plan) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.method, r.path, r.body) for r in only(plan).requests]


class TestCreate:
    def test_posts_create_fields_then_finalizes_the_rest(self) -> None:
        new = campaign(
            "a",
            goal="G",
            project_context="PC",
            voice_id="v1",
            timezone="Europe/Berlin",
            followup_enabled=True,
            topics=TOPICS,
        )
        plan = plan_of([new], State())
        item = only(plan)
        assert item.action is Action.CREATE
        assert item.reason == "create: new campaign"
        assert requests(plan) == [
            (
                "POST",
                "/v1/interviews",
                {
                    "workspace_id": WORKSPACE,
                    "name": "a",
                    "goal": "G",
                    "project_context": "PC",
                    "timezone": "Europe/Berlin",
                },
            ),
            (
                "PUT",
                f"/v1/campaign-creation/{INTERVIEW_ID}/finalize",
                {
                    "name": "a",
                    "goal": "G",
                    "voice_id": "v1",
                    "followup_enabled": True,
                    "topics": TOPICS,
                },
            ),
        ]
        assert item.requests[0].creates
        assert item.requests[0].idempotency_key is None
        assert plan.counts.create == 1
        assert plan.has_changes

    def test_without_a_workspace_the_plan_warns_and_still_shows_the_create(self) -> None:
        plan = plan_of([campaign("a")], State(), workspace_id=None)
        assert plan.warnings
        assert "ONTORA_WORKSPACE_ID" in plan.warnings[0]
        assert requests(plan)[0][2]["workspace_id"] is None

    def test_a_pending_create_is_resumed_with_its_idempotency_key(self) -> None:
        pending = Entry(pending_create=PendingCreate(idempotency_key="key-1", started_at="t"))
        plan = plan_of([campaign("a")], state(a=pending))
        item = only(plan)
        assert item.action is Action.CREATE
        assert item.requests[0].idempotency_key == "key-1"
        assert "resume" in item.reason

    def test_a_pending_create_is_resent_exactly_and_the_edits_since_follow_it(self) -> None:
        sent = {"workspace_id": WORKSPACE, "name": "a", "goal": "G", "project_context": "PC"}
        pending = PendingCreate(idempotency_key="key-1", body=sent, started_at="t")
        edited = campaign("a", goal="G2", topics=TOPICS)
        item = only(plan_of([edited], state(a=Entry(pending_create=pending))))
        assert item.action is Action.CREATE
        assert "exactly as first sent" in item.reason
        assert [(r.method, r.path, r.body) for r in item.requests] == [
            ("POST", "/v1/interviews", sent),
            ("PUT", f"/v1/campaign-creation/{INTERVIEW_ID}/finalize", edited.managed),
            ("PATCH", f"/v1/campaign-creation/{INTERVIEW_ID}/draft", {"project_context": None}),
        ]
        assert item.requests[0].idempotency_key == "key-1"
        assert item.cleared == ("project_context",)
        assert [(c.field, c.kind.value) for c in item.changes if c.field == "project_context"] == [
            ("project_context", "remove")
        ]

    def test_a_pending_create_clears_in_finalize_what_the_file_dropped(self) -> None:
        sent = {"workspace_id": WORKSPACE, "name": "a", "goal": "G"}
        pending = PendingCreate(idempotency_key="key-1", body=sent, started_at="t")
        item = only(plan_of([campaign("a")], state(a=Entry(pending_create=pending))))
        assert [r.body for r in item.requests] == [sent, {"name": "a", "goal": None}]

    def test_a_pending_create_refuses_an_edited_create_only_field(self) -> None:
        sent = {"workspace_id": WORKSPACE, "name": "a", "timezone": "UTC"}
        pending = PendingCreate(idempotency_key="key-1", body=sent, started_at="t")
        for edited in (campaign("a", timezone="Europe/Paris"), campaign("a")):
            with pytest.raises(PlanError, match="a: timezone changed since its create was sent"):
                plan_of([edited], state(a=Entry(pending_create=pending)))

    def test_the_create_body_state_keeps_while_pending_holds_no_contact(self) -> None:
        # State keeps a pending create's exact body; contacts go with the finalize only.
        item = only(plan_of([campaign("a", goal="G", contacts=CONTACTS)]))
        create, finalize = item.requests
        assert create.creates
        assert "contacts" not in create.body
        assert finalize.body["contacts"] == CONTACTS


class TestAdopt:
    def test_patches_every_draft_field_then_finalizes(self) -> None:
        plan = plan_of([campaign("a", interview_id=ID_A, project_context="PC", contacts=CONTACTS)])
        item = only(plan)
        assert item.action is Action.ADOPT
        assert item.interview_id == ID_A
        assert requests(plan) == [
            (
                "PATCH",
                f"/v1/campaign-creation/{ID_A}/draft",
                {"name": "a", "project_context": "PC"},
            ),
            ("PUT", f"/v1/campaign-creation/{ID_A}/finalize", {"name": "a", "contacts": CONTACTS}),
        ]

    def test_a_campaign_already_managed_under_another_key_cannot_be_adopted(self) -> None:
        current = state(old=applied(ID_A, {"name": "old"}))
        with pytest.raises(PlanError, match=r"already managed as 'old'.*state mv old new"):
            plan_of([campaign("new", interview_id=ID_A), campaign("old")], current)

    def test_create_only_fields_cannot_be_adopted(self) -> None:
        with pytest.raises(PlanError, match=r"a: adopting campaign .* folder can only be set"):
            plan_of([campaign("a", interview_id=ID_A, folder="X")])


class TestPatch:
    def test_only_changed_draft_fields_are_sent(self) -> None:
        before = campaign("a", goal="old", channel="phone", voice_id="v1")
        after = campaign("a", goal="new", channel="phone", voice_id="v2")
        plan = plan_of([after], state(a=applied(ID_A, before)))
        assert only(plan).action is Action.PATCH
        assert only(plan).reason == "patch: goal, voice_id changed"
        assert requests(plan) == [
            ("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"goal": "new", "voice_id": "v2"})
        ]

    def test_the_reason_names_the_defaults_file_a_change_came_from(self) -> None:
        before = campaign("a", goal="old", channel="phone", voice_id="v1")
        after = dataclasses.replace(
            campaign("a", goal="new", channel="phone", voice_id="v2"),
            inherited={
                "goal": "campaigns/_defaults.yaml",
                "channel": "campaigns/_defaults.yaml",
                "voice_id": "campaigns/hr/_defaults.yaml",
            },
        )
        plan = plan_of([after], state(a=applied(ID_A, before)))
        assert only(plan).reason == (
            "patch: goal, voice_id changed (goal from campaigns/_defaults.yaml; "
            "voice_id from campaigns/hr/_defaults.yaml)"
        )

    def test_a_removed_scalar_is_sent_as_null(self) -> None:
        before = campaign("a", goal="old", description="D")
        plan = plan_of([campaign("a", goal="old")], state(a=applied(ID_A, before)))
        assert requests(plan) == [
            ("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"description": None})
        ]
        (change,) = only(plan).changes
        assert (change.field, change.kind, change.old, change.new) == (
            "description",
            "remove",
            "D",
            None,
        )

    def test_a_field_never_managed_is_never_sent(self) -> None:
        last = {"name": "a"}
        plan = plan_of([campaign("a")], state(a=applied(ID_A, last)))
        assert only(plan).action is Action.NO_OP
        assert "goal" not in json.dumps(plan.document())

    def test_an_explicit_null_is_managed(self) -> None:
        plan = plan_of(
            [campaign("a", goal=None)], state(a=applied(ID_A, {"name": "a", "goal": "G"}))
        )
        assert requests(plan) == [("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"goal": None})]


class TestFinalize:
    def test_a_contact_edit_sends_the_full_finalize_body_without_project_context(self) -> None:
        before = campaign("a", goal="G", project_context="PC", topics=TOPICS, contacts=CONTACTS)
        edited = [{"name": "Ann", "email": "ann@example.org", "job_title": "Lead"}, CONTACTS[1]]
        after = campaign("a", goal="G", project_context="PC", topics=TOPICS, contacts=edited)
        plan = plan_of([after], state(a=applied(ID_A, before)))
        assert only(plan).action is Action.FINALIZE
        assert only(plan).reason == "finalize: contacts changed"
        assert requests(plan) == [
            (
                "PUT",
                f"/v1/campaign-creation/{ID_A}/finalize",
                {"name": "a", "goal": "G", "topics": TOPICS, "contacts": edited},
            )
        ]

    def test_project_context_and_a_list_change_send_patch_then_put(self) -> None:
        before = campaign("a", project_context="old", topics=TOPICS)
        after = campaign("a", project_context="new", topics=TOPICS[:1])
        plan = plan_of([after], state(a=applied(ID_A, before)))
        assert requests(plan) == [
            ("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"project_context": "new"}),
            ("PUT", f"/v1/campaign-creation/{ID_A}/finalize", {"name": "a", "topics": TOPICS[:1]}),
        ]

    def test_a_removed_list_is_cleared_with_an_empty_list(self) -> None:
        before = campaign("a", topics=TOPICS, followup_intervals_hours=[24])
        plan = plan_of([campaign("a")], state(a=applied(ID_A, before)))
        assert only(plan).reason == "finalize: followup_intervals_hours, topics changed"
        assert requests(plan) == [
            (
                "PUT",
                f"/v1/campaign-creation/{ID_A}/finalize",
                {"name": "a", "followup_intervals_hours": [], "topics": []},
            )
        ]

    def test_a_followup_change_alone_needs_finalize(self) -> None:
        before = campaign("a", followup_message="Hi")
        plan = plan_of([campaign("a", followup_message="Hello")], state(a=applied(ID_A, before)))
        assert only(plan).action is Action.FINALIZE


class TestUnconfirmed:
    """Fields a request sent whose answer never came are sent again, whatever the file says."""

    def entry(self, **unconfirmed: Any) -> Entry:
        last = {"name": "a", "project_context": "old", "topics": TOPICS}
        return applied(ID_A, last).model_copy(update={"unconfirmed": unconfirmed})

    @pytest.mark.parametrize("value", ["old", "new", None])
    def test_a_scalar_is_patched_to_the_file_value_or_cleared(self, value: str | None) -> None:
        fields = {"topics": TOPICS} | ({"project_context": value} if value else {})
        plan = plan_of([campaign("a", **fields)], state(a=self.entry(project_context="new")))
        assert requests(plan) == [
            ("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"project_context": value})
        ]
        assert "its answer never came" in only(plan).reason

    def test_a_list_is_finalized_again_even_when_the_file_matches_last_applied(self) -> None:
        desired = campaign("a", project_context="old", topics=TOPICS)
        plan = plan_of([desired], state(a=self.entry(topics=[{"name": "Other"}])))
        assert [(method, body.get("topics")) for method, _, body in requests(plan)] == [
            ("PUT", TOPICS)
        ]

    def test_a_finalize_clears_a_field_only_an_unconfirmed_request_sent(self) -> None:
        desired = campaign("a", project_context="old", topics=[{"name": "New"}])
        plan = plan_of([desired], state(a=self.entry(goal="sent once")))
        ((method, _, body),) = requests(plan)
        assert (method, body["goal"]) == ("PUT", None)

    def test_a_field_the_file_never_had_is_cleared(self) -> None:
        desired = campaign("a", project_context="old", topics=TOPICS)
        plan = plan_of([desired], state(a=self.entry(goal="sent once")))
        assert requests(plan) == [("PATCH", f"/v1/campaign-creation/{ID_A}/draft", {"goal": None})]
        assert only(plan).cleared == ("goal",)

    def test_contacts_marked_by_their_size_are_sent_again_or_cleared(self) -> None:
        marked = self.entry(contacts={"count": 2})
        again = plan_of([campaign("a", project_context="old", contacts=CONTACTS)], state(a=marked))
        ((method, _, body),) = requests(again)
        assert (method, body["contacts"]) == ("PUT", CONTACTS)
        dropped = plan_of([campaign("a", project_context="old", topics=TOPICS)], state(a=marked))
        ((method, _, body),) = requests(dropped)
        assert (method, body["contacts"]) == ("PUT", [])
        assert only(dropped).cleared == ("contacts",)

    @pytest.mark.parametrize(
        ("confirmed", "sent", "file", "added", "removed"),
        [
            ([], 3, [], 0, 3),  # all it sent may be in Ontora: clearing removes them
            ([], 3, CONTACTS[:1], 1, 2),  # a list of one keeps one of them at most
            (CONTACTS, 5, [], 0, 5),  # Ontora holds the two applied, or the five sent
            ([], 1, CONTACTS, 2, 0),
            # Compared by name with the applied two, and the five sent counted beyond them:
            (CONTACTS, 5, CONTACTS, 0, 3),
            (CONTACTS, 5, CONTACTS[:1], 0, 4),
            (CONTACTS, 5, OTHERS, 2, 3),
            (CONTACTS, 2, OTHERS, 2, 2),
        ],
    )
    def test_people_count_the_contacts_a_lost_request_sent(
        self,
        confirmed: list[dict[str, str]],
        sent: int,
        file: list[dict[str, str]],
        added: int,
        removed: int,
    ) -> None:
        def fields(contacts: list[dict[str, str]]) -> dict[str, Any]:
            return {"project_context": "old", "topics": TOPICS} | (
                {"contacts": contacts} if contacts else {}
            )

        marked = applied(ID_A, campaign("a", **fields(confirmed))).model_copy(
            update={"unconfirmed": {"contacts": {"count": sent}}}
        )
        desired = campaign("a", **fields(file))
        plan = plan_of([desired], state(a=marked))
        assert (only(plan).audience.added, only(plan).audience.removed) == (added, removed)
        # Sent again whatever it says: Ontora may hold either list.
        assert [body["contacts"] for method, _, body in requests(plan) if method == "PUT"] == [file]


def test_contacts_state_keeps_twice_are_refused_naming_the_campaign() -> None:
    kept = state(a=applied(ID_A, campaign("a", contacts=CONTACTS)))
    entry = kept.campaigns["a"]
    fingerprints = entry.last_applied["contacts"]
    doubled = fingerprints | {"items": [*fingerprints["items"], fingerprints["items"][0]]}
    edited = entry.model_copy(update={"last_applied": entry.last_applied | {"contacts": doubled}})
    with pytest.raises(StateError, match=r"^a: The state holds a contact twice"):
        plan_of([campaign("a", contacts=OTHERS)], state(a=edited))


def test_no_change_is_a_no_op_without_requests() -> None:
    same = campaign(
        "a", goal="G", topics=TOPICS, contacts=CONTACTS, timeframe_start="2027-01-01T10:00:00+01:00"
    )
    plan = plan_of([same], state(a=applied(ID_A, same)))
    assert only(plan).action is Action.NO_OP
    assert only(plan).requests == ()
    assert not plan.has_changes


def test_a_campaign_in_state_whose_file_is_gone_is_an_orphan() -> None:
    plan = plan_of([], state(old__thing=applied(ID_A, {"name": "x"})))
    item = only(plan)
    assert (item.key, item.action, item.requests) == ("old/thing", Action.ORPHAN, ())
    assert "campaignsync state rm old/thing" in item.reason
    assert not plan.has_changes
    assert plan.counts.orphan == 1


class TestRenamedFiles:
    def test_a_create_and_an_orphan_of_the_same_name_suggest_state_mv(self) -> None:
        current = state(hr__survey=applied(ID_A, {"name": "Pulse"}))
        plan = plan_of([campaign("people/pulse-2027", name="Pulse")], current)
        orphan, created = plan.campaigns  # in key order
        assert (created.action, orphan.action) == (Action.CREATE, Action.ORPHAN)
        assert created.moved_from == "hr/survey"
        command = "`campaignsync state mv hr/survey people/pulse-2027`"
        assert command in (created.rename_hint or "")
        assert command in orphan.reason

    def test_the_same_file_name_in_another_folder_suggests_state_mv(self) -> None:
        current = state(hr__survey=applied(ID_A, {"name": "Old name"}))
        (_, created) = plan_of([campaign("people/survey", name="New name")], current).campaigns
        assert created.moved_from == "hr/survey"

    def test_no_suggestion_when_nothing_or_more_than_one_matches(self) -> None:
        current = state(
            a__survey=applied(ID_A, {"name": "Pulse"}), b__survey=applied(ID_B, {"name": "Pulse"})
        )
        plan = plan_of([campaign("c/survey", name="Pulse"), campaign("d/other")], current)
        assert [item.moved_from for item in plan.campaigns] == [None, None, None, None]
        assert all("state mv" not in item.reason for item in plan.campaigns)


@pytest.mark.parametrize("field", ["project_id", "timezone", "completion_threshold", "folder"])
def test_a_changed_create_only_field_fails_the_plan(field: str) -> None:
    values = {
        "project_id": (
            "6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e31",
            "0b7e7a4c-1f5e-4a52-9d0b-5c3a2e9f8d10",
        ),
        "timezone": ("Europe/Berlin", "Europe/Paris"),
        "completion_threshold": (80, 90),
        "folder": ("A", "B"),
    }[field]
    before = campaign("hr/x", **{field: values[0]})
    with pytest.raises(PlanError) as caught:
        plan_of([campaign("hr/x", **{field: values[1]})], state(hr__x=applied(ID_A, before)))
    message = str(caught.value)
    assert message.startswith(f"hr/x: {field} can only be set when a campaign is created")
    assert "campaignsync state rm hr/x" in message


def test_every_refused_campaign_is_reported_together() -> None:
    current = state(
        a=applied(ID_A, campaign("a", folder="A")), b=applied(ID_B, campaign("b", folder="A"))
    )
    with pytest.raises(PlanError) as caught:
        plan_of([campaign("a", folder="B"), campaign("b", folder="B")], current)
    assert str(caught.value).count("folder can only be set") == 2


def test_a_different_interview_id_than_state_is_refused() -> None:
    with pytest.raises(PlanError, match="state links this key to"):
        plan_of([campaign("a", interview_id=ID_B)], state(a=applied(ID_A, {"name": "a"})))


class TestKeyedLists:
    def test_topics_by_name_added_removed_changed_and_reordered(self) -> None:
        before = campaign("a", topics=[{"name": "A"}, {"name": "B", "priority": 1}, {"name": "C"}])
        after = campaign("a", topics=[{"name": "C"}, {"name": "B", "priority": 2}, {"name": "D"}])
        (change,) = only(plan_of([after], state(a=applied(ID_A, before)))).changes
        items = change.items
        assert items is not None
        assert list(items.added) == ["D"]
        assert list(items.removed) == ["A"]
        assert [
            (i.identity, [(f.field, f.old, f.new) for f in i.fields]) for i in items.changed
        ] == [("B", [("priority", 1, 2)])]
        assert items.reordered

    def test_replacing_every_item_is_additions_and_removals(self) -> None:
        before = campaign("a", topics=[{"name": "T"}])
        after = campaign("a", topics=[{"name": "U"}])
        (change,) = only(plan_of([after], state(a=applied(ID_A, before)))).changes
        assert change.items is not None
        assert list(change.items.added) == ["U"]
        assert list(change.items.removed) == ["T"]
        assert not change.items.changed

    def test_inserting_an_item_is_one_addition_not_a_cascade(self) -> None:
        before = campaign("a", questions=[{"text": "Q1"}, {"text": "Q2"}])
        after = campaign("a", questions=[{"text": "Q0"}, {"text": "Q1"}, {"text": "Q2"}])
        (change,) = only(plan_of([after], state(a=applied(ID_A, before)))).changes
        assert change.items is not None
        assert list(change.items.added) == ["Q0"]
        assert not (change.items.changed)
        assert not (change.items.removed)
        assert not (change.items.reordered)

    def test_contacts_by_lowercase_email_or_name_and_phone(self) -> None:
        before = campaign("a", contacts=CONTACTS)
        after = campaign(
            "a",
            contacts=[
                {"name": "Ann B.", "email": "ANN@example.org"},
                {"name": "Bob", "phone": "+1 555 0100", "department": "Ops"},
            ],
        )
        (change,) = only(plan_of([after], state(a=applied(ID_A, before)))).changes
        assert change.items is not None
        assert [i.identity for i in change.items.changed] == [
            "ann@example.org",
            "Bob <+1 555 0100>",
        ]
        assert [f.field for f in change.items.changed[0].fields] == ["email", "name"]
        assert not change.items.added
        assert not change.items.removed

    def test_nested_subtopic_changes_show_as_the_field(self) -> None:
        before = campaign("a", topics=[{"name": "A", "subtopics": ["x", "y"]}])
        after = campaign("a", topics=[{"name": "A", "subtopics": ["x"]}])
        (change,) = only(plan_of([after], state(a=applied(ID_A, before)))).changes
        assert change.items is not None
        (item,) = change.items.changed
        assert [(f.field, f.old, f.new) for f in item.fields] == [("subtopics", ["x", "y"], ["x"])]

    def test_contacts_set_to_null_plan_nothing_until_a_list_comes(self) -> None:
        before = campaign("a", contacts=None)
        current = state(a=applied(ID_A, before))
        assert only(plan_of([before], current)).requests == ()
        assert only(plan_of([campaign("a")], current)).requests == ()  # null clears nothing
        listed = only(plan_of([campaign("a", contacts=CONTACTS)], current))
        assert listed.requests[-1].body["contacts"] == CONTACTS

    def test_contacts_dropped_from_the_file_are_cleared_with_an_empty_list(self) -> None:
        current = state(a=applied(ID_A, campaign("a", contacts=CONTACTS)))
        item = only(plan_of([campaign("a")], current))
        assert item.requests[-1].body["contacts"] == []
        (change,) = item.changes
        assert change.items is not None
        assert len(change.items.removed) == len(CONTACTS)

    def test_a_list_change_grows_with_the_change_not_with_the_list(self) -> None:
        people = [{"name": f"P{n}", "email": f"p{n}@example.org"} for n in range(500)]
        before = campaign("a", contacts=people)
        after = campaign("a", contacts=[*people[:-1], {"name": "New", "email": "new@example.org"}])
        current = state(a=applied(ID_A, before))
        item = only(plan_of([after], current))
        (change,) = item.changes
        assert (change.old, change.new) == (None, None)
        gone = current.printer.identity({"email": "p499@example.org"})
        assert change.items == ListDiff(
            added=("new@example.org",), removed=(gone,), fingerprinted=True
        )
        assert "p0@example.org" not in json.dumps([c.model_dump() for c in item.changes])
        assert item.requests[0].body["contacts"][-1]["email"] == "new@example.org"


class TestTargets:
    def test_globs_limit_the_plan_and_mark_it_partial(self) -> None:
        current = state(gone__x=applied(ID_A, {"name": "x"}), hr__gone=applied(ID_B, {"name": "y"}))
        plan = plan_of([campaign("hr/a"), campaign("ops/b")], current, targets=["hr/*"])
        assert [item.key for item in plan.campaigns] == ["hr/a", "hr/gone"]
        assert plan.partial
        assert plan.targets == ("hr/*",)

    def test_without_targets_the_plan_is_whole(self) -> None:
        assert not plan_of([campaign("a")]).partial


class TestDocument:
    def test_records_state_lineage_serial_api_and_workspace(self) -> None:
        document = plan_of([campaign("a")]).document()
        assert document["format_version"] == 1
        assert (document["state_lineage"], document["state_serial"]) == (
            "5a0d6a4e-3a56-4bd4-a3e1-0b1f7b3f2c9d",
            7,
        )
        assert (document["api_url"], document["workspace_id"]) == (API_URL, WORKSPACE)
        assert document["counts"] == {
            "create": 1,
            "adopt": 0,
            "patch": 0,
            "finalize": 0,
            "start": 0,
            "no-op": 0,
            "orphan": 0,
        }

    def test_digest_is_stable_and_follows_content(self) -> None:
        first = plan_of([campaign("a", goal="x")])
        assert plan_of([campaign("a", goal="x")]).digest == first.digest
        assert plan_of([campaign("a", goal="y")]).digest != first.digest

    def test_the_digest_never_covers_what_a_refresh_observed(self) -> None:
        current = state(a=applied(ID_A, {"name": "a", "goal": "old"}))
        edited = [campaign("a", goal="new")]
        seen = {"name": "a", "goal": "old"}
        offline = plan_of(edited, current)
        for remote in (
            read_remote([{"id": ID_A, "updated_at": "2026-11-01T10:00:00Z", **seen}]),
            read_remote([{"id": ID_A, "updated_at": "2026-11-02T10:00:00Z", "name": "b"}]),
            read_remote([]),
        ):
            refreshed = plan_of(edited, current, remote=remote)
            assert refreshed.refreshed
            assert only(refreshed).drift is not None
            assert refreshed.digest == offline.digest
        # What Ontora reports of people: for an active campaign, in the plan's people.
        launched = state(a=applied(ID_A, {**seen, "status": "active"}))
        edited_live = [campaign("a", goal="new", status="active")]
        offline_live = plan_of(edited_live, launched)
        for counts in (
            {"contact_count": 60, "scheduled_count": 3, "completed_count": 57},
            {"contact_count": 61, "scheduled_count": 0, "completed_count": 61},
        ):
            remote = read_remote([{"id": ID_A, "status": "active", **counts, **seen}])
            refreshed = plan_of(edited_live, launched, remote=remote)
            assert only(refreshed).audience.contact_count == counts["contact_count"]
            assert refreshed.digest == offline_live.digest
        assert plan_of(edited, state(a=applied(ID_B, seen))).digest != offline.digest
        assert plan_of(edited, current, targets=["a*"]).digest != offline.digest
        elsewhere = build_plan(edited, current, api_url="https://x.example", workspace_id=WORKSPACE)
        assert elsewhere.digest != offline.digest

    def test_a_document_round_trips_into_the_same_plan(self) -> None:
        plan = plan_of([campaign("a", topics=TOPICS)], state(b=applied(ID_A, {"name": "b"})))
        assert Plan.model_validate(json.loads(json.dumps(plan.document()))) == plan

    def test_a_plan_without_its_changed_campaign_counts_and_digests_what_is_left(self) -> None:
        current = state(
            a=applied(ID_A, {"name": "a", "goal": "old"}), b=applied(ID_B, {"name": "b"})
        )
        plan = plan_of([campaign("a", goal="new"), campaign("b")], current)
        assert plan.has_changes
        assert plan.counts.patch == 1
        rest = plan.without(["a"])
        assert [item.key for item in rest.campaigns] == ["b"]
        assert not rest.has_changes
        assert (rest.counts.patch, rest.counts.no_op) == (0, 1)
        assert rest.document()["counts"]["patch"] == 0
        assert rest.digest == content_digest(rest) != plan.digest

    @pytest.mark.parametrize(
        ("name", "value"),
        [("has_changes", False), ("counts", {"create": 0}), ("digest", "0" * 64)],
    )
    def test_a_saved_plan_whose_derived_values_disagree_is_refused(
        self, name: str, value: Any
    ) -> None:
        document = plan_of([campaign("a")]).document()
        assert Plan.model_validate(document).digest == document["digest"]
        if name == "counts":
            value = document["counts"] | value
        with pytest.raises(ValidationError, match="changed after it was made"):
            Plan.model_validate(document | {name: value})

    def test_a_saved_plan_whose_requests_were_edited_is_refused(self) -> None:
        document = plan_of([campaign("a", goal="G")]).document()
        document["campaigns"][0]["requests"][0]["body"]["goal"] = "edited"
        with pytest.raises(ValidationError, match="changed after it was made"):
            Plan.model_validate_json(json.dumps(document))

    def test_a_saved_plan_without_its_digest_is_refused(self) -> None:
        document = plan_of([campaign("a", goal="G")]).document()
        document["campaigns"][0]["requests"][0]["body"]["goal"] = "edited"
        del document["digest"]
        with pytest.raises(ValidationError, match="digest"):
            Plan.model_validate_json(json.dumps(document))

    def test_a_plan_read_back_from_its_file_is_checked_like_any_saved_plan(self) -> None:
        plan = plan_of([campaign("a", goal="G")])
        document = plan.document()
        assert Plan.from_saved(json.dumps(document).encode()) == plan
        edited = copy.deepcopy(document)
        edited["campaigns"][0]["requests"][0]["body"]["goal"] = "edited"
        with pytest.raises(ValidationError, match="changed after it was made"):
            Plan.from_saved(json.dumps(edited).encode())
        del edited["digest"]
        with pytest.raises(ValidationError, match="digest"):
            Plan.from_saved(json.dumps(edited).encode())
        with pytest.raises(ValueError, match=r"EOF|expected"):
            Plan.from_saved(json.dumps(document).encode()[:-10])

    def test_a_number_too_large_to_be_finite_in_a_saved_plan_is_an_edit(self) -> None:
        # 1e400 reads as infinity, which a digest of nulls for what JSON cannot carry
        # would take for the null this request sends to clear a field.
        before = campaign("a", goal="old", description="D")
        plan = plan_of([campaign("a", goal="old")], state(a=applied(ID_A, before)))
        saved = json.dumps(plan.document())
        assert Plan.from_saved(saved.encode()) == plan
        edited = saved.replace('"body": {"description": null}', '"body": {"description": 1e400}')
        assert edited != saved
        with pytest.raises(ValidationError, match="not finite"):
            Plan.from_saved(edited.encode())

    def test_a_saved_plan_may_not_send_what_state_could_not_read_back(self) -> None:
        def nested(levels: int) -> Any:
            value: Any = 1
            for _ in range(levels):
                value = {"k": value}
            return value

        plan = plan_of([campaign("a", goal="G")])
        document = plan.document()
        del document["digest"]  # as if made anew by hand
        body = document["campaigns"][0]["requests"][0]["body"]
        for value, says in (
            (nested(MAX_DEPTH - 4), "goal: it nests values deeper than 95 levels"),
            (math.inf, "goal: it holds a number that is not finite"),
        ):
            body["goal"] = value
            with pytest.raises(ValidationError, match=says):
                Plan.model_validate(document)
        body["goal"] = nested(63)  # as deep as a campaign file may nest, and contacts deeper
        body["contacts"] = [{"name": "A", "x": nested(MAX_DEPTH)}]
        assert Plan.model_validate(document).campaigns[0].requests[0].body["goal"]

    def test_plans_are_frozen(self) -> None:
        with pytest.raises(ValidationError):
            plan_of([campaign("a")]).has_changes = False  # type: ignore[misc]


# --- For any valid campaign, a state that last applied it plans nothing ----------------

texts = st.text(min_size=1, max_size=20)
optional_ints = st.none() | st.integers(min_value=0, max_value=10_000)
topics = st.lists(
    st.fixed_dictionaries(
        {"name": texts},
        optional={
            "goal": st.none() | texts,
            "priority": optional_ints,
            "success_threshold": st.floats(min_value=0, max_value=1),
            "subtopics": st.lists(texts, max_size=3),
        },
    ),
    max_size=4,
    unique_by=lambda topic: str(topic["name"]),
)
contacts = st.lists(
    st.fixed_dictionaries(
        {"name": texts},
        optional={
            "email": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(org|com)", fullmatch=True),
            "phone": st.none() | texts,
            "is_required": st.booleans(),
            "seniority_level": optional_ints,
        },
    ),
    max_size=5,
)
campaign_fields = st.fixed_dictionaries(
    {"name": texts},
    optional={
        "goal": st.none() | texts,
        "project_context": texts,
        "interview_duration_minutes": optional_ints,
        "start_immediately": st.booleans(),
        "timeframe_start": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        "followup_intervals_hours": st.lists(st.integers(min_value=0, max_value=999), max_size=3),
        "topics": topics,
        "contacts": contacts,
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        "weekly_availability": st.dictionaries(texts, st.lists(texts, max_size=2), max_size=2),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaign_fields)
def test_a_campaign_planned_against_its_own_last_applied_copy_is_empty(
    fields: dict[str, Any],
) -> None:
    try:
        desired = campaign("a", **fields)
    except ValidationError:
        return  # e.g. two contacts with the same email: not a valid campaign
    plan = plan_of([desired], state(a=applied(ID_A, desired)))
    assert only(plan).action is Action.NO_OP
    assert not plan.has_changes
