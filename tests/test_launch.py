"""Planning a campaign's status: the start that launches it, and the people it contacts."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from campaignsync.campaign import CampaignFile
from campaignsync.drift import read_remote
from campaignsync.errors import ApiError, PlanError
from campaignsync.launch import known_status, send_start
from campaignsync.ontora import OntoraClient
from campaignsync.plan import INTERVIEW_ID, Action, Plan
from campaignsync.planner import build_plan
from campaignsync.spec import Campaign
from campaignsync.state import Entry, State
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state

CONTACTS = [
    {"name": "Ann", "email": "ann@example.org"},
    {"name": "Bob", "phone": "+1 555 0100"},
]


def plan_of(campaigns: list[CampaignFile], current: State | None = None, **options: Any) -> Plan:
    return build_plan(
        campaigns, current or state(), api_url=API_URL, workspace_id=WORKSPACE, **options
    )


def calls(plan: Plan, key: str) -> list[tuple[str, str]]:
    (item,) = [item for item in plan.campaigns if item.key == key]
    return [(request.method, request.path) for request in item.requests]


def listed(interview_id: str, status: str) -> dict[str, Any]:
    return {"id": interview_id, "workspace_id": WORKSPACE, "name": "x", "status": status}


def test_a_launch_of_a_file_unchanged_since_applied_counts_every_contact() -> None:
    # An unchanged file is read back as last applied: its contacts are fingerprints then.
    people = [{"name": f"P{n}", "email": f"p{n}@example.org"} for n in range(5)]
    active = campaign("a", status="active", contacts=people)
    current = state(a=applied(ID_A, active))
    unchanged = dataclasses.replace(active, managed=current.campaigns["a"].last_applied)
    # Ontora lists it draft again, though state says it was started.
    plan = plan_of([unchanged], current, remote=read_remote([listed(ID_A, "draft")]))
    (item,) = plan.campaigns
    assert item.launches
    assert (item.people, plan.people_contacted) == (5, 5)


def test_a_new_active_campaign_is_created_then_started_last() -> None:
    plan = plan_of([campaign("a", status="active", contacts=CONTACTS, goal="G")])
    (item,) = plan.campaigns
    assert item.action is Action.CREATE
    assert calls(plan, "a") == [
        ("POST", "/v1/interviews"),
        ("PUT", f"/v1/campaign-creation/{INTERVIEW_ID}/finalize"),
        ("POST", f"/v1/interviews/{INTERVIEW_ID}/start"),
    ]
    start = item.requests[-1]
    assert (start.starts, start.body) == (True, {})
    assert all("status" not in request.body for request in item.requests)
    assert (item.launches, item.people) == (True, 2)
    assert (plan.launches, plan.people_contacted, plan.counts.create) == (("a",), 2, 1)


def test_a_draft_in_state_set_active_plans_only_a_start() -> None:
    draft = campaign("a", contacts=CONTACTS)
    plan = plan_of(
        [campaign("a", status="active", contacts=CONTACTS)], state(a=applied(ID_A, draft))
    )
    (item,) = plan.campaigns
    assert item.action is Action.START
    assert calls(plan, "a") == [("POST", f"/v1/interviews/{ID_A}/start")]
    assert [(c.field, c.old, c.new) for c in item.changes] == [("status", "draft", "active")]
    assert plan.counts.start == 1


def test_an_edit_and_a_start_send_the_edit_first() -> None:
    draft = campaign("a", goal="old")
    plan = plan_of([campaign("a", goal="new", status="active")], state(a=applied(ID_A, draft)))
    assert calls(plan, "a") == [
        ("PATCH", f"/v1/campaign-creation/{ID_A}/draft"),
        ("POST", f"/v1/interviews/{ID_A}/start"),
    ]
    (item,) = plan.campaigns
    assert item.action is Action.PATCH
    assert item.requests[0].body == {"goal": "new"}


def test_an_active_campaign_as_last_applied_plans_no_start_and_no_change() -> None:
    active = campaign("a", status="active", contacts=CONTACTS)
    plan = plan_of([active], state(a=applied(ID_A, active)))
    assert (plan.campaigns[0].action, plan.launches, plan.people_contacted) == (
        Action.NO_OP,
        (),
        0,
    )


def test_an_explicit_draft_is_the_default_and_no_change() -> None:
    plan = plan_of([campaign("a", status="draft")], state(a=applied(ID_A, campaign("a"))))
    assert plan.campaigns[0].action is Action.NO_OP
    assert not plan.has_changes


def test_active_back_to_draft_fails_the_plan() -> None:
    active = campaign("a", status="active")
    for back in (campaign("a"), campaign("a", status="draft")):
        with pytest.raises(PlanError, match="no documented call moves a campaign back to draft"):
            plan_of([back], state(a=applied(ID_A, active)))


def test_with_refresh_the_listed_status_decides() -> None:
    draft = campaign("a")
    current = state(a=applied(ID_A, draft), b=applied(ID_B, campaign("b")))
    remote = read_remote([listed(ID_A, "active"), listed(ID_B, "draft")])
    files = [campaign("a", status="active"), campaign("b", status="active")]
    plan = plan_of(files, current, remote=remote)
    assert plan.launches == ("b",)  # a is active in Ontora already
    with pytest.raises(PlanError, match="back to draft"):
        plan_of([draft], current, remote=remote)


def test_a_start_whose_answer_never_came_is_planned_again() -> None:
    entry = applied(ID_A, campaign("a")).model_copy(update={"unconfirmed": {"status": "active"}})
    plan = plan_of([campaign("a", status="active")], state(a=entry))
    assert calls(plan, "a") == [("POST", f"/v1/interviews/{ID_A}/start")]
    assert plan.campaigns[0].status is None
    with pytest.raises(PlanError, match="plan --refresh"):
        plan_of([campaign("a")], state(a=entry))


def test_an_adopted_active_campaign_is_started_after_its_edits() -> None:
    plan = plan_of([campaign("a", interview_id=ID_A, goal="G", status="active")])
    assert calls(plan, "a")[-1] == ("POST", f"/v1/interviews/{ID_A}/start")


def test_edits_of_an_active_campaign_are_marked_as_maybe_locked() -> None:
    active = campaign("a", status="active", goal="old")
    plan = plan_of([campaign("a", status="active", goal="new")], state(a=applied(ID_A, active)))
    assert plan.campaigns[0].edits_may_be_locked
    draft = campaign("a", goal="old")
    plan = plan_of([campaign("a", goal="new")], state(a=applied(ID_A, draft)))
    assert not plan.campaigns[0].edits_may_be_locked


def test_launches_and_people_survive_a_save_and_refuse_an_edit() -> None:
    plan = plan_of([campaign("a", status="active", contacts=CONTACTS), campaign("b")])
    document = plan.document()
    assert (document["launches"], document["people_contacted"]) == (["a"], 2)
    assert Plan.model_validate_json(plan.model_dump_json(by_alias=True)) == plan
    document["people_contacted"] = 0
    with pytest.raises(ValidationError, match="changed after it was made"):
        Plan.model_validate(document)
    document = plan.document()
    document["campaigns"][0]["launches"] = False
    with pytest.raises(ValidationError, match="changed after it was made"):
        Plan.model_validate(document)


def test_a_plan_without_launches_holds_them_back() -> None:
    draft = campaign("b", goal="old")
    files = [campaign("a", status="active"), campaign("b", goal="new", status="active")]
    plan = plan_of(files, state(a=applied(ID_A, campaign("a")), b=applied(ID_B, draft)))
    held = plan.without_launches()
    assert (held.launches, held.launches_held, held.people_contacted) == ((), ("a", "b"), 0)
    first, second = held.campaigns
    assert (first.action, first.requests) == (Action.NO_OP, ())
    assert calls(held, "b") == [("PATCH", f"/v1/campaign-creation/{ID_B}/draft")]
    assert second.source_digest is None  # not fully applied: the next plan starts it
    assert held.digest != plan.digest


@pytest.mark.parametrize("status", ["paused", "completed"])
def test_paused_and_completed_are_refused_as_undocumented(status: str) -> None:
    with pytest.raises(ValidationError, match="no documented call"):
        Campaign.model_validate({"name": "a", "status": status})


def test_the_status_of_a_state_entry_is_the_last_applied_one() -> None:
    assert known_status(None, None) == "draft"
    assert known_status(Entry(interview_id=ID_A, last_applied={"status": "active"}), None) == (
        "active"
    )
    assert known_status(Entry(interview_id=ID_A), "paused") == "paused"


class StartingOntora:
    """Answers a start with `start_status`, and lists campaign ID_A as `listed_status`."""

    def __init__(self, start_status: int, listed_status: str | None) -> None:
        self.start_status, self.listed_status = start_status, listed_status
        self.seen: list[tuple[str, str, bytes, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        self.seen.append((request.method, request.url.path, request.content, key))
        if request.method == "GET":
            listing = [] if self.listed_status is None else [listed(ID_A, self.listed_status)]
            return httpx.Response(200, json=listing)
        if self.start_status == 409:
            detail = {"detail": "Campaign is active, not draft", "code": "campaign_locked"}
            return httpx.Response(409, json=detail)
        return httpx.Response(self.start_status, json={"interview": {}, "scheduled_count": 2})


def start_with(fake: StartingOntora, workspace_id: str | None = WORKSPACE) -> None:
    client = OntoraClient(
        API_URL, token="t", transport=httpx.MockTransport(fake), sleep=lambda _: None, max_retries=0
    )
    send_start(client, f"/v1/interviews/{ID_A}/start", ID_A, workspace_id)


def test_a_start_is_a_post_without_a_body() -> None:
    fake = StartingOntora(200, None)
    start_with(fake)
    ((method, path, content, key),) = fake.seen
    assert (method, path, content) == ("POST", f"/v1/interviews/{ID_A}/start", b"")
    assert key  # a POST is retried only with an Idempotency-Key


def test_a_409_start_of_a_campaign_listed_active_is_done() -> None:
    fake = StartingOntora(409, "active")
    start_with(fake)
    assert [(method, path) for method, path, _, _ in fake.seen] == [
        ("POST", f"/v1/interviews/{ID_A}/start"),
        ("GET", "/v1/interviews"),
    ]


@pytest.mark.parametrize(("listed_status", "shown"), [("paused", "as paused"), (None, "no longer")])
def test_a_409_start_of_a_campaign_not_active_is_an_error(
    listed_status: str | None, shown: str
) -> None:
    with pytest.raises(ApiError, match=f"409.*{shown}.*not launched"):
        start_with(StartingOntora(409, listed_status))


def test_a_409_start_without_a_workspace_says_what_to_set() -> None:
    with pytest.raises(ApiError, match="ONTORA_WORKSPACE_ID"):
        start_with(StartingOntora(409, "active"), workspace_id=None)
