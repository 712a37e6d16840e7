"""Plan renderers: golden files for text and JSON, and what every format says alike."""

from __future__ import annotations

import json
import re

from campaignsync.drift import read_remote
from campaignsync.plan import Plan
from campaignsync.planner import build_plan
from campaignsync.render import render_json, render_text
from campaignsync.render_markdown import render_markdown
from campaignsync.state import Entry, PendingCreate
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state
from tests.test_cli_validate import assert_golden

ID_C = "33333333-3333-4333-8333-333333333333"
ID_D = "55555555-5555-4555-8555-555555555555"


def mixed_plan() -> Plan:
    """One campaign of every action, with list changes of every kind."""
    topics = [{"name": "Safety", "priority": 1}, {"name": "Tools"}]
    contacts = [
        {"name": "Dana Whitfield", "email": "dana.whitfield@example.org"},
        {"name": "Marek Kowalski", "phone": "+48 61 555 0199"},
        {"name": "Aisha Bello", "email": "aisha.bello@example.org", "job_title": "Picker"},
    ]
    before = campaign("ops/safety", project_context="v1", topics=topics, contacts=contacts)
    after = campaign(
        "ops/safety",
        project_context="v2",
        topics=[{"name": "Tools"}, {"name": "Safety", "priority": 2}, {"name": "Morale"}],
        contacts=[
            {"name": "Aisha Bello", "email": "aisha.bello@example.org", "job_title": "Shift Lead"},
            contacts[0],
            {"name": "Jonas Becker", "email": "jonas.becker@example.org"},
        ],
    )
    patched_before = campaign("hr/survey", goal="Old goal", description="Gone soon")
    unchanged = campaign("hr/steady", goal="Same")
    pending = Entry(pending_create=PendingCreate(idempotency_key="6d1f", started_at="t"))
    return build_plan(
        [
            campaign("new/one", goal="Learn `things`", contacts=contacts[:1], topics=topics[:1]),
            campaign("adopted", interview_id=ID_D, goal="Adopt me"),
            campaign("hr/survey", goal="New goal"),
            after,
            unchanged,
            campaign("resumed"),
        ],
        state(
            hr__survey=applied(ID_A, patched_before),
            ops__safety=applied(ID_B, before),
            hr__steady=applied(ID_C, unchanged),
            gone=applied("44444444-4444-4444-8444-444444444444", {"name": "gone"}),
            resumed=pending,
        ),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )


def test_text() -> None:
    assert_golden("plan.txt", render_text(mixed_plan()))


def test_text_colour_marks_lines_by_action() -> None:
    coloured = render_text(mixed_plan(), colour=True)
    assert "\x1b[32m+ new/one" in coloured
    assert "\x1b[31m- gone" in coloured
    assert re.sub(r"\x1b\[\d+m", "", coloured) == render_text(mixed_plan())


def test_json() -> None:
    output = render_json(mixed_plan())
    assert_golden("plan.json", output)
    assert Plan.model_validate(json.loads(output)) == mixed_plan()


def test_no_changes() -> None:
    same = campaign("a")
    plan = build_plan([same], state(a=applied(ID_A, same)), api_url=API_URL, workspace_id=WORKSPACE)
    assert render_text(plan) == (
        "No changes. The campaign files match what was last applied; Ontora was not read "
        "(`plan --refresh` compares with it).\n\n"
        "Plan: 0 to create, 0 to patch, 0 to finalize, 1 unchanged, 0 orphaned.\n"
    )
    assert "No changes." in render_markdown(plan)


def test_no_changes_says_what_it_was_compared_with_and_never_that_ontora_matches_unseen() -> None:
    same = campaign("a", goal="G")
    current = state(a=applied(ID_A, same), b=applied(ID_B, campaign("b", goal="H")))
    files = [same, campaign("b", goal="H")]
    seen = [{"id": ID_A, "name": "a", "goal": "G"}, {"id": ID_B, "name": "b", "goal": "H"}]

    def plan(*answer: dict[str, str]) -> Plan:
        remote = read_remote(list(answer)) if answer else None
        return build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE, remote=remote)

    offline, matching = plan(), plan(*seen)
    assert render_text(offline).startswith(
        "No changes. The campaign files match what was last applied; Ontora was not read "
        "(`plan --refresh` compares with it).\n"
    )
    assert render_text(matching).startswith("No changes. Ontora matches the campaign files.\n")
    for edited in (plan(seen[0] | {"goal": "Edited in the web app"}, seen[1]), plan(seen[1])):
        text, markdown = render_text(edited), render_markdown(edited)
        assert "Ontora matches" not in text + markdown
        assert text.startswith("No changes to apply, but Ontora differs from the campaign files")
        assert "No changes to apply, but Ontora differs" in markdown
        assert "Edited in Ontora, nothing to send:" in text
        assert "  a (campaigns/a.yaml)" in text
        assert "`a`" in markdown
    assert '! theirs   goal: Ontora has "Edited in the web app" (last applied "G")' in (
        render_text(plan(seen[0] | {"goal": "Edited in the web app"}, seen[1]))
    )
    assert "Ontora no longer lists campaign" in render_text(plan(seen[1]))


def test_a_campaign_edited_in_ontora_with_nothing_to_send_is_shown_beside_the_changes() -> None:
    current = state(a=applied(ID_A, campaign("a", goal="G")), b=applied(ID_B, campaign("b")))
    remote = read_remote([{"id": ID_A, "name": "a", "goal": "G"}, {"id": ID_B, "name": "Edited"}])
    plan = build_plan(
        [campaign("a", goal="New"), campaign("b")],
        current,
        api_url=API_URL,
        workspace_id=WORKSPACE,
        remote=remote,
    )
    text, markdown = render_text(plan), render_markdown(plan)
    assert "~ a (campaigns/a.yaml)" in text
    assert "Edited in Ontora, nothing to send:" in text
    assert '! theirs   name: Ontora has "Edited" (last applied "b")' in text
    assert "Edited in Ontora, nothing to send" in markdown
    assert "`b` (name)" in markdown


def test_a_key_cannot_forge_a_line_in_text_or_markdown() -> None:
    key = "x\n::error file=y::forged\r"
    plan = build_plan([campaign(key, goal="G")], state(), api_url=API_URL, workspace_id=WORKSPACE)
    for output in (render_text(plan), render_markdown(plan)):
        assert not any(line.startswith("::error") for line in output.splitlines())
        assert "\r" not in output


def test_a_likely_rename_is_said_in_every_format() -> None:
    plan = build_plan(
        [campaign("people/pulse", name="Pulse")],
        state(hr__pulse=applied(ID_A, {"name": "Pulse"})),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    command = "campaignsync state mv hr/pulse people/pulse"
    text = render_text(plan)
    assert (
        f"    ! people/pulse looks like hr/pulse renamed (same name or file name): run `{command}`"
        in text
    )
    markdown = render_markdown(plan)
    assert "> **Renamed?** people/pulse looks like hr/pulse renamed" in markdown
    assert f"<code>{command}</code>" in markdown
    document = json.loads(render_json(plan))
    assert [item["moved_from"] for item in document["campaigns"]] == [None, "hr/pulse"]
    assert command in document["campaigns"][0]["reason"]
    tiny = render_markdown(plan, max_chars=2_000)
    assert "**Renamed?**" in tiny


def test_contacts_a_lost_request_sent_are_counted_where_the_plan_clears_them() -> None:
    # State keeps only the number of contacts a request whose answer never came sent:
    # clearing the list may remove that many people from Ontora, and every format says so.
    sent_once = applied(ID_A, campaign("ops/safety")).model_copy(
        update={"unconfirmed": {"contacts": {"count": 3}}}
    )
    plan = build_plan(
        [campaign("ops/safety")],
        state(**{"ops/safety": sent_once}),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    (item,) = plan.campaigns
    assert item.requests[0].body["contacts"] == []
    assert item.audience.removed == 3
    assert "- 3 contacts sent by a request whose answer never came" in render_text(plan)
    assert "| -3 | 3 |" in render_markdown(plan)
