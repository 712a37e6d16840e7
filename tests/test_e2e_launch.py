"""End to end: launching campaigns with `status: active`, against the emulator process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tests.emulator_harness import Trial, wait_for

SAFETY = "ops/warehouse-safety"
SAFETY_FILE = "ops/warehouse-safety.yaml"


def starts(trial: Trial) -> list[dict[str, object]]:
    """Every start the emulator received, with the status it answered."""
    return [r for r in trial.emulator.requests() if r["path"].endswith("/start")]


def launch_safety(trial: Trial) -> None:
    trial.edit(SAFETY_FILE, "status: draft", "status: active")


def test_a_new_campaign_is_created_and_launched_in_one_apply(trial: Trial) -> None:
    launch_safety(trial)
    result = trial.apply("--allow-launch")
    assert result.returncode == 0, result.stdout + result.stderr
    interview_id = trial.interview_id(SAFETY)
    mine = [(method, path) for method, path, _ in trial.sent() if interview_id in path]
    assert mine == [
        ("PUT", f"/v1/campaign-creation/{interview_id}/finalize"),
        ("POST", f"/v1/interviews/{interview_id}/start"),
    ]
    (start,) = starts(trial)
    assert (start["status"], start["body"]) == (200, None)
    assert trial.emulator.campaigns()[interview_id]["status"] == "active"
    assert trial.state()["campaigns"][SAFETY]["last_applied"]["status"] == "active"
    trial.converged()


def test_a_launch_without_a_saved_plan_or_allow_launch_sends_nothing(applied: Trial) -> None:
    launch_safety(applied)
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    result = applied.apply()
    assert result.returncode == 1
    assert f"This apply would launch {SAFETY}" in result.stderr
    assert "contacting 3 people" in result.stderr
    assert "--allow-launch" in result.stderr
    assert "plan --out" in result.stderr
    assert applied.sent() == []
    typed = applied.cli("apply", input="yes\n")  # a typed yes is not enough either
    assert typed.returncode == 1
    assert applied.sent() == []


def test_a_saved_plan_with_a_launch_applies_without_a_flag(applied: Trial) -> None:
    launch_safety(applied)
    planned = applied.cli("plan", "--out", "plan.json")
    assert planned.returncode == 0, planned.stderr
    document = json.loads((applied.root / "plan.json").read_text())
    assert (document["launches"], document["people_contacted"]) == ([SAFETY], 3)
    result = applied.cli("apply", "plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    interview_id = applied.interview_id(SAFETY)
    assert applied.sent() == [("POST", f"/v1/interviews/{interview_id}/start", None)]
    applied.converged()


def test_no_launch_applies_the_rest_and_leaves_the_launch_for_later(applied: Trial) -> None:
    launch_safety(applied)
    applied.edit(SAFETY_FILE, "channel: phone", "channel: google_meet")
    result = applied.apply("--no-launch")
    assert result.returncode == 0, result.stdout + result.stderr
    interview_id = applied.interview_id(SAFETY)
    assert applied.sent() == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft", {"channel": "google_meet"})
    ]
    assert "--no-launch" in result.stdout
    assert applied.emulator.campaigns()[interview_id]["status"] == "draft"
    later = applied.cli("plan", "--detailed-exitcode")
    assert later.returncode == 2
    assert "Launching 1 campaign" in later.stdout
    assert applied.apply("--allow-launch").returncode == 0
    assert applied.sent() == [("POST", f"/v1/interviews/{interview_id}/start", None)]
    applied.converged()


def test_active_back_to_draft_fails_at_plan_time(applied: Trial) -> None:
    launch_safety(applied)
    assert applied.apply("--allow-launch").returncode == 0
    applied.edit(SAFETY_FILE, "status: active", "status: draft")
    result = applied.cli("plan")
    assert result.returncode == 1
    assert "no documented call moves a campaign back to draft" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_start_answered_409_for_a_campaign_already_active_is_done(applied: Trial) -> None:
    interview_id = applied.interview_id(SAFETY)
    applied.emulator.set_status(interview_id, "active")  # launched in the web app
    launch_safety(applied)
    result = applied.apply("--allow-launch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["status"] for r in starts(applied)] == [409]
    assert applied.state()["campaigns"][SAFETY]["last_applied"]["status"] == "active"
    applied.converged()


def test_a_start_answered_409_for_a_paused_campaign_is_an_error(applied: Trial) -> None:
    applied.emulator.set_status(applied.interview_id(SAFETY), "paused")
    launch_safety(applied)
    result = applied.apply("--allow-launch")
    assert result.returncode == 1
    assert "lists it as paused, not active, so it was not launched" in result.stderr


def test_an_edit_refused_as_campaign_locked_is_reported_and_the_rest_applied(
    applied: Trial,
) -> None:
    launch_safety(applied)
    assert applied.apply("--allow-launch").returncode == 0
    applied.emulator.set_faults(locked_statuses=["active", "completed"])
    applied.edit(SAFETY_FILE, "channel: phone", "channel: google_meet")
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    applied.sent()
    plan = applied.cli("plan")
    assert f"{SAFETY} is active in Ontora" in plan.stdout
    result = applied.apply()
    assert result.returncode == 1
    assert f"Refused: {SAFETY}: campaign" in result.stderr
    assert "409 campaign_locked" in result.stderr
    assert f"1 refused by Ontora ({SAFETY})" in result.stderr
    pricing = applied.interview_id("product/pricing-feedback")
    assert applied.emulator.campaigns()[pricing]["goal"].startswith("Find out why")


def test_a_kill_between_finalize_and_start_then_a_rerun_starts_once(trial: Trial) -> None:
    for other in ("hr/onboarding.yaml", "product/pricing-feedback.yaml"):
        (trial.root / "campaigns" / other).unlink()
    launch_safety(trial)
    trial.emulator.set_faults(latency_ms=300)
    apply = subprocess.Popen(
        [sys.executable, "-m", "campaignsync", "apply", "--auto-approve", "--allow-launch"],
        cwd=trial.root,
        env=trial.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Killed once Ontora answered the create and the finalize: the start is next.
    wait_for(lambda: len(trial.emulator.requests()) >= 2, "the create and the finalize")
    os.kill(apply.pid, signal.SIGKILL)
    apply.wait()
    trial.emulator.set_faults(latency_ms=0)
    entry = trial.state()["campaigns"][SAFETY]
    assert entry["unconfirmed"].get("status") == "active"  # the start may be under way
    rerun = trial.apply("--allow-launch")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    interview_id = trial.interview_id(SAFETY)
    # The re-run sends the start once (and the finalize again if its success was not yet
    # on disk when the kill came), and apply sends exactly what it planned.
    assert rerun.stdout.count(f"{SAFETY}: POST /v1/interviews/{interview_id}/start done") == 1
    # The killed run's start may have been under way: whichever start reached Ontora
    # first launched the campaign, and any other was answered 409.
    assert [r["status"] for r in starts(trial)].count(200) == 1
    assert len(trial.emulator.campaigns()) == 1
    trial.converged()


def test_an_active_campaign_imported_says_so_and_plans_nothing_with_refresh(
    trial: Trial,
) -> None:
    (trial.root / "campaigns" / "_defaults.yaml").unlink()  # they would add fields to send
    auth = {"Authorization": f"Bearer {trial.env['ONTORA_API_TOKEN']}"}
    body = {"workspace_id": trial.env["ONTORA_WORKSPACE_ID"], "name": "Launched in the app"}
    created = trial.emulator.http.post(
        "/v1/interviews", json=body, headers=auth | {"Idempotency-Key": "web"}
    ).json()
    trial.emulator.http.post(f"/v1/interviews/{created['id']}/start", headers=auth)
    result = trial.cli("import", created["id"], "imported/web")
    assert result.returncode == 0, result.stderr
    assert "status: active" in (trial.root / "campaigns/imported/web.yaml").read_text()
    plan = trial.cli("plan", "--refresh", "--target", "imported/web", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
