"""End to end with state in PostgreSQL: the CLI against the emulator and a real server."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from campaignsync.pgstate import PostgresStore
from campaignsync.state import FORMAT_VERSION
from campaignsync.survey import discover
from tests.emulator_harness import (
    Emulator,
    Trial,
    cli_env,
    contact_values,
    run,
    without_contact_data,
)
from tests.running_apply import RunningApply
from tests.test_e2e_crash import CAMPAIGNS, write_campaigns


@pytest.fixture
def pg_trial(trial: Trial, postgres_url: str, state_name: str) -> Trial:
    """The example campaigns, with their state under a fresh name in the test database."""
    trial.env |= {"CAMPAIGNSYNC_STATE": postgres_url, "CAMPAIGNSYNC_STATE_NAME": state_name}
    return trial


def pulled(trial: Trial) -> dict[str, Any]:
    result = trial.cli("state", "pull")
    assert result.returncode == 0, result.stdout + result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def one_campaign_per_file(trial: Trial) -> None:
    names = Counter(campaign["name"] for campaign in trial.emulator.campaigns().values())
    files = len(discover(trial.root / "campaigns"))  # campaign files, not _defaults.yaml
    assert len(names) == files
    assert all(count == 1 for count in names.values()), names


def test_apply_then_an_empty_plan_and_nothing_written_beside(pg_trial: Trial) -> None:
    result = pg_trial.apply()
    assert result.returncode == 0, result.stdout + result.stderr
    pg_trial.converged()
    state = pulled(pg_trial)
    assert state["serial"] > 0
    assert set(state["campaigns"]) == {
        path.relative_to(pg_trial.root / "campaigns").with_suffix("").as_posix()
        for path in discover(pg_trial.root / "campaigns")
    }
    assert not list(pg_trial.root.glob("campaignsync.state.json*"))


def stored_rows(url: str, name: str) -> str:
    """Every row campaignsync keeps for the state `name`, as text."""
    with psycopg.connect(url) as connection:
        rows = [
            connection.execute(f"SELECT * FROM {table} WHERE name = %s", (name,)).fetchall()
            for table in ("campaignsync_state", "campaignsync_lock")
        ]
    return repr(rows)


def test_no_contact_name_email_or_phone_is_stored_in_postgres(
    pg_trial: Trial, postgres_url: str, state_name: str
) -> None:
    assert pg_trial.apply().returncode == 0
    pg_trial.edit("hr/onboarding-contacts.csv", "Data Analyst", "Senior Data Analyst")
    assert pg_trial.apply().returncode == 0
    values = contact_values(pg_trial.emulator)
    assert "Dana Whitfield" in values  # the check below can fail
    stored = stored_rows(postgres_url, state_name)
    assert state_name in stored  # the rows were found
    assert without_contact_data(stored, values | {"Data Analyst"}) == []
    pg_trial.converged()


def test_a_version_1_document_stored_in_postgres_migrates_on_the_next_write(
    pg_trial: Trial, postgres_url: str, state_name: str, tmp_path: Path
) -> None:
    assert pg_trial.apply().returncode == 0
    document = pulled(pg_trial)
    contacts = [{"name": "Dana Whitfield", "email": "dana.whitfield@example.org"}]
    entry = document["campaigns"]["hr/onboarding"]
    entry["last_applied"]["contacts"] = contacts  # as version 1 kept them
    del document["fingerprint_key"]
    old = {**document, "format_version": 1}
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "UPDATE campaignsync_state SET document = %s::jsonb WHERE name = %s",
            (json.dumps(old), state_name),
        )
    migrated = pulled(pg_trial)
    assert migrated["format_version"] == FORMAT_VERSION
    assert "Dana" not in json.dumps(migrated)
    assert pg_trial.cli("state", "rm", "ops/warehouse-safety").returncode == 0  # a write
    assert without_contact_data(stored_rows(postgres_url, state_name), {"Dana Whitfield"}) == []


def test_two_concurrent_applies_make_each_campaign_once(pg_trial: Trial) -> None:
    pg_trial.emulator.set_faults(latency_ms=40)
    runs = [RunningApply(pg_trial.root, pg_trial.env, "--lock-timeout", "120") for _ in range(2)]
    results = [run.finish(timeout=240) for run in runs]
    assert [result.returncode for result in results] == [0, 0], results
    assert sum("Nothing to apply." in result.stdout for result in results) == 1, results
    one_campaign_per_file(pg_trial)
    pg_trial.converged()


def test_a_second_apply_without_a_timeout_exits_3_naming_the_holder(
    pg_trial: Trial, postgres_url: str, state_name: str
) -> None:
    holder = PostgresStore(postgres_url, name=state_name)
    try:
        with holder.lock(command="campaignsync apply (elsewhere)"):
            result = pg_trial.apply()
    finally:
        holder.close()
    assert result.returncode == 3, result.stdout + result.stderr
    assert "locked by 'campaignsync apply (elsewhere)'" in result.stderr
    assert pg_trial.emulator.campaigns() == {}


def test_kill_9_mid_apply_then_a_rerun_converges_once_the_lease_runs_out(
    pg_trial: Trial,
) -> None:
    pg_trial.env["CAMPAIGNSYNC_LOCK_LEASE"] = "2"
    pg_trial.emulator.set_faults(latency_ms=300)
    with RunningApply(pg_trial.root, pg_trial.env, "--parallelism", "1") as doomed:
        doomed.wait_until(lambda: len(pg_trial.emulator.requests()) >= 1, "the first request")
        doomed.kill()
    shown = pg_trial.cli("state", "lock", "--format", "json")
    assert json.loads(shown.stdout)["locked"], shown.stdout  # the dead run's row is still there
    pg_trial.emulator.set_faults(latency_ms=0)
    result = pg_trial.apply("--lock-timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    one_campaign_per_file(pg_trial)
    pg_trial.converged()


def test_state_pull_and_push_round_trip_and_push_refuses_another_lineage(
    pg_trial: Trial, tmp_path: Path
) -> None:
    assert pg_trial.apply().returncode == 0
    copy = tmp_path / "pulled.json"
    copy.write_text(json.dumps(pulled(pg_trial)))
    before = pulled(pg_trial)
    pushed = pg_trial.cli("state", "push", str(copy))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    after = pulled(pg_trial)
    assert after["serial"] == before["serial"] + 1
    assert {**after, "serial": 0} == {**before, "serial": 0}
    pg_trial.converged()

    foreign = tmp_path / "foreign.json"
    foreign.write_text(
        json.dumps({**before, "lineage": "11111111-2222-4333-8444-555555555555", "serial": 99})
    )
    refused = pg_trial.cli("state", "push", str(foreign))
    assert refused.returncode == 1
    assert "another state" in refused.stderr
    assert pulled(pg_trial)["lineage"] == before["lineage"]
    forced = pg_trial.cli("state", "push", "--force", str(foreign))
    assert forced.returncode == 0, forced.stderr
    assert pulled(pg_trial)["lineage"] == "11111111-2222-4333-8444-555555555555"


def test_push_refuses_a_lower_serial(pg_trial: Trial, tmp_path: Path) -> None:
    assert pg_trial.apply().returncode == 0
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**pulled(pg_trial), "serial": 1}))
    refused = pg_trial.cli("state", "push", str(old))
    assert refused.returncode == 1
    assert "newer than the file's 1" in refused.stderr


def test_push_of_a_file_that_is_not_a_state_says_nothing_was_pushed(
    pg_trial: Trial, tmp_path: Path
) -> None:
    assert pg_trial.apply().returncode == 0
    before = pulled(pg_trial)
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"format_version": 3, "serial": NaN}')
    refused = pg_trial.cli("state", "push", str(damaged))
    assert refused.returncode == 1
    assert "Nothing was pushed, and the stored state was not changed." in refused.stderr
    assert "restore it" not in refused.stderr
    assert pulled(pg_trial) == before


def test_moving_a_file_state_into_postgres(
    trial: Trial, postgres_url: str, state_name: str
) -> None:
    assert trial.apply().returncode == 0
    file_state = trial.state()
    pg_env = {"CAMPAIGNSYNC_STATE": postgres_url, "CAMPAIGNSYNC_STATE_NAME": state_name}
    moved = trial.cli("state", "push", "campaignsync.state.json")
    assert moved.returncode == 0  # into the file itself: a no-op round trip
    trial.env |= pg_env
    result = trial.cli("state", "push", "campaignsync.state.json")
    assert result.returncode == 0, result.stdout + result.stderr
    stored = pulled(trial)
    assert stored["lineage"] == file_state["lineage"]
    assert stored["campaigns"] == trial.state()["campaigns"]
    trial.converged()


def test_state_lock_shows_the_holder_and_unlock_asks_twice_while_live(
    pg_trial: Trial, postgres_url: str, state_name: str
) -> None:
    assert pg_trial.cli("state", "lock").stdout.endswith("is not locked.\n")
    holder = PostgresStore(postgres_url, name=state_name)
    try:
        with holder.lock(command="campaignsync apply (elsewhere)"):
            text = pg_trial.cli("state", "lock")
            assert "is locked by 'campaignsync apply (elsewhere)'" in text.stdout
            shown = json.loads(pg_trial.cli("state", "lock", "--format", "json").stdout)
            assert shown["locked"]
            assert shown["holder"]["command"] == "campaignsync apply (elsewhere)"
            assert pg_trial.cli("state", "unlock").returncode == 1
            once = pg_trial.cli("state", "unlock", "--force")
            assert once.returncode == 3
            assert "pass --force twice" in once.stderr
            twice = pg_trial.cli("state", "unlock", "--force", "--force")
            assert twice.returncode == 0, twice.stderr
            assert "Unlocked" in twice.stdout
            assert json.loads(pg_trial.cli("state", "lock", "--format", "json").stdout) == {
                **shown,
                "locked": False,
                "holder": None,
            }
    finally:
        holder.close()


def test_the_password_in_the_state_url_is_never_printed(
    emulator: Emulator, tmp_path: Path, postgres_url: str, state_name: str
) -> None:
    password = postgres_url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert password, "the test server's URL carries its password"
    env = cli_env(emulator, CAMPAIGNSYNC_STATE=postgres_url, CAMPAIGNSYNC_STATE_NAME=state_name)
    (tmp_path / "campaigns").mkdir()
    for args in (
        ("state", "lock"),
        ("state", "lock", "--format", "json"),
        ("state", "unlock", "--force"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert "***@" in result.stdout + result.stderr
        assert password not in result.stdout + result.stderr


def test_429_storms_503s_and_dropped_creates_are_ridden_out(pg_trial: Trial) -> None:
    pg_trial.emulator.set_faults(rate_limit=3, error_rate=0.3, drop_next=1)
    result = pg_trial.apply("--max-retries", "10")
    assert result.returncode == 0, result.stderr
    statuses = [r["status"] for r in pg_trial.emulator.requests()]
    assert {429, 503, "dropped"} <= set(statuses)
    pg_trial.emulator.set_faults(rate_limit=0, error_rate=0)
    one_campaign_per_file(pg_trial)
    pg_trial.converged()


CRASH_TRIALS = 12


@pytest.mark.slow
def test_killed_applies_always_converge_with_state_in_postgres(
    tmp_path: Path, emulator: Emulator, postgres_url: str
) -> None:
    """The file store's crash trials (tests/test_e2e_crash.py), with state in PostgreSQL."""
    dice = random.Random(20261201)
    write_campaigns(tmp_path)
    duplicates = killed_mid_run = 0
    for number in range(CRASH_TRIALS):
        env = cli_env(
            emulator,
            CAMPAIGNSYNC_STATE=postgres_url,
            CAMPAIGNSYNC_STATE_NAME=f"crash-{uuid.uuid4().hex}",
            CAMPAIGNSYNC_LOCK_LEASE="2",
        )
        emulator.reset()
        emulator.set_faults(latency_ms=80)
        cut_after = dice.randint(1, 12)  # requests seen before the kill
        with RunningApply(tmp_path, env) as apply:

            def cut_short(apply: RunningApply = apply, after: int = cut_after) -> bool:
                return len(emulator.requests()) >= after or not apply.running

            apply.wait_until(cut_short, "the moment to kill")
            killed_mid_run += apply.running
            apply.kill()
        emulator.set_faults(latency_ms=0)

        rerun = run(tmp_path, env, "apply", "--auto-approve", "--lock-timeout", "60")
        assert rerun.returncode == 0, f"trial {number}: {rerun.stdout}{rerun.stderr}"
        remote = emulator.campaigns()
        names = Counter(campaign["name"] for campaign in remote.values())
        duplicates += sum(count - 1 for count in names.values())
        state = json.loads(run(tmp_path, env, "state", "pull").stdout)["campaigns"]
        assert sorted(entry["interview_id"] for entry in state.values()) == sorted(remote)
        assert all(entry["pending_create"] is None for entry in state.values())
        assert len(remote) == CAMPAIGNS, f"trial {number}: {len(remote)} remote campaigns"
        plan = run(tmp_path, env, "plan", "--detailed-exitcode")
        assert plan.returncode == 0, f"trial {number}: {plan.stdout}"
    assert duplicates == 0
    assert killed_mid_run > 0  # some runs were cut short, or this proves nothing


def test_an_apply_whose_lock_was_taken_over_stops_at_its_next_write(
    pg_trial: Trial, postgres_url: str, state_name: str
) -> None:
    pg_trial.emulator.set_faults(latency_ms=1000)
    thief = PostgresStore(postgres_url, name=state_name)
    try:
        with RunningApply(pg_trial.root, pg_trial.env, "--parallelism", "1") as victim:
            victim.wait_until(lambda: len(pg_trial.emulator.requests()) >= 1, "the first request")
            assert thief.force_unlock(even_if_live=True) is not None
            with thief.lock(command="campaignsync apply (the thief)"):
                result = victim.finish(timeout=120)
    finally:
        thief.close()
    assert result.returncode == 1, result.stderr
    assert "was lost" in result.stderr
    assert len(pg_trial.emulator.requests()) < 6  # it stopped sending: 6 were planned
    pg_trial.emulator.set_faults(latency_ms=0)
    assert pg_trial.apply().returncode == 0
    one_campaign_per_file(pg_trial)
    pg_trial.converged()
