"""Rate limits end to end: parallel workers share one pause and spread their retries."""

from __future__ import annotations

import json
import shutil
import signal

from tests.emulator_harness import Trial
from tests.running_apply import RunningApply


def test_fifty_campaigns_apply_under_a_rate_limit_with_no_failed_request(trial: Trial) -> None:
    shutil.rmtree(trial.root / "campaigns")
    (trial.root / "campaigns").mkdir()
    for number in range(50):
        (trial.root / "campaigns" / f"c{number:02}.yaml").write_text(
            f"name: Campaign {number}\ngoal: Learn {number}\n"
        )
    trial.emulator.set_faults(rate_limit=10)
    result = trial.apply("--parallelism", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply complete: 50 campaign(s)" in result.stdout
    statuses = [entry["status"] for entry in trial.emulator.requests()]
    assert 429 in statuses  # the limit was reached, and every request got through anyway
    assert len(trial.emulator.campaigns()) == 50
    trial.emulator.set_faults(rate_limit=0)
    trial.converged()


def test_ctrl_c_during_a_long_retry_after_stops_at_once_and_the_rerun_converges(
    trial: Trial,
) -> None:
    shutil.rmtree(trial.root / "campaigns")
    (trial.root / "campaigns").mkdir()
    for number in range(6):
        (trial.root / "campaigns" / f"c{number}.yaml").write_text(
            f"name: Campaign {number}\ngoal: Learn {number}\n"
        )
    # One request a second is let through; every other is told to come back in a minute.
    trial.emulator.set_faults(rate_limit=1, retry_after=60)
    with RunningApply(trial.root, trial.env, "--parallelism", "4") as apply:
        apply.wait_until(lambda: 429 in [r["status"] for r in trial.emulator.requests()], "a 429")
        apply.send(signal.SIGINT)
        stopped = apply.finish(timeout=30)  # well under the 60 s asked for
    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    assert "Apply stopped:" in stopped.stderr
    assert "interrupted" in stopped.stderr
    json.loads((trial.root / "campaignsync.state.json").read_text())  # whole

    trial.emulator.set_faults(rate_limit=0, retry_after=1)
    result = trial.apply()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(trial.emulator.campaigns()) == 6
    trial.converged()
