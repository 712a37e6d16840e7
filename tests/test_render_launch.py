"""Launches in every format: the banner first, the counts, and edits that may be refused."""

from __future__ import annotations

import json

from campaignsync.plan import Plan
from campaignsync.planner import build_plan
from campaignsync.render import render_json, render_text
from campaignsync.render_markdown import render_markdown
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, applied, campaign, state
from tests.test_cli_validate import assert_golden

CONTACTS = [
    {"name": "Dana Whitfield", "email": "dana.whitfield@example.org"},
    {"name": "Marek Kowalski", "phone": "+48 61 555 0199"},
]


def launch_plan() -> Plan:
    """A create launched at once, a draft launched, an edit of an active campaign, a patch."""
    live = campaign("ops/live", status="active", goal="Old", contacts=CONTACTS)
    return build_plan(
        [
            campaign("zz/new", status="active", contacts=CONTACTS[:1]),
            campaign("hr/launch", status="active", contacts=CONTACTS),
            campaign("ops/live", status="active", goal="New", contacts=CONTACTS),
            campaign("aa/draft", goal="Edited"),
        ],
        state(
            hr__launch=applied(ID_A, campaign("hr/launch", contacts=CONTACTS)),
            ops__live=applied(ID_B, live),
            aa__draft=applied("33333333-3333-4333-8333-333333333333", campaign("aa/draft")),
        ),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )


def test_text() -> None:
    output = render_text(launch_plan())
    assert_golden("plan_launch.txt", output)
    assert output.startswith("Launching 2 campaigns: Ontora will start contacting 3 people.\n")
    blocks = [line for line in output.splitlines() if line[:2] in ("+ ", "~ ")]
    assert [line.split()[1] for line in blocks] == ["hr/launch", "zz/new", "aa/draft", "ops/live"]
    assert "! ops/live is active in Ontora: it may refuse these edits" in output


def test_json() -> None:
    output = render_json(launch_plan())
    assert_golden("plan_launch.json", output)
    document = json.loads(output)
    assert list(document)[:2] == ["launches", "people_contacted"]
    assert (document["launches"], document["people_contacted"]) == (["hr/launch", "zz/new"], 3)
    assert Plan.model_validate(document) == launch_plan()


def test_markdown() -> None:
    output = render_markdown(launch_plan())
    assert_golden("plan_launch.md", output)
    marker, alert, banner = output.splitlines()[:3]
    assert marker.startswith("<!-- campaignsync-plan digest=")
    assert (alert, banner) == (
        "> [!WARNING]",
        "> **Launching 2 campaigns: Ontora will start contacting 3 people.**",
    )
    assert output.index("[!WARNING]") < output.index("| Campaign |")
    assert "**Edits may be refused:** ops/live is active in Ontora" in output


def test_markdown_keeps_the_banner_within_a_small_budget() -> None:
    output = render_markdown(launch_plan(), max_chars=2_000)
    assert len(output) <= 2_000
    assert "Launching 2 campaigns" in output.splitlines()[2]


def test_one_campaign_and_one_person_read_as_such() -> None:
    plan = build_plan(
        [campaign("a", status="active", contacts=CONTACTS[:1])],
        state(),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    assert render_text(plan).startswith(
        "Launching 1 campaign: Ontora will start contacting 1 person.\n"
    )


def test_a_plan_without_its_launches_says_they_are_left_for_later() -> None:
    held = launch_plan().without_launches()
    output = render_text(held)
    assert output.startswith("Not launching (--no-launch): hr/launch, zz/new.")
    assert "Launching" not in output
    assert "> Not launching (--no-launch): hr/launch, zz/new." in render_markdown(held)
