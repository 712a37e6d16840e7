"""End to end: the real CLI against the emulator (strict) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import signal

from campaignsync.filestate import state_lock
from tests.emulator_harness import TOKEN, Trial, contact_values, wait_for, without_contact_data
from tests.running_apply import RunningApply


def test_first_apply_creates_each_campaign_then_plans_nothing(trial: Trial) -> None:
    result = trial.apply()
    assert result.returncode == 0, result.stderr
    assert "Apply complete: 3 campaign(s) applied with 6 request(s) in " in result.stdout
    sent = trial.sent()
    for key in ("hr/onboarding", "ops/warehouse-safety", "product/pricing-feedback"):
        interview_id = trial.interview_id(key)
        mine = [(m, p) for m, p, _ in sent if interview_id in p]
        assert mine == [("PUT", f"/v1/campaign-creation/{interview_id}/finalize")]
    assert [m for m, _, _ in sent].count("POST") == 3
    remote = trial.emulator.campaigns()
    assert len(remote) == 3
    onboarding = remote[trial.interview_id("hr/onboarding")]
    assert [c["email"] for c in onboarding["contacts"]][:2] == [
        "dana.whitfield@example.org",
        "priya.raman@example.org",
    ]
    assert len(onboarding["contacts"]) == 5
    assert onboarding["timezone"] == "Europe/London"
    assert onboarding["voice_id"] == "aria"
    trial.converged()


def test_a_scalar_edit_sends_one_patch_with_only_that_field(applied: Trial) -> None:
    applied.edit(
        "ops/warehouse-safety.yaml",
        "interview_duration_minutes: 15",
        "interview_duration_minutes: 20",
    )
    assert applied.apply().returncode == 0
    interview_id = applied.interview_id("ops/warehouse-safety")
    assert applied.sent() == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft", {"interview_duration_minutes": 20})
    ]
    applied.converged()


def test_a_removed_key_is_sent_as_null(applied: Trial) -> None:
    applied.edit("ops/warehouse-safety.yaml", "channel: phone\n", "")
    assert applied.apply().returncode == 0
    interview_id = applied.interview_id("ops/warehouse-safety")
    assert applied.sent() == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft", {"channel": None})
    ]
    assert applied.emulator.campaigns()[interview_id]["channel"] is None
    applied.converged()


def test_a_contact_edit_sends_one_full_finalize_without_project_context(applied: Trial) -> None:
    applied.edit("hr/onboarding-contacts.csv", "Data Analyst", "Senior Data Analyst")
    assert applied.apply().returncode == 0
    interview_id = applied.interview_id("hr/onboarding")
    ((method, path, body),) = applied.sent()
    assert (method, path) == ("PUT", f"/v1/campaign-creation/{interview_id}/finalize")
    assert "project_context" not in body
    assert len(body["contacts"]) == 5
    assert len(body["topics"]) == 3
    assert len(body["questions"]) == 5
    assert body["contacts"][4]["job_title"] == "Senior Data Analyst"
    applied.converged()


def test_project_context_and_a_list_change_send_patch_then_put(applied: Trial) -> None:
    applied.edit("hr/onboarding.yaml", "buddy programme, a shared", "buddy scheme, a shared")
    applied.edit("hr/onboarding.yaml", "    name: Buddy programme", "    name: Buddy scheme")
    applied.edit("hr/onboarding.yaml", "    topic: Buddy programme", "    topic: Buddy scheme")
    assert applied.apply().returncode == 0
    interview_id = applied.interview_id("hr/onboarding")
    sent = applied.sent()
    assert [(m, p) for m, p, _ in sent] == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft"),
        ("PUT", f"/v1/campaign-creation/{interview_id}/finalize"),
    ]
    assert list(sent[0][2]) == ["project_context"]
    assert "project_context" not in sent[1][2]
    applied.converged()


def test_no_change_sends_nothing(applied: Trial) -> None:
    result = applied.apply()
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "Nothing to apply.")
    assert applied.sent() == []


def test_a_422_is_shown_at_the_yaml_line(applied: Trial) -> None:
    applied.emulator.set_faults(reject_fields=["topics.name"])
    applied.edit(
        "ops/warehouse-safety.yaml",
        "priority: 2\n    success_threshold: 0.7",
        "priority: 3\n    success_threshold: 0.7",
    )
    result = applied.apply()
    assert result.returncode == 1
    assert "ops/warehouse-safety: PUT" in result.stderr
    assert "answered 422" in result.stderr
    assert (
        "campaigns/ops/warehouse-safety.yaml:24:11: topics[1].name: rejected by the emulator"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_429_storms_and_503s_are_ridden_out(trial: Trial) -> None:
    trial.emulator.set_faults(rate_limit_next=4, error_next=5)
    result = trial.apply("--max-retries", "10")
    assert result.returncode == 0, result.stderr
    statuses = [r["status"] for r in trial.emulator.requests()]
    assert (statuses.count(429), statuses.count(503)) == (4, 5)
    assert len(trial.emulator.campaigns()) == 3
    trial.converged()


def test_a_dropped_connection_during_a_create_does_not_duplicate_it(trial: Trial) -> None:
    trial.emulator.set_faults(drop_next=1)
    result = trial.apply("--parallelism", "1")
    assert result.returncode == 0, result.stderr
    posts = [r for r in trial.emulator.requests() if r["method"] == "POST"]
    assert posts[0]["status"] == "dropped"
    assert posts[1]["idempotency_key"] == posts[0]["idempotency_key"]
    assert len(trial.emulator.campaigns()) == 3
    trial.converged()


def test_a_failure_stops_new_campaigns_and_reports_each(trial: Trial) -> None:
    trial.emulator.set_faults(reject_fields=["contacts.email"])
    result = trial.apply("--parallelism", "1")
    assert result.returncode == 1
    assert "Apply stopped: 0 applied, 1 failed, 0 interrupted, 2 not attempted." in result.stderr
    assert "Not finished: ops/warehouse-safety, product/pricing-feedback." in result.stderr
    # The create succeeded before the finalize failed; it is in state, and resumes.
    assert trial.state()["campaigns"]["hr/onboarding"]["interview_id"]
    trial.emulator.set_faults(reject_fields=[])
    assert trial.apply().returncode == 0
    assert len(trial.emulator.campaigns()) == 3
    trial.converged()


def test_a_completed_campaign_is_reported_as_no_longer_editable(applied: Trial) -> None:
    interview_id = applied.interview_id("product/pricing-feedback")
    applied.emulator.set_status(interview_id, "completed")
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    result = applied.apply()
    assert result.returncode == 1
    assert (
        f"product/pricing-feedback: campaign {interview_id} is no longer editable" in result.stderr
    )


def test_wrong_credentials_say_how_to_fix_them(trial: Trial) -> None:
    trial.env["ONTORA_API_TOKEN"] = "wrong"
    result = trial.apply()
    assert result.returncode == 1
    assert "401 invalid_api_key" in result.stderr
    assert "ONTORA_API_TOKEN" in result.stderr
    del trial.env["ONTORA_API_TOKEN"]
    result = trial.apply()
    assert result.returncode == 1
    assert "No Ontora credentials" in result.stderr


def test_a_saved_plan_runs_exactly_and_goes_stale_once_used(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    assert applied.sent() == []
    assert applied.cli("apply", "plan.json").returncode == 0
    assert len(applied.sent()) == 1
    stale = applied.cli("apply", "plan.json")
    assert stale.returncode == 3
    assert "The state changed since the plan was made" in stale.stderr
    assert applied.sent() == []


def test_a_tampered_plan_is_refused(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    applied.cli("plan", "--out", "plan.json")
    plan = applied.root / "plan.json"
    plan.write_text(plan.read_text().replace("Find out why", "Sneak in"))
    result = applied.cli("apply", "plan.json")
    assert result.returncode == 1
    assert "was changed after it was made" in result.stderr
    assert applied.sent() == []


def test_without_a_terminal_apply_refuses_rather_than_hangs(trial: Trial) -> None:
    result = trial.cli("apply")
    assert result.returncode == 1
    assert "pass --auto-approve" in result.stderr
    assert trial.sent() == []


def test_a_second_apply_waits_for_the_lock_then_exits_3(trial: Trial) -> None:
    with state_lock(trial.root / "campaignsync.state.json", command="campaignsync apply (other)"):
        result = trial.apply("--lock-timeout", "0.5")
    assert result.returncode == 3
    assert "locked by 'campaignsync apply (other)'" in result.stderr
    assert trial.sent() == []


def test_the_token_appears_in_no_output_state_plan_or_log(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    outputs = [
        applied.cli("plan", "--out", "plan.json"),
        applied.cli("plan", "--format", "json"),
        applied.cli("apply", "plan.json"),
        applied.cli("state", "list"),
    ]
    applied.env["ONTORA_API_TOKEN"] = TOKEN + "-wrong"
    applied.edit("product/pricing-feedback.yaml", "Find out why", "Learn why")
    outputs.append(applied.apply())
    texts = [o.stdout + o.stderr for o in outputs]
    texts += [p.read_text() for p in applied.root.iterdir() if p.is_file()]
    texts.append(json.dumps(applied.emulator.requests()))
    for text in texts:
        assert TOKEN not in text
    # The log keeps each request's path, query and body, where a leaked token would show,
    # so the check of the log above can fail.
    applied.emulator.http.get("/v1/interviews", params={"workspace_id": TOKEN})
    assert TOKEN in json.dumps(applied.emulator.requests())


def test_no_contact_name_email_or_phone_is_kept_in_state_or_its_backup(trial: Trial) -> None:
    assert trial.apply().returncode == 0
    # A contact removed, one changed and one added: the next state and its backup.
    trial.edit("hr/onboarding-contacts.csv", "Data Analyst", "Senior Data Analyst")
    trial.edit("hr/onboarding.yaml", "dana.whitfield@example.org", "dana.w@example.org")
    assert trial.apply().returncode == 0
    values = contact_values(trial.emulator) | {"dana.whitfield@example.org", "Data Analyst"}
    assert "Dana Whitfield" in values  # the check below can fail
    kept = [trial.root / "campaignsync.state.json", trial.root / "campaignsync.state.json.backup"]
    texts = [path.read_text() for path in kept]
    texts += [trial.cli(*command).stdout for command in (["state", "pull"], ["state", "list"])]
    texts.append(trial.cli("state", "show", "hr/onboarding").stdout)
    for text in texts:
        assert without_contact_data(text, values) == []
    trial.converged()


def test_ctrl_c_stops_after_in_flight_requests_with_state_saved(trial: Trial) -> None:
    trial.emulator.set_faults(latency_ms=400)
    with RunningApply(trial.root, trial.env, "--parallelism", "1") as apply:
        # Wait for the first request to complete, then interrupt while the next is in flight.
        apply.wait_for_line("[1/")
        apply.send(signal.SIGINT)
        result = apply.finish()
    assert result.returncode == 130
    assert "interrupted" in result.stderr
    assert "Traceback" not in result.stderr
    in_state = trial.state()["campaigns"]
    assert 1 <= len(in_state) < 3
    trial.emulator.set_faults(latency_ms=0)
    assert trial.apply().returncode == 0
    assert len(trial.emulator.campaigns()) == 3
    trial.converged()


def test_a_second_ctrl_c_exits_at_once_without_waiting_for_the_request_on_the_wire(
    trial: Trial,
) -> None:
    assert trial.apply().returncode == 0
    key = next(iter(trial.state()["campaigns"]))
    path = next(trial.root.glob(f"campaigns/{key}.yaml"))
    path.write_text(path.read_text().replace("\ngoal:", "\ngoal: Edited.", 1))
    trial.emulator.set_faults(latency_ms=15_000)  # the request stays on the wire
    with RunningApply(trial.root, trial.env) as apply:
        # Its fields are marked unconfirmed just before the request is sent.
        apply.wait_until(lambda: bool(trial.state()["campaigns"][key]["unconfirmed"]), "the mark")
        # On the wire: Ontora has it and holds its answer.
        apply.wait_until(
            lambda: any(r["method"] == "PATCH" for r in trial.emulator.in_flight()), "the PATCH"
        )
        # One Ctrl-C only stops new requests; the next ends the run.
        result = apply.interrupt_until_it_ends()
    assert result.returncode == 130
    assert "Stopped at once" in result.stderr
    assert "Traceback" not in result.stderr
    # It ended before Ontora answered: the request is not yet in the emulator's log.
    assert not [r for r in trial.emulator.requests() if r["method"] == "PATCH"]
    assert trial.state()["campaigns"][key]["unconfirmed"]
    trial.emulator.set_faults(latency_ms=0)
    assert trial.apply().returncode == 0
    trial.converged()
    # The abandoned request arrives in the end, with the values the file holds anyway.
    wait_for(
        lambda: len([r for r in trial.emulator.requests() if r["method"] == "PATCH"]) > 1,
        "the abandoned request",
    )
    trial.converged()


WAREHOUSE_REWRITTEN = """\
# The same campaign as before, written differently:\tkeys reordered, flow and block
# style swapped, quotes added or dropped, numbers and instants spelled another way.
followup_message: "Your shift lead has set aside 15 minutes for this call. \\
  It helps us keep everyone safe.\\n"
followup_deadline_days:
  - 10
  - 0x14
followup_intervals_hours: [24, 72, 0o250]
followup_strategy: 'escalating'
followup_enabled: True
timeframe_end: 2027-03-31t23:00:00.000000+01:00\t# an hour east,\tthe same instant
timeframe_start: 2027-03-01T06:00:00Z
scheduling_mode: availability
interview_duration_minutes: 15
channel: "phone"
goal: >-
  Spot recurring hazards before they cause injuries,
  and learn which safety measures people trust.
description: 'Monthly conversations with floor staff about near misses and safety habits.'
name: Warehouse safety check-in\t#\ttab-separated comment
topics:
  - {priority: 1, name: Near misses, success_threshold: 0.90,
     goal: "Which near misses happened this month, where and why.",
     subtopics: [forklifts, 'loading docks', ladders]}
  - success_threshold: 7e-1
    priority: 2
    name: Protective equipment
    goal: Whether equipment is available, fits and gets worn.
  - name: Reporting culture
    goal: Whether people feel safe reporting incidents.
    priority: +2
    success_threshold: 0.500
    subtopics:
      - anonymity
      - response time
questions:
  - {topic: Near misses, text: Tell me about a moment this month when something almost went wrong.}
  - text: Which part of the floor feels least safe during a busy shift?
    topic: Near misses
  - text: Is there protective equipment you need but cannot easily get?
    topic: Protective equipment
  - text: When you last reported a problem, what happened next?
    topic: Reporting culture
  - text: "Would you report a mistake made by your shift lead? Why or why not?"
    topic: Reporting culture
contacts:
  - phone: '+48 61 555 0199'
    name: Marek Kowalski
    department: Inbound
    job_title: Forklift Operator
  - {name: Aisha Bello, email: aisha.bello@example.org, job_title: Shift Lead,
     department: Outbound, seniority_level: 3, is_required: TRUE}
  - name: Jonas Becker
    email: jonas.becker@example.org
    job_title: Picker
    department: Outbound
"""


def test_rewriting_files_without_changing_their_meaning_plans_nothing(applied: Trial) -> None:
    campaigns = applied.root / "campaigns"
    (campaigns / "ops/warehouse-safety.yaml").write_text(WAREHOUSE_REWRITTEN, encoding="utf-8")
    onboarding = campaigns / "hr/onboarding.yaml"
    text = onboarding.read_text(encoding="utf-8")
    # Tabs inside comments, and Windows line ends.
    text = text.replace("\n\ntopics:", "\n#\tthe topics\tfollow\n\ntopics:").replace("\n", "\r\n")
    onboarding.write_bytes(text.encode("utf-8"))
    pricing = campaigns / "product/pricing-feedback.yaml"
    pricing.write_text("#\tcomment\n" + pricing.read_text(encoding="utf-8"), encoding="utf-8")
    applied.converged()
    assert applied.sent() == []


def test_a_partial_apply_then_a_restored_file_plans_the_way_back(applied: Trial) -> None:
    # PATCH (project_context) succeeds, then the PUT (a topic rename) is refused.
    path = applied.root / "campaigns" / "ops" / "warehouse-safety.yaml"
    original = path.read_text()
    applied.edit(
        "ops/warehouse-safety.yaml", "channel: phone\n", "channel: phone\nproject_context: NEW\n"
    )
    applied.edit("ops/warehouse-safety.yaml", "Near misses", "Close calls")
    applied.emulator.set_faults(reject_fields=["topics.name"])
    assert applied.apply().returncode == 1
    interview_id = applied.interview_id("ops/warehouse-safety")
    assert applied.emulator.campaigns()[interview_id]["project_context"] == "NEW"
    applied.emulator.set_faults(reject_fields=[])
    path.write_text(original)

    plan = applied.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "No changes" not in plan.stdout
    assert "- project_context" in plan.stdout
    applied.sent()
    assert applied.apply().returncode == 0
    assert applied.sent() == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft", {"project_context": None})
    ]
    assert applied.emulator.campaigns()[interview_id]["project_context"] is None
    applied.converged()


def test_a_create_whose_answer_was_lost_finishes_after_the_file_is_edited(trial: Trial) -> None:
    # The POST takes effect in Ontora but its answer is lost: state keeps the pending create.
    trial.emulator.set_faults(drop_next=1)
    first = trial.apply("--target", "ops/warehouse-safety", "--max-retries", "0")
    assert first.returncode == 1, first.stdout + first.stderr
    pending = trial.state()["campaigns"]["ops/warehouse-safety"]["pending_create"]
    assert pending["body"]["name"] == "Warehouse safety check-in"
    assert len(trial.emulator.campaigns()) == 1

    trial.edit(
        "ops/warehouse-safety.yaml", "channel: phone\n", "channel: phone\nproject_context: Edited\n"
    )
    trial.edit(
        "ops/warehouse-safety.yaml",
        "interview_duration_minutes: 15",
        "interview_duration_minutes: 25",
    )
    trial.edit("ops/warehouse-safety.yaml", "Near misses", "Close calls")
    trial.sent()
    second = trial.apply("--target", "ops/warehouse-safety")
    assert second.returncode == 0, second.stdout + second.stderr
    (post, put, patch) = trial.sent()
    assert post == ("POST", "/v1/interviews", pending["body"])
    assert put[2]["interview_duration_minutes"] == 25
    assert patch[2] == {"project_context": "Edited"}
    (campaign,) = trial.emulator.campaigns().values()
    assert campaign["id"] == trial.interview_id("ops/warehouse-safety")
    assert campaign["project_context"] == "Edited"
    assert campaign["interview_duration_minutes"] == 25
    assert campaign["topics"][0]["name"] == "Close calls"
    assert trial.state()["campaigns"]["ops/warehouse-safety"]["pending_create"] is None
    assert (
        trial.cli("plan", "--detailed-exitcode", "--target", "ops/warehouse-safety").returncode == 0
    )


def test_a_pending_create_refuses_an_edited_create_only_field(trial: Trial) -> None:
    trial.emulator.set_faults(drop_next=1)
    assert trial.apply("--target", "hr/onboarding", "--max-retries", "0").returncode == 1
    trial.edit("hr/onboarding.yaml", "timezone: Europe/London", "timezone: Europe/Paris")
    before = (trial.root / "campaignsync.state.json").read_bytes()
    result = trial.cli("plan")
    assert result.returncode == 1
    assert "hr/onboarding: timezone changed since its create was sent" in result.stderr
    assert "campaignsync import INTERVIEW_ID hr/onboarding" in result.stderr
    assert "Traceback" not in result.stderr
    assert (trial.root / "campaignsync.state.json").read_bytes() == before


def test_a_request_whose_answer_never_came_is_sent_again_whatever_the_file_says(
    applied: Trial,
) -> None:
    # The PATCH takes effect in Ontora, but its answer is lost and retries are used up.
    path = applied.root / "campaigns" / "ops" / "warehouse-safety.yaml"
    original = path.read_text()
    applied.edit(
        "ops/warehouse-safety.yaml", "channel: phone\n", "channel: phone\nproject_context: NEW\n"
    )
    applied.emulator.set_faults(drop_rate=1.0)
    assert applied.apply("--max-retries", "0").returncode == 1
    applied.emulator.set_faults(drop_rate=0.0)
    interview_id = applied.interview_id("ops/warehouse-safety")
    assert applied.emulator.campaigns()[interview_id]["project_context"] == "NEW"
    path.write_text(original)

    plan = applied.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "its answer never came" in plan.stdout
    applied.sent()
    assert applied.apply().returncode == 0
    assert applied.sent() == [
        ("PATCH", f"/v1/campaign-creation/{interview_id}/draft", {"project_context": None})
    ]
    applied.converged()
