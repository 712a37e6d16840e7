"""Every exit code README.md documents, driven through the real command line.

0 success (nothing to change), 1 error, 2 changes pending (--detailed-exitcode),
3 stale plan / lock held / plan for another target / campaign edited remotely,
130 interrupted.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time

from campaignsync.filestate import state_lock
from tests.conftest import REPO
from tests.emulator_harness import Trial, run, web_app_edit
from tests.running_apply import RunningApply

EDIT = ("product/pricing-feedback.yaml", "Learn why", "Find out why")


def test_the_readme_lists_exactly_these_codes() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^- `(\d+)`", section, flags=re.MULTILINE) == ["0", "1", "2", "3", "130"]


# --- 0 and 2 ---------------------------------------------------------------------------


def test_0_when_nothing_changes_and_2_when_changes_are_pending(applied: Trial) -> None:
    assert applied.cli("validate").returncode == 0
    assert applied.cli("plan", "--detailed-exitcode").returncode == 0
    assert applied.cli("drift", "--detailed-exitcode").returncode == 0
    applied.edit(*EDIT)
    assert applied.cli("plan", "--detailed-exitcode").returncode == 2
    assert applied.cli("drift", "--detailed-exitcode").returncode == 2
    assert applied.cli("plan").returncode == 0  # without the flag, changes are success


# --- 1 ---------------------------------------------------------------------------------


def test_1_for_a_usage_error(trial: Trial) -> None:
    for args in (
        ["plan", "--no-such-option"],
        ["no-such-command"],
        ["apply", "--parallelism", "0"],
    ):
        result = trial.cli(*args)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr


def test_1_for_invalid_files_and_for_a_request_ontora_refuses(trial: Trial) -> None:
    (trial.root / "campaigns" / "broken.yaml").write_text("name: B\ngoals: typo\n")
    assert trial.cli("validate").returncode == 1
    assert trial.cli("plan").returncode == 1
    (trial.root / "campaigns" / "broken.yaml").unlink()
    trial.emulator.set_faults(reject_fields=["contacts.email"])
    assert trial.apply().returncode == 1


def test_1_for_a_saved_plan_that_was_edited(applied: Trial) -> None:
    applied.edit(*EDIT)
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    plan = applied.root / "plan.json"
    plan.write_text(plan.read_text().replace("Find out why", "Sneaked in"))
    result = applied.cli("apply", "plan.json")
    assert result.returncode == 1
    assert "was changed after it was made" in result.stderr
    plan.write_text("not a plan")
    assert applied.cli("apply", "plan.json").returncode == 1
    assert applied.sent() == []


def test_1_for_a_saved_plan_that_is_not_readable_json_with_state_untouched(
    applied: Trial,
) -> None:
    applied.edit(*EDIT)
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    plan, state = applied.root / "plan.json", applied.root / "campaignsync.state.json"
    saved, before = plan.read_text(), state.read_bytes()
    # NaN where a value was: it would digest as null, and no request can carry it.
    not_finite = re.sub(r'"Find out why[^"]*"', "NaN", saved, count=1)
    broken = {
        "not_finite": not_finite,
        "deep": "[" * 100_000 + "]" * 100_000,
        "huge_number": '{"format_version": 1, "x": ' + "9" * 5000 + "}",
        "truncated": saved[: len(saved) // 2],
    }
    for name, text in broken.items():
        plan.write_text(text)
        result = applied.cli("apply", "plan.json")
        assert result.returncode == 1, name
        assert "is not a readable JSON plan" in result.stderr, (name, result.stderr)
        assert "internal error" not in result.stderr, name
        assert state.read_bytes() == before, name
    assert applied.sent() == []


def test_1_for_a_saved_plan_whose_request_state_could_not_keep(applied: Trial) -> None:
    # 1e400 reads as infinity: refused as a value state cannot keep, whatever the digest
    # says, before anything is written or sent.
    applied.edit(*EDIT)
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    path, state = applied.root / "plan.json", applied.root / "campaignsync.state.json"
    saved, before = path.read_text(), state.read_bytes()
    edited = re.sub(r'"Find out why[^"]*"', "1e400", saved)
    assert edited != saved
    path.write_text(edited)
    result = applied.cli("apply", "plan.json")
    assert result.returncode == 1
    assert "it holds a number that is not finite" in result.stderr
    assert "internal error" not in result.stderr
    assert applied.sent() == []
    assert state.read_bytes() == before


def test_1_when_the_emulator_port_is_in_use(trial: Trial) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = trial.cli("emulator", "--port", port)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


# --- 3 ---------------------------------------------------------------------------------


def test_3_for_a_stale_plan(applied: Trial) -> None:
    applied.edit(*EDIT)
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    assert applied.cli("apply", "plan.json").returncode == 0
    assert applied.cli("apply", "plan.json").returncode == 3


def test_3_for_a_plan_made_for_another_target(applied: Trial) -> None:
    applied.edit(*EDIT)
    assert applied.cli("plan", "--out", "plan.json").returncode == 0
    # Another target with its own state: the same emulator under another name.
    elsewhere = applied.emulator.url.replace("127.0.0.1", "localhost")
    result = applied.cli("apply", "plan.json", "--api-url", elsewhere, "--state", "other.json")
    assert result.returncode == 3
    assert f"The plan is for the API at {applied.emulator.url}" in result.stderr
    assert applied.sent() == []


def test_3_when_the_state_lock_is_held(trial: Trial) -> None:
    with state_lock(trial.root / "campaignsync.state.json", command="campaignsync apply"):
        assert trial.apply().returncode == 3
        assert trial.cli("state", "rm", "x").returncode == 3


def test_3_for_a_campaign_edited_remotely_since_the_plan(applied: Trial) -> None:
    applied.edit("hr/onboarding.yaml", "channel: google_meet", "channel: phone")
    assert applied.cli("plan", "--refresh", "--out", "plan.json").returncode == 0
    web_app_edit(applied.emulator, applied.interview_id("hr/onboarding"), goal="Meanwhile")
    assert applied.cli("apply", "plan.json").returncode == 3


# --- 130 -------------------------------------------------------------------------------


def read_until(descriptor: int, text: str, timeout: float = 60) -> str:
    """What the terminal showed, read until `text` appears."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, f"{text!r} never appeared in {seen!r}"
        ready, _, _ = select.select([descriptor], [], [], 1)
        if ready:
            seen += os.read(descriptor, 4096).decode(errors="replace")
    return seen


def test_130_for_ctrl_c_at_the_confirmation_prompt(trial: Trial) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignsync", "apply"],
        cwd=trial.root,
        env=trial.env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    try:
        read_until(controller, "Only 'yes' will be accepted")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        shown = read_until(controller, "Interrupted")
    finally:
        os.close(controller)
    assert "Traceback" not in shown
    assert trial.sent() == []


def test_130_for_an_interrupted_apply_with_state_saved(trial: Trial) -> None:
    trial.emulator.set_faults(latency_ms=300)
    with RunningApply(trial.root, trial.env, "--parallelism", "1") as apply:
        apply.wait_for_line("[1/")
        apply.send(signal.SIGTERM)  # what a cancelled CI job receives
        result = apply.finish()
    assert result.returncode == 130
    assert "interrupted" in result.stderr
    assert trial.state()["campaigns"]
    trial.emulator.set_faults(latency_ms=0)
    assert run(trial.root, trial.env, "apply", "--auto-approve").returncode == 0
