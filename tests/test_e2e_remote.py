"""End to end: drift, plan --refresh, the remote-change guard and import, over loopback."""

from __future__ import annotations

import json

import pytest

from tests.emulator_harness import Trial, delete_remotely, web_app_edit


def mutating(trial: Trial) -> list[tuple[str, str, object]]:
    return [request for request in trial.sent() if request[0] != "GET"]


def test_drift_in_sync_after_apply(applied: Trial) -> None:
    result = applied.cli("drift", "--detailed-exitcode")
    assert result.returncode == 0, result.stderr
    assert "In sync: Ontora, state and files agree for 3 campaign(s)." in result.stdout


def test_drift_classifies_theirs_ours_and_conflict(applied: Trial) -> None:
    interview_id = applied.interview_id("ops/warehouse-safety")
    web_app_edit(applied.emulator, interview_id, description="Edited in the web app", channel="web")
    applied.sent()  # what the web app sent is not ours
    applied.edit(
        "ops/warehouse-safety.yaml",
        "interview_duration_minutes: 15",
        "interview_duration_minutes: 20",
    )
    applied.edit("ops/warehouse-safety.yaml", "channel: phone", "channel: google_meet")
    result = applied.cli("drift", "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    lines = result.stdout
    assert '! theirs   description: Ontora has "Edited in the web app"' in lines
    assert "  ours     interview_duration_minutes: the file has 20 (last applied 15)" in lines
    assert '! conflict channel: Ontora has "web", the file has "google_meet"' in lines
    assert "Drift: 1 theirs, 1 ours, 1 conflict; 0 missing in Ontora; 0 not in draft." in lines
    document = json.loads(applied.cli("drift", "--format", "json").stdout)
    (campaign,) = [c for c in document["campaigns"] if c["fields"]]
    assert {f["field"]: f["kind"] for f in campaign["fields"]} == {
        "channel": "conflict",
        "interview_duration_minutes": "ours",
        "description": "theirs",
    }
    markdown = applied.cli("drift", "--format", "markdown").stdout
    assert "| `ops/warehouse-safety` | draft | 1 | 1 | 1 |" in markdown
    assert mutating(applied) == []


def test_drift_reports_deleted_and_non_draft_campaigns(applied: Trial) -> None:
    delete_remotely(applied.emulator, applied.interview_id("product/pricing-feedback"))
    applied.emulator.set_status(applied.interview_id("hr/onboarding"), "active")
    result = applied.cli("drift", "--detailed-exitcode")
    assert result.returncode == 2
    assert "Ontora no longer lists campaign" in result.stdout
    assert "status is active in Ontora; edits may be refused" in result.stdout
    assert "1 missing in Ontora; 1 not in draft." in result.stdout


def test_drift_never_writes_state(applied: Trial) -> None:
    before = (applied.root / "campaignsync.state.json").read_bytes()
    web_app_edit(applied.emulator, applied.interview_id("hr/onboarding"), goal="Changed")
    applied.cli("drift")
    assert (applied.root / "campaignsync.state.json").read_bytes() == before


def test_plan_refresh_marks_a_finalize_that_would_overwrite_a_remote_edit(applied: Trial) -> None:
    interview_id = applied.interview_id("hr/onboarding")
    web_app_edit(applied.emulator, interview_id, name="Renamed in the web app")
    applied.sent()
    applied.edit("hr/onboarding-contacts.csv", "Data Analyst", "Senior Data Analyst")
    result = applied.cli("plan", "--refresh")
    assert result.returncode == 0, result.stderr
    assert '! theirs   name: Ontora has "Renamed in the web app"' in result.stdout
    assert "! applying overwrites what was edited in Ontora: name" in result.stdout
    assert mutating(applied) == []
    plain = applied.cli("plan")
    assert "overwrites" not in plain.stdout


def test_apply_refuses_campaigns_edited_remotely_since_the_plan(applied: Trial) -> None:
    applied.edit("hr/onboarding.yaml", "channel: google_meet", "channel: phone")
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert applied.cli("plan", "--refresh", "--out", "plan.json").returncode == 0
    web_app_edit(applied.emulator, applied.interview_id("hr/onboarding"), goal="Edited meanwhile")
    applied.sent()
    result = applied.cli("apply", "plan.json")
    assert result.returncode == 3
    assert "Skipped hr/onboarding: edited in Ontora since the plan was made" in result.stderr
    sent = mutating(applied)
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in sent] == [("PATCH", "draft")]
    assert applied.interview_id("product/pricing-feedback") in sent[0][1]


def test_allow_remote_changes_overrides_the_guard(applied: Trial) -> None:
    applied.edit("hr/onboarding.yaml", "channel: google_meet", "channel: phone")
    applied.cli("plan", "--refresh", "--out", "plan.json")
    web_app_edit(applied.emulator, applied.interview_id("hr/onboarding"), goal="Edited meanwhile")
    result = applied.cli("apply", "plan.json", "--allow-remote-changes")
    assert result.returncode == 0, result.stderr


def test_import_then_plan_shows_no_changes(trial: Trial) -> None:
    # A folder without defaults: the imported file is all the campaign has.
    (trial.root / "campaigns/_defaults.yaml").unlink()
    created = trial.emulator.http.post(
        "/v1/interviews",
        json={
            "workspace_id": trial.env["ONTORA_WORKSPACE_ID"],
            "name": "Made in the web app",
            "goal": "Line one\nline two",
            "timezone": "Europe/Berlin",
            "timeframe_start": "2027-05-01T08:00:00+02:00",
            "interview_duration_minutes": 20,
            "weekly_availability": {"monday": [{"start": "09:00", "end": "12:00"}]},
        },
        headers={
            "Authorization": f"Bearer {trial.env['ONTORA_API_TOKEN']}",
            "Idempotency-Key": "x",
        },
    ).json()
    result = trial.cli("import", created["id"], "imported/web")
    assert result.returncode == 0, result.stderr
    path = trial.root / "campaigns/imported/web.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/campaign.schema.json\n")
    assert "voice_id, followup_deadline_days" in text
    assert f"interview_id: {created['id']}" in text
    assert "goal: |-\n  Line one\n  line two" in text
    assert trial.state()["campaigns"]["imported/web"]["interview_id"] == created["id"]
    plan = trial.cli("plan", "--target", "imported/web", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert trial.cli("validate").returncode == 0


def test_an_import_under_folder_defaults_plans_what_they_add(trial: Trial) -> None:
    (trial.root / "campaigns/_defaults.yaml").write_text("closing_message: Thanks\n")
    created = trial.emulator.http.post(
        "/v1/interviews",
        json={"workspace_id": trial.env["ONTORA_WORKSPACE_ID"], "name": "Made in the web app"},
        headers={
            "Authorization": f"Bearer {trial.env['ONTORA_API_TOKEN']}",
            "Idempotency-Key": "y",
        },
    ).json()
    assert trial.cli("import", created["id"], "imported/web").returncode == 0
    # State records what Ontora has; the defaults' value is a change still to send.
    assert "closing_message" not in trial.state()["campaigns"]["imported/web"]["last_applied"]
    plan = trial.cli("plan", "--target", "imported/web", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert (
        "patch: closing_message changed (closing_message from campaigns/_defaults.yaml)"
        in plan.stdout
    )


def test_import_refuses_to_overwrite(applied: Trial) -> None:
    interview_id = applied.interview_id("hr/onboarding")
    taken_file = applied.cli("import", interview_id, "hr/onboarding")
    assert taken_file.returncode == 1
    assert "already exists" in taken_file.stderr
    taken_id = applied.cli("import", interview_id, "hr/again")
    assert taken_id.returncode == 1
    assert "already managed as 'hr/onboarding'" in taken_id.stderr
    unknown = applied.cli("import", "00000000-0000-4000-8000-000000000000", "x")
    assert unknown.returncode == 1
    assert "Ontora lists no campaign" in unknown.stderr
    assert not (applied.root / "campaigns/hr/again.yaml").exists()


@pytest.mark.parametrize("key", ["x//y", "trail/", "a/./b", "new\nline", "/abs", "../out"])
def test_import_refuses_an_unsafe_key_before_anything_else(trial: Trial, key: str) -> None:
    before = sorted(path for path in trial.root.rglob("*"))
    result = trial.cli("import", "00000000-0000-4000-8000-000000000000", key)
    assert result.returncode == 1
    assert "is not a campaign key" in result.stderr
    assert "letters, digits" in result.stderr
    assert sorted(path for path in trial.root.rglob("*")) == before


def test_import_refuses_an_interview_id_that_is_not_a_uuid(trial: Trial) -> None:
    result = trial.cli("import", "../../v1/interviews", "imported/x")
    assert result.returncode == 1
    assert "is not a campaign id" in result.stderr
    assert not (trial.root / "campaigns/imported").exists()


def test_an_offline_plan_and_a_refreshed_plan_share_a_digest_and_the_guard_still_holds(
    applied: Trial,
) -> None:
    applied.edit("hr/onboarding.yaml", "channel: google_meet", "channel: phone")
    offline = applied.cli("plan", "--out", "offline.json")
    refreshed = applied.cli("plan", "--refresh", "--out", "refreshed.json")
    assert offline.returncode == refreshed.returncode == 0, offline.stderr + refreshed.stderr
    documents = [
        json.loads((applied.root / name).read_text()) for name in ("offline.json", "refreshed.json")
    ]
    assert (documents[0]["refreshed"], documents[1]["refreshed"]) == (False, True)
    assert documents[0]["digest"] == documents[1]["digest"]
    marker = applied.cli("plan", "--format", "markdown").stdout.splitlines()[0]
    digest = documents[0]["digest"]
    assert marker == f"<!-- campaignsync-plan digest={digest} overwrites=unknown -->"
    refreshed_marker = applied.cli("plan", "--refresh", "--format", "markdown").stdout
    assert refreshed_marker.splitlines()[0] == (
        f"<!-- campaignsync-plan digest={digest} overwrites=none -->"
    )

    web_app_edit(applied.emulator, applied.interview_id("hr/onboarding"), goal="Edited meanwhile")
    applied.sent()
    result = applied.cli("apply", "refreshed.json")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Skipped hr/onboarding: edited in Ontora since the plan was made" in result.stderr
    assert mutating(applied) == []
