"""`import --all` against the emulator: a whole workspace adopted into files and state, an
empty plan after, a re-run that imports nothing, and a run stopped part-way continued."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.emulator_harness import TOKEN, Emulator, Trial, web_app_edit


@pytest.fixture
def trial(tmp_path: Path, emulator: Emulator) -> Trial:
    """A repository with no campaign files yet (so no _defaults.yaml either), here in
    place of the examples' copy, and an emulator holding no campaign."""
    emulator.reset()
    (tmp_path / "campaigns").mkdir()
    return Trial(tmp_path, emulator)


PROJECT_A = "5a0c0000-0000-4000-8000-00000000000a"
PROJECT_B = "5b0c0000-0000-4000-8000-00000000000b"


def make_campaign(trial: Trial, name: str, **fields: Any) -> str:
    """A campaign made in Ontora's web app; its id."""
    answer = trial.emulator.http.post(
        "/v1/interviews",
        json={"workspace_id": trial.env["ONTORA_WORKSPACE_ID"], "name": name, **fields},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def plan_actions(trial: Trial) -> dict[str, str]:
    result = trial.cli("plan", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {item["key"]: item["action"] for item in json.loads(result.stdout)["campaigns"]}


def twenty_five(trial: Trial) -> dict[str, str]:
    """25 campaigns, some sharing a name; id -> name."""
    names = [f"Team pulse {n}" for n in range(1, 21)]
    names += ["Weekly check-in"] * 3 + ["Exit interview"] * 2
    made = {}
    for number, name in enumerate(names):
        fields: dict[str, Any] = {"goal": f"Goal {number}\nsecond line"}
        if number % 5 == 0:
            fields |= {
                "timezone": "Europe/Berlin",
                "timeframe_start": "2027-05-01T08:00:00+02:00",
                "interview_duration_minutes": 20,
                "project_id": PROJECT_A,
            }
        made[make_campaign(trial, name, **fields)] = name
    return made


def test_import_all_adopts_a_workspace_plans_empty_and_a_rerun_imports_nothing(
    trial: Trial,
) -> None:
    made = twenty_five(trial)
    # A file of this repository already has the key the first "Weekly check-in" would get.
    (trial.root / "campaigns" / "weekly-check-in.yaml").write_text("name: Ours\n")
    trial.sent()
    result = trial.cli("import", "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imported 25." in result.stdout
    assert "shows no changes" in result.stdout
    state = trial.state()["campaigns"]
    imported = {entry["interview_id"]: key for key, entry in state.items()}
    assert set(imported) == set(made)
    assert sorted(key for key in imported.values() if "weekly" in key) == [
        "weekly-check-in-2",
        "weekly-check-in-3",
        "weekly-check-in-4",
    ]
    assert sorted(key for key in imported.values() if "exit" in key) == [
        "exit-interview",
        "exit-interview-2",
    ]
    assert (trial.root / "campaigns" / "weekly-check-in.yaml").read_text() == "name: Ours\n"
    for interview_id, key in imported.items():
        text = (trial.root / "campaigns" / f"{key}.yaml").read_text()
        assert f"interview_id: {interview_id}" in text
        assert "not here and not\n# managed until you add them: voice_id" in text
    actions = plan_actions(trial)
    assert {actions[key] for key in imported.values()} == {"no-op"}
    assert trial.sent() == []

    before = snapshot(trial.root)
    again = trial.cli("import", "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "25 already in state. Nothing to import." in again.stdout
    assert snapshot(trial.root) == before


def test_a_dry_run_shows_paths_and_ids_and_changes_nothing(trial: Trial) -> None:
    first = make_campaign(trial, "Pricing: what customers say")
    second = make_campaign(trial, "Pricing: what customers say")
    before = snapshot(trial.root)
    result = trial.cli("import", "--all", "--dry-run", "--into", "adopted/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"campaigns/adopted/pricing-what-customers-say.yaml  <- {first}" in result.stdout
    assert f"campaigns/adopted/pricing-what-customers-say-2.yaml  <- {second}" in result.stdout
    assert "nothing was written" in result.stdout
    assert snapshot(trial.root) == before


def test_filters_pick_the_campaigns_listed(trial: Trial) -> None:
    in_a = make_campaign(trial, "In A", project_id=PROJECT_A)
    in_b = make_campaign(trial, "In B", project_id=PROJECT_B)
    active = make_campaign(trial, "Running", project_id=PROJECT_B)
    trial.emulator.set_status(active, "active")
    by_project = trial.cli("import", "--all", "--project-id", PROJECT_A, "--dry-run")
    assert by_project.returncode == 0, by_project.stderr
    assert in_a in by_project.stdout
    assert in_b not in by_project.stdout
    assert active not in by_project.stdout
    by_status = trial.cli("import", "--all", "--status", "active", "--into", "running")
    assert by_status.returncode == 0, by_status.stdout + by_status.stderr
    assert {entry["interview_id"] for entry in trial.state()["campaigns"].values()} == {active}
    assert (trial.root / "campaigns" / "running" / "running.yaml").exists()


def test_a_run_stopped_part_way_is_consistent_and_the_next_run_continues(trial: Trial) -> None:
    ids = [make_campaign(trial, f"Campaign {n}") for n in range(1, 6)]
    # The third holds what no campaign file can: an end before its start.
    web_app_edit(
        trial.emulator,
        ids[2],
        timeframe_start="2027-06-01T00:00:00Z",
        timeframe_end="2027-05-01T00:00:00Z",
    )
    stopped = trial.cli("import", "--all")
    assert stopped.returncode == 1
    assert f"Campaign {ids[2]} holds values a campaign file cannot" in stopped.stderr
    assert "timeframe_end must be after timeframe_start" in stopped.stdout + stopped.stderr
    assert "Imported 2; 3 not imported yet." in stopped.stdout
    recorded = {entry["interview_id"]: key for key, entry in trial.state()["campaigns"].items()}
    assert set(recorded) == set(ids[:2])
    written = sorted(p.name for p in (trial.root / "campaigns").glob("campaign-*.yaml"))
    assert written == ["campaign-1.yaml", "campaign-2.yaml"]

    web_app_edit(trial.emulator, ids[2], timeframe_end="2027-07-01T00:00:00Z")
    resumed = trial.cli("import", "--all")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 already in state" in resumed.stdout
    assert "Imported 3." in resumed.stdout
    state = trial.state()["campaigns"]
    assert {entry["interview_id"] for entry in state.values()} == set(ids)
    assert recorded == {i: k for k, e in state.items() if (i := e["interview_id"]) in recorded}


def test_a_file_written_but_never_recorded_is_recorded_not_written_again(trial: Trial) -> None:
    interview_id = make_campaign(trial, "Exit interview", goal="Why people leave")
    assert trial.cli("import", "--all").returncode == 0
    # As if the run had stopped between writing the file and recording it.
    assert trial.cli("state", "rm", "exit-interview").returncode == 0
    written = (trial.root / "campaigns" / "exit-interview.yaml").read_bytes()
    result = trial.cli("import", "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imported exit-interview into campaigns/exit-interview.yaml" in result.stdout
    assert not (trial.root / "campaigns" / "exit-interview-2.yaml").exists()
    assert (trial.root / "campaigns" / "exit-interview.yaml").read_bytes() == written
    assert trial.interview_id("exit-interview") == interview_id
    assert plan_actions(trial)["exit-interview"] == "no-op"


def test_a_file_adopting_a_campaign_with_its_own_values_is_left_to_plan(trial: Trial) -> None:
    interview_id = make_campaign(trial, "Exit interview", goal="Why people leave")
    (trial.root / "campaigns" / "mine.yaml").write_text(
        f"name: Exit interview\ninterview_id: {interview_id}\ngoal: Our own goal\n"
    )
    result = trial.cli("import", "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "campaigns/mine.yaml already adopts campaign" in result.stderr
    assert "Nothing to import." in result.stdout
    assert not (trial.root / "campaigns" / "exit-interview.yaml").exists()
    assert plan_actions(trial)["mine"] == "adopt"


def test_a_recorded_campaign_whose_file_is_gone_is_named(trial: Trial) -> None:
    make_campaign(trial, "Gone")
    assert trial.cli("import", "--all").returncode == 0
    (trial.root / "campaigns" / "gone.yaml").unlink()
    result = trial.cli("import", "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gone is in state but its file is gone; `campaignsync state rm gone`" in result.stderr


def test_wrong_combinations_are_usage_errors_that_write_nothing(trial: Trial) -> None:
    before = snapshot(trial.root)
    for args, message in [
        (["--all", "00000000-0000-4000-8000-000000000000"], "give no INTERVIEW_ID"),
        (["--dry-run"], "Give INTERVIEW_ID and KEY"),
        (["00000000-0000-4000-8000-000000000000", "k", "--dry-run"], "only go with --all"),
        (["--all", "--into", "../outside"], "is not a campaign key"),
        (["--all", "--project-id", "nope"], "is not a project id"),
    ]:
        result = trial.cli("import", *args)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert snapshot(trial.root) == before


def test_progress_shows_on_a_terminal_only(trial: Trial) -> None:
    for number in range(12):
        make_campaign(trial, f"Piped {number}")
    off_terminal = trial.cli("import", "--all")
    assert off_terminal.returncode == 0
    assert "Importing" not in off_terminal.stderr
    for number in range(12):
        make_campaign(trial, f"On a terminal {number}")
    main, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "campaignsync", "import", "--all"],
            cwd=trial.root,
            env=trial.env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
        )
        os.close(terminal)
        shown = _read_all(main)
    finally:
        os.close(main)
    assert done.returncode == 0, shown
    assert "Importing" in shown
    assert "Importing" not in done.stdout


def _read_all(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # the terminal's other end is closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_folder_that_cannot_be_made_is_a_clear_error(trial: Trial) -> None:
    make_campaign(trial, "Exit interview")
    (trial.root / "campaigns" / "blocked").write_text("a file, not a folder\n")
    result = trial.cli("import", "--all", "--into", "blocked")
    assert result.returncode == 1
    assert "Cannot make the folder campaigns/blocked" in result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert not (trial.root / "campaignsync.state.json").exists()


def test_one_import_with_another_file_invalid_writes_nothing(trial: Trial) -> None:
    interview_id = make_campaign(trial, "Exit interview")
    (trial.root / "campaigns" / "broken.yaml").write_text("name: B\ngoals: typo\n")
    result = trial.cli("import", interview_id, "exit")
    assert result.returncode == 1
    assert "unknown field 'goals'" in result.stdout + result.stderr
    assert not (trial.root / "campaigns" / "exit.yaml").exists()
    assert not (trial.root / "campaignsync.state.json").exists()


# --- Imported under a _defaults.yaml ---------------------------------------------------


def test_under_defaults_state_records_what_ontora_holds_and_plan_adds_the_defaults(
    trial: Trial,
) -> None:
    folder = trial.root / "campaigns" / "adopted"
    folder.mkdir()
    (folder / "_defaults.yaml").write_text("channel: google_meet\nvoice_id: aria\n")
    make_campaign(trial, "Plain")
    make_campaign(trial, "On the phone", channel="phone")
    result = trial.cli("import", "--all", "--into", "adopted")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shows no changes of theirs" in result.stdout
    assert (
        "The next apply sends what folder defaults add to them: adopted/on-the-phone "
        "(voice_id from campaigns/adopted/_defaults.yaml); adopted/plain (channel from "
        "campaigns/adopted/_defaults.yaml, voice_id from campaigns/adopted/_defaults.yaml)"
    ) in result.stdout
    state = trial.state()["campaigns"]
    assert "channel" not in state["adopted/plain"]["last_applied"]
    assert "voice_id" not in state["adopted/plain"]["last_applied"]
    assert state["adopted/on-the-phone"]["last_applied"]["channel"] == "phone"
    plain = YAML(typ="safe").load((folder / "plain.yaml").read_text())
    assert "channel" not in plain
    plan = trial.cli("plan", "--target", "adopted/plain", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "from campaigns/adopted/_defaults.yaml" in plan.stdout
    assert "(channel, voice_id)" in plan.stdout
