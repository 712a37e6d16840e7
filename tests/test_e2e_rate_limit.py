"""Rate limits end to end: parallel workers share one pause and spread their retries."""

from __future__ import annotations

import shutil

from tests.emulator_harness import Trial


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
