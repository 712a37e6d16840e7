"""Two environments on two workspaces of one emulator, through the real CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.emulator_harness import Trial
from tests.factories import ENVIRONMENTS_CONFIG, PRODUCTION, STAGING


@pytest.fixture
def two(trial: Trial) -> Trial:
    """The example campaigns with staging and production declared; no workspace outside."""
    (trial.root / "campaignsync.yaml").write_text(ENVIRONMENTS_CONFIG)
    del trial.env["ONTORA_WORKSPACE_ID"]
    return trial


def state_of(trial: Trial, environment: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (trial.root / f"campaignsync.{environment}.state.json").read_text()
    )
    return document


def in_workspace(trial: Trial, workspace: str) -> dict[str, dict[str, Any]]:
    return {
        interview_id: campaign
        for interview_id, campaign in trial.emulator.campaigns().items()
        if campaign["workspace_id"] == workspace
    }


def test_applying_staging_touches_only_its_workspace_and_its_state(two: Trial) -> None:
    result = two.apply("--env", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    creates = [body for method, path, body in two.sent() if path == "/v1/interviews"]
    assert len(creates) == 3
    assert {body["workspace_id"] for body in creates} == {STAGING}
    assert len(in_workspace(two, STAGING)) == 3
    assert in_workspace(two, PRODUCTION) == {}
    staging = state_of(two, "staging")
    assert staging["workspace_id"] == STAGING
    assert set(staging["campaigns"]) == {
        "hr/onboarding",
        "ops/warehouse-safety",
        "product/pricing-feedback",
    }
    assert not (two.root / "campaignsync.production.state.json").exists()
    assert not (two.root / "campaignsync.state.json").exists()

    production = two.cli("plan", "--env", "production", "--detailed-exitcode")
    assert production.returncode == 2, production.stdout + production.stderr
    assert "3 to create" in production.stdout
    result = two.apply("--env", "production")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(in_workspace(two, PRODUCTION)) == 3
    assert state_of(two, "production")["lineage"] != staging["lineage"]
    assert state_of(two, "staging") == staging
    for environment in ("staging", "production"):
        converged = two.cli("plan", "--env", environment, "--detailed-exitcode")
        assert converged.returncode == 0, converged.stdout + converged.stderr


def test_a_staging_plan_applied_in_production_exits_3_and_sends_nothing(two: Trial) -> None:
    assert two.apply("--env", "staging").returncode == 0
    assert two.apply("--env", "production").returncode == 0
    two.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    saved = two.cli("plan", "--env", "staging", "--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    before = {name: state_of(two, name) for name in ("staging", "production")}
    remote = two.emulator.campaigns()
    seen = len(two.emulator.requests())

    result = two.cli("apply", "--env", "production", "plan.json")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "made for environment staging, not production" in result.stderr
    assert len(two.emulator.requests()) == seen
    assert two.emulator.campaigns() == remote
    assert {name: state_of(two, name) for name in ("staging", "production")} == before

    result = two.cli("apply", "--env", "staging", "plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    goals = {c["goal"] for c in in_workspace(two, STAGING).values()}
    assert any(goal.startswith("Find out why") for goal in goals)
    assert not any(
        c["goal"].startswith("Find out why") for c in in_workspace(two, PRODUCTION).values()
    )


def test_an_environments_overrides_are_what_it_applies_and_what_drift_compares(
    two: Trial,
) -> None:
    path = two.root / "campaigns" / "product" / "pricing-feedback.yaml"
    path.write_text(
        path.read_text() + "environments:\n  staging:\n    goal: Try it on the team first\n"
    )
    assert two.apply("--env", "staging").returncode == 0
    assert two.apply("--env", "production").returncode == 0
    goals = {
        workspace: {c["goal"] for c in in_workspace(two, workspace).values()}
        for workspace in (STAGING, PRODUCTION)
    }
    assert "Try it on the team first" in goals[STAGING]
    assert "Try it on the team first" not in goals[PRODUCTION]
    for environment in ("staging", "production"):
        drift = two.cli("drift", "--env", environment, "--detailed-exitcode")
        assert drift.returncode == 0, drift.stdout + drift.stderr
        assert "In sync" in drift.stdout
