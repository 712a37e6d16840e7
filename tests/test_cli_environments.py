"""Commands with environments declared: who needs a choice, and plans that name theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaignsync.filestate import write_state
from campaignsync.state import State
from tests.conftest import RunCli, WriteCampaign
from tests.factories import ENVIRONMENTS_CONFIG, PRODUCTION, STAGING


@pytest.fixture
def environments(project: Path, write_campaign: WriteCampaign) -> Path:
    (project / "campaignsync.yaml").write_text(ENVIRONMENTS_CONFIG)
    write_campaign("hr/onboarding.yaml", "name: Onboarding\ngoal: Learn how the first week went\n")
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["plan"],
        ["apply", "--auto-approve"],
        ["drift"],
        ["import", "5d3e8a8e-0b7a-4a55-8f3e-2d4b6c8a0e1f", "hr/imported"],
        ["state", "list"],
        ["state", "pull"],
        ["state", "lock"],
    ],
)
def test_commands_reading_state_or_ontora_need_an_environment(
    environments: Path, run_cli: RunCli, command: list[str]
) -> None:
    result = run_cli(*command)
    assert result.exit_code == 1, result.output
    assert "choose one with --env NAME" in result.output
    assert "staging, production" in result.output
    assert "Traceback" not in result.output
    assert not list(environments.glob("*.state.json"))


def test_validate_needs_no_environment(environments: Path, run_cli: RunCli) -> None:
    result = run_cli("validate")
    assert result.exit_code == 0, result.output
    assert run_cli("validate", "--env", "staging").exit_code == 0


def test_an_undeclared_environment_is_refused_by_every_command(
    environments: Path, run_cli: RunCli
) -> None:
    for command in (["validate"], ["plan"]):
        result = run_cli(*command, "--env", "prod")
        assert result.exit_code == 1
        assert "does not declare; choose one of staging, production" in result.output


def test_env_without_declared_environments_is_refused(project: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", "--env", "staging")
    assert result.exit_code == 1
    assert "declares no environments" in result.output


def test_a_plan_names_its_environment_in_every_format(environments: Path, run_cli: RunCli) -> None:
    text = run_cli("plan", "--env", "staging")
    assert text.exit_code == 0, text.output
    assert "Environment: staging" in text.output
    markdown = run_cli("plan", "--env", "staging", "--format", "markdown").output
    assert markdown.startswith("<!-- campaignsync-plan env=staging digest=")
    assert "environment `staging`" in markdown
    document = json.loads(run_cli("plan", "--env", "production", "--format", "json").output)
    assert document["environment"] == "production"
    assert document["workspace_id"] == PRODUCTION


def test_the_environment_is_part_of_the_digest(environments: Path, run_cli: RunCli) -> None:
    (environments / "campaignsync.yaml").write_text(
        "environments:\n  staging: {state: a.json}\n  production: {state: b.json}\n"
    )
    digests = {
        name: json.loads(run_cli("plan", "--env", name, "--format", "json").output)["digest"]
        for name in ("staging", "production")
    }
    assert digests["staging"] != digests["production"]


def test_a_state_of_another_environment_is_refused_naming_the_environment(
    environments: Path, run_cli: RunCli
) -> None:
    staging_state = environments / "campaignsync.staging.state.json"
    write_state(staging_state, State(api_url="https://api.ontora.com", workspace_id=STAGING))
    before = staging_state.read_bytes()
    result = run_cli("plan", "--env", "production", "--state", str(staging_state))
    assert result.exit_code == 1
    assert "environment production" in result.output
    assert f"belongs to workspace {STAGING}" in result.output
    assert staging_state.read_bytes() == before


def test_a_saved_plan_is_refused_in_another_environment(
    environments: Path, run_cli: RunCli
) -> None:
    assert run_cli("plan", "--env", "staging", "--out", "plan.json").exit_code == 0
    result = run_cli("apply", "--env", "production", "plan.json")
    assert result.exit_code == 3, result.output
    assert "made for environment staging, not production" in result.output
    assert "--env staging" in result.output
    assert not list(environments.glob("*.state.json*"))


def test_a_plan_of_an_environment_is_refused_without_one_and_the_reverse(
    environments: Path, run_cli: RunCli
) -> None:
    assert run_cli("plan", "--env", "staging", "--out", "staging.json").exit_code == 0
    config = environments / "campaignsync.yaml"
    config.write_text(f"workspace_id: {STAGING}\nstate: campaignsync.staging.state.json\n")
    result = run_cli("apply", "staging.json")
    assert result.exit_code == 3, result.output
    assert "made for environment staging" in result.output
    assert run_cli("plan", "--out", "plain.json").exit_code == 0
    config.write_text(ENVIRONMENTS_CONFIG)
    result = run_cli("apply", "--env", "staging", "plain.json")
    assert result.exit_code == 3, result.output
    assert "made for no environment, not staging" in result.output


def test_a_saved_plan_whose_environment_was_edited_is_refused(
    environments: Path, run_cli: RunCli
) -> None:
    assert run_cli("plan", "--env", "staging", "--out", "plan.json").exit_code == 0
    document = json.loads((environments / "plan.json").read_text())
    document["environment"] = "production"
    (environments / "plan.json").write_text(json.dumps(document))
    result = run_cli("apply", "--env", "production", "plan.json")
    assert result.exit_code == 1
    assert "changed after it was made" in result.output


def test_environments_lists_the_declared_names_in_order(
    environments: Path, run_cli: RunCli
) -> None:
    result = run_cli("environments")
    assert result.exit_code == 0, result.output
    assert result.output == "staging\nproduction\n"
    described = json.loads(run_cli("environments", "--format", "json").output)
    assert [(e["name"], e["workspace_id"], e["state_file"]) for e in described] == [
        ("staging", STAGING, "campaignsync.staging.state.json"),
        ("production", PRODUCTION, "campaignsync.production.state.json"),
    ]


def test_environments_prints_nothing_when_none_is_declared(project: Path, run_cli: RunCli) -> None:
    assert run_cli("environments").output == ""
    assert json.loads(run_cli("environments", "--format", "json").output) == []


def test_a_saved_plan_says_how_to_apply_it_in_its_environment(
    environments: Path, run_cli: RunCli
) -> None:
    result = run_cli("plan", "--env", "staging", "--out", "plan.json")
    assert "run `campaignsync apply --env staging plan.json` to apply it" in result.output


OVERRIDDEN = """\
name: Onboarding
goal: Learn how the first week went
environments:
  staging:
    goal: Try the questions on the team first
  production:
    skip: true
"""


def test_plan_reads_the_campaign_files_with_the_chosen_environments_overrides(
    environments: Path, run_cli: RunCli, write_campaign: WriteCampaign
) -> None:
    write_campaign("hr/onboarding.yaml", OVERRIDDEN)
    write_campaign("ops/safety.yaml", "name: Safety\ngoal: Check the warehouse\n")
    staging = json.loads(run_cli("plan", "--env", "staging", "--format", "json").output)
    goals = {c["key"]: c["requests"][0]["body"].get("goal") for c in staging["campaigns"]}
    assert goals == {
        "hr/onboarding": "Try the questions on the team first",
        "ops/safety": "Check the warehouse",
    }
    production = json.loads(run_cli("plan", "--env", "production", "--format", "json").output)
    assert [c["key"] for c in production["campaigns"]] == ["ops/safety"]


def test_validate_knows_the_declared_environments(
    environments: Path, run_cli: RunCli, write_campaign: WriteCampaign
) -> None:
    write_campaign("hr/onboarding.yaml", OVERRIDDEN)
    for chosen in ([], ["--env", "staging"], ["--env", "production"]):
        result = run_cli("validate", *chosen)
        assert result.exit_code == 0, result.output
    write_campaign("hr/onboarding.yaml", "name: Onboarding\nenvironments:\n  prod: {}\n")
    result = run_cli("validate")
    assert result.exit_code == 1
    assert "staging, production" in result.output
