"""Crash safety, the slow way: kill -9 apply at many points of a run, then converge.

Marked `slow` (about two minutes): `pytest -m "not slow"` skips it during development; CI
runs it.
"""

from __future__ import annotations

import collections
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.emulator_harness import Emulator, cli_env, run
from tests.running_apply import RunningApply

TRIALS = 20
CAMPAIGNS = 8
REQUESTS = 2 * CAMPAIGNS  # a create and a finalize each
LATENCY_MS = 200  # each request stays in flight this long: the kill lands mid-run
PARALLELISM = 4  # requests in flight at once, answered together after the latency


def seen(emulator: Emulator, count: int) -> bool:
    return len(emulator.requests()) >= count


def write_campaigns(root: Path) -> None:
    for number in range(CAMPAIGNS):
        path = root / "campaigns" / f"team{number}" / "survey.yaml"
        path.parent.mkdir(parents=True)
        contacts = "\n".join(
            f"  - {{name: Person {i}, email: person{i}@team{number}.example.org}}" for i in range(5)
        )
        path.write_text(
            f"name: Team {number} survey\n"
            f"project_context: Context {number}\n"
            "topics:\n  - {name: Workload}\n  - {name: Tools}\n"
            "questions:\n  - {text: How is your week?, topic: Workload}\n"
            f"contacts:\n{contacts}\n"
        )


@pytest.mark.slow
def test_killed_applies_always_converge_to_one_campaign_per_file(
    tmp_path: Path, emulator: Emulator
) -> None:
    write_campaigns(tmp_path)
    env = cli_env(emulator)
    state_path = tmp_path / "campaignsync.state.json"
    for trial in range(TRIALS):
        emulator.reset()
        emulator.set_faults(latency_ms=LATENCY_MS)
        for leftover in tmp_path.glob("campaignsync.state.json*"):
            leftover.unlink()

        with RunningApply(tmp_path, env, "--parallelism", str(PARALLELISM)) as apply:
            # Killed once Ontora has answered a given number of its requests: each trial at
            # another point, from after the first create to the moment the last requests
            # are sent (answers come PARALLELISM at a time: a later count may be the end).
            answered = 1 + trial % (REQUESTS - PARALLELISM)
            apply.wait_until(functools.partial(seen, emulator, answered), f"{answered} request(s)")
            assert apply.running, f"trial {trial}: apply ended before it was killed"
            apply.kill()

        if state_path.exists():  # whatever moment it died at, the state is whole JSON
            json.loads(state_path.read_text())

        rerun = run(tmp_path, env, "apply", "--auto-approve")
        assert rerun.returncode == 0, f"trial {trial}: {rerun.stdout}{rerun.stderr}"

        remote = emulator.campaigns()
        state = json.loads(state_path.read_text())["campaigns"]
        ids = sorted(entry["interview_id"] for entry in state.values())
        assert len(remote) == CAMPAIGNS, f"trial {trial}: {len(remote)} remote campaigns"
        assert ids == sorted(remote), f"trial {trial}: state and Ontora disagree"
        for entry in state.values():
            assert entry["pending_create"] is None
            assert remote[entry["interview_id"]]["topics"] == [
                {"name": "Workload"},
                {"name": "Tools"},
            ]
        plan = run(tmp_path, env, "plan", "--detailed-exitcode")
        assert plan.returncode == 0, f"trial {trial}: {plan.stdout}"


@pytest.mark.slow
def test_a_create_killed_in_flight_then_edited_ends_as_one_campaign_with_the_edits(
    tmp_path: Path, emulator: Emulator
) -> None:
    emulator.reset()
    # Every answer is lost on the way back: the create takes effect, and apply keeps
    # retrying it (same key, same body) until it is killed.
    emulator.set_faults(drop_rate=1.0)
    path = tmp_path / "campaigns" / "survey.yaml"
    path.parent.mkdir()
    path.write_text("name: Survey\ngoal: First goal\ntopics:\n  - {name: Workload}\n")
    env = cli_env(emulator)
    with RunningApply(tmp_path, env, "--max-retries", "20") as apply:
        apply.wait_until(lambda: len(emulator.campaigns()) == 1, "the campaign to be created")
        apply.kill()
    emulator.set_faults(drop_rate=0.0)
    state = json.loads((tmp_path / "campaignsync.state.json").read_text())
    assert state["campaigns"]["survey"]["interview_id"] is None  # never learnt its id

    path.write_text(
        "name: Survey\ngoal: Edited goal\nproject_context: Added later\n"
        "topics:\n  - {name: Workload}\n  - {name: Tools}\n"
    )
    rerun = run(tmp_path, env, "apply", "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    (campaign,) = emulator.campaigns().values()
    assert (campaign["goal"], campaign["project_context"]) == ("Edited goal", "Added later")
    assert [topic["name"] for topic in campaign["topics"]] == ["Workload", "Tools"]
    posts = [r for r in emulator.requests() if r["method"] == "POST"]
    assert len({post["idempotency_key"] for post in posts}) == 1
    assert posts[-1]["body"]["goal"] == "First goal"  # re-sent exactly as first sent
    assert run(tmp_path, env, "plan", "--detailed-exitcode").returncode == 0


LAUNCHES = 8  # campaign files; every other one launches


def write_launches(root: Path) -> None:
    """Campaigns of two lengths, so that creates and starts are on their way together: a
    create and a finalize each, and for every other one a start that contacts people."""
    for number in range(LAUNCHES):
        path = root / "campaigns" / f"launch{number}.yaml"
        path.parent.mkdir(exist_ok=True)
        status = "active" if number % 2 == 0 else "draft"
        path.write_text(
            f"name: Launch {number}\nstatus: {status}\ntopics:\n  - {{name: Workload}}\n"
            f"contacts:\n  - {{name: Person, email: person@launch{number}.example.org}}\n"
        )


def starts_seen(emulator: Emulator, count: int) -> bool:
    """At least `count` starts reached Ontora: answered, or still under way."""
    received = emulator.requests() + emulator.in_flight()
    return sum(1 for r in received if r["path"].endswith("/start")) >= count


@pytest.mark.slow
def test_killed_while_launching_each_campaign_is_created_once_and_launched_once(
    tmp_path: Path, emulator: Emulator
) -> None:
    write_launches(tmp_path)
    env = cli_env(emulator)
    for trial in range(TRIALS // 2):
        emulator.reset()
        emulator.set_faults(latency_ms=LATENCY_MS)
        for leftover in tmp_path.glob("campaignsync.state.json*"):
            leftover.unlink()
        with RunningApply(tmp_path, env, "--allow-launch") as apply:
            # Killed with the nth start on its way: launches cut short at each point.
            count = 1 + trial % (LAUNCHES // 2)
            apply.wait_until(functools.partial(starts_seen, emulator, count), f"{count} start(s)")
            apply.kill()

        rerun = run(tmp_path, env, "apply", "--auto-approve", "--allow-launch")
        assert rerun.returncode == 0, f"trial {trial}: {rerun.stdout}{rerun.stderr}"
        remote = emulator.campaigns()
        names = collections.Counter(campaign["name"] for campaign in remote.values())
        assert names == {f"Launch {n}": 1 for n in range(LAUNCHES)}, f"trial {trial}: {names}"
        active = {key for key, campaign in remote.items() if campaign["status"] == "active"}
        assert {remote[key]["name"] for key in active} == {
            f"Launch {n}" for n in range(0, LAUNCHES, 2)
        }
        launched = launches_by_campaign(emulator.requests())
        # A start resent after the kill is answered 409: each campaign launched exactly once.
        assert launched == dict.fromkeys(active, 1), f"trial {trial}"
        state = json.loads((tmp_path / "campaignsync.state.json").read_text())["campaigns"]
        assert sorted(entry["interview_id"] for entry in state.values()) == sorted(remote)
        plan = run(tmp_path, env, "plan", "--detailed-exitcode")
        assert plan.returncode == 0, f"trial {trial}: {plan.stdout}"


def launches_by_campaign(log: list[dict[str, Any]]) -> dict[str, int]:
    """How many starts each campaign took (answered 200), by its id."""
    launched: dict[str, int] = collections.Counter()
    for request in log:
        if request["path"].endswith("/start") and request["status"] == 200:
            launched[request["path"].split("/")[3]] += 1
    return dict(launched)
