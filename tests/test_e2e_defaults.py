"""End to end: folder defaults, nested and overridden, through the real CLI and emulator."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from tests.emulator_harness import Trial

TREE = {
    "_defaults.yaml": """
        channel: google_meet
        welcome_screen: Hello
        closing_message: Thank you
        topics: [{name: Pay}]
    """,
    "hr/_defaults.yaml": """
        channel: phone
        contacts_file: people.csv
    """,
    "hr/people.csv": "name,email\nAnn,ann@example.org\n",
    "hr/a.yaml": """
        name: A
        questions: [{text: Why?, topic: Pay}]
    """,
    "hr/team/b.yaml": """
        name: B
        welcome_screen: Welcome to B
    """,
    "ops/c.yaml": "name: C\n",
}


@pytest.fixture
def tree(trial: Trial) -> Trial:
    """A campaigns folder of nested defaults and overrides, applied once."""
    campaigns = trial.root / "campaigns"
    shutil.rmtree(campaigns)
    for relative, text in TREE.items():
        path = campaigns / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    result = trial.apply()
    assert result.returncode == 0, result.stdout + result.stderr
    return trial


def test_the_requests_carry_the_inherited_values(tree: Trial) -> None:
    remote = tree.emulator.campaigns()
    a, b, c = (remote[tree.interview_id(key)] for key in ("hr/a", "hr/team/b", "ops/c"))
    assert (a["channel"], a["welcome_screen"], a["closing_message"]) == (
        "phone",
        "Hello",
        "Thank you",
    )
    assert [contact["email"] for contact in a["contacts"]] == ["ann@example.org"]
    assert [topic["name"] for topic in a["topics"]] == ["Pay"]
    assert [question["topic"] for question in a["questions"]] == ["Pay"]
    assert (b["channel"], b["welcome_screen"]) == ("phone", "Welcome to B")
    assert [contact["email"] for contact in b["contacts"]] == ["ann@example.org"]
    assert (c["channel"], c["welcome_screen"]) == ("google_meet", "Hello")
    assert not c.get("contacts")
    tree.converged()


def test_a_defaults_edit_plans_every_campaign_below_it_and_only_those(tree: Trial) -> None:
    tree.sent()
    tree.edit("hr/_defaults.yaml", "channel: phone", "channel: microsoft_teams")
    document = json.loads(tree.cli("plan", "--format", "json").stdout)
    changed = {item["key"]: item["reason"] for item in document["campaigns"] if item["requests"]}
    reason = "patch: channel changed (channel from campaigns/hr/_defaults.yaml)"
    assert changed == {"hr/a": reason, "hr/team/b": reason}
    assert reason in tree.cli("plan").stdout
    assert "from campaigns/hr/_defaults.yaml" in tree.cli("plan", "--format", "markdown").stdout

    assert tree.apply().returncode == 0
    sent = sorted(tree.sent())
    assert sent == sorted(
        ("PATCH", f"/v1/campaign-creation/{tree.interview_id(key)}/draft", body)
        for key, body in [
            ("hr/a", {"channel": "microsoft_teams"}),
            ("hr/team/b", {"channel": "microsoft_teams"}),
        ]
    )
    tree.converged()


def test_a_bad_inherited_value_is_told_once_at_its_line(tree: Trial) -> None:
    tree.edit("_defaults.yaml", "closing_message: Thank you", "closing_message: [Thank you]")
    result = tree.cli("validate")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "campaigns/_defaults.yaml:3:18: closing_message: expected a string, got a list",
        "1 problem(s) in 1 file(s).",
    ]
