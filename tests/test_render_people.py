"""The people lines and the plan's total line, in text, JSON and Markdown (golden files)."""

from __future__ import annotations

import json

from campaignsync.drift import read_remote
from campaignsync.plan import Plan
from campaignsync.planner import build_plan
from campaignsync.render import render_json, render_text
from campaignsync.render_markdown import render_markdown
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state
from tests.test_cli_validate import assert_golden

ID_C = "33333333-3333-4333-8333-333333333333"
QUESTIONS = [{"text": "What slows you down?"}, {"text": "What would you keep?"}]
CONTACTS = [
    {"name": "Dana Whitfield", "email": "dana.whitfield@example.org"},
    {"name": "Marek Kowalski", "phone": "+48 61 555 0199"},
    {"name": "Aisha Bello", "email": "aisha.bello@example.org", "job_title": "Picker"},
]


def listed(interview_id: str, name: str, status: str, *counts: int) -> dict[str, object]:
    names = ("contact_count", "scheduled_count", "completed_count")
    reported = dict(zip(names, counts, strict=True))
    return {"id": interview_id, "name": name, "status": status, **reported}


def people_plan() -> Plan:
    """An active campaign with interviews held whose questions change, a draft whose
    contacts change, and an active campaign left as it is, planned with --refresh."""
    live = campaign("ops/live", questions=QUESTIONS, contacts=CONTACTS, status="active")
    draft = campaign("hr/draft", contacts=CONTACTS[:2])
    steady = campaign("hr/steady", contacts=CONTACTS[:1], status="active")
    remote = read_remote(
        [
            listed(ID_A, "ops/live", "active", 412, 300, 57),
            listed(ID_B, "hr/draft", "draft", 2, 0, 0),
            listed(ID_C, "hr/steady", "active", 1, 0, 1),
        ]
    )
    asked = [QUESTIONS[0], {"text": "What is missing?"}]
    recontacted = [{**CONTACTS[1], "job_title": "Driver"}, CONTACTS[2]]
    return build_plan(
        [
            campaign("ops/live", questions=asked, contacts=CONTACTS, status="active"),
            campaign("hr/draft", contacts=recontacted),
            steady,
        ],
        state(
            ops__live=applied(ID_A, live),
            hr__draft=applied(ID_B, draft),
            hr__steady=applied(ID_C, steady),
        ),
        api_url=API_URL,
        workspace_id=WORKSPACE,
        remote=remote,
    )


def test_text() -> None:
    assert_golden("plan_people.txt", render_text(people_plan()))


def test_markdown() -> None:
    assert_golden("plan_people.md", render_markdown(people_plan()))


def test_json() -> None:
    output = render_json(people_plan())
    assert_golden("plan_people.json", output)
    assert Plan.model_validate_json(output) == people_plan()
    document = json.loads(output)
    assert document["people_affected"] == 415
    assert [item["audience"]["affected"] for item in document["campaigns"]] == [3, 0, 412]


def test_only_a_campaign_with_requests_has_a_people_line() -> None:
    output = render_markdown(people_plan(), show_sensitive=True)
    assert output.count("people: ") == 2
    assert "hr/steady" not in output
