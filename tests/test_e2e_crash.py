"""Crash safety, the slow way: kill -9 apply at random moments, then converge.

Marked `slow` (about a minute): `pytest -m "not slow"` skips it during development; CI
runs it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.emulator_harness import Emulator, cli_env, run

TRIALS = 20
CAMPAIGNS = 8


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
    dice = random.Random(20261122)
    write_campaigns(tmp_path)
    env = cli_env(emulator)
    state_path = tmp_path / "campaignsync.state.json"
    killed_mid_run = 0
    for trial in range(TRIALS):
        emulator.reset()
        emulator.set_faults(latency_ms=80)
        for leftover in tmp_path.glob("campaignsync.state.json*"):
            leftover.unlink()

        apply = subprocess.Popen(
            [sys.executable, "-m", "campaignsync", "apply", "--auto-approve"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(dice.uniform(0.3, 1.4))
        if apply.poll() is None:
            os.kill(apply.pid, signal.SIGKILL)
            killed_mid_run += 1
        apply.wait()

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
    # The dice must actually have cut runs short, or the test proves nothing.
    assert killed_mid_run >= TRIALS // 2
