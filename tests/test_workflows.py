"""The shipped GitHub Actions workflows: well formed, and their steps run here for real.

The campaignsync steps live in .github/scripts, which these tests run against the
emulator exactly as the workflows do; only GitHub's own actions (checkout, comments,
artifacts) are left to GitHub.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from campaignsync.cli import cli
from tests.conftest import REPO
from tests.emulator_harness import Trial

WORKFLOWS = REPO / ".github" / "workflows"
SCRIPTS = REPO / ".github" / "scripts"


def workflow(name: str) -> Any:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def step(document: Any, name: str) -> Any:
    (found,) = [
        s for job in document["jobs"].values() for s in job["steps"] if s.get("name") == name
    ]
    return found


def test_plan_workflow_runs_on_pull_requests_touching_campaigns() -> None:
    document = workflow("campaigns-plan.yml")
    assert "campaigns/**" in document["on"]["pull_request"]["paths"]
    assert document["permissions"]["pull-requests"] == "write"
    runs = [s.get("run", "") for s in document["jobs"]["plan"]["steps"]]
    assert ".github/scripts/plan.sh" in runs
    uses = [s.get("uses", "") for s in document["jobs"]["plan"]["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    comment = step(document, "Post or update the plan comment")
    assert "<!-- campaignsync-plan " in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]


def test_apply_workflow_never_overlaps_and_commits_state_without_retriggering() -> None:
    document = workflow("campaigns-apply.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    assert "campaignsync.state.json" not in document["on"]["push"]["paths"]
    assert document["concurrency"] == {"group": "campaigns-apply", "cancel-in-progress": False}
    commit = step(document, "Commit the state file")
    assert commit["if"] == "always()"
    assert "[skip ci]" in commit["run"]
    for name in ("campaigns-plan.yml", "campaigns-apply.yml"):
        env = workflow(name)["jobs"]
        (job,) = env.values()
        assert set(job["env"]) >= {"ONTORA_API_KEY", "ONTORA_API_TOKEN", "ONTORA_WORKSPACE_ID"}


def test_pre_commit_hook_offers_validate() -> None:
    (hook,) = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "campaignsync validate"
    assert hook["pass_filenames"] is False


def invocations() -> list[list[str]]:
    """Every `campaignsync ...` command the scripts and the pre-commit hook run."""
    calls = []
    for path in SCRIPTS.glob("*.sh"):
        for line in path.read_text().replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "campaignsync":
                calls.append([word for word in words[1:] if not word.startswith("${")])
    for hook in YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text()):
        calls.append(shlex.split(hook["entry"])[1:])
    return calls


def test_every_command_the_workflows_run_exists_with_those_options() -> None:
    calls = invocations()
    assert {call[0] for call in calls} >= {"validate", "plan", "apply"}
    for call in calls:
        command = cli.get_command(click.Context(cli), call[0])
        assert command is not None, f"no command {call[0]!r}"
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for token in call[1:]:
            if token.startswith("--"):
                assert token.split("=")[0] in known, f"campaignsync {call[0]} has no {token}"


def script_env(trial: Trial, **extra: str) -> dict[str, str]:
    env = dict(trial.env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PLAN_DIR"] = str(trial.root / "out")
    env["GITHUB_STEP_SUMMARY"] = str(trial.root / "summary.md")
    return env | extra


def run_script(trial: Trial, name: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / name)],
        cwd=trial.root,
        env=script_env(trial, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plan_step_writes_the_comment_the_artifact_and_the_summary(trial: Trial) -> None:
    result = run_script(trial, "plan.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    comment = (trial.root / "out" / "plan.md").read_text()
    assert comment.startswith("<!-- campaignsync-plan digest=")
    assert "3 to create" in comment
    assert (trial.root / "out" / "plan.json").exists()
    assert (trial.root / "summary.md").read_text() == comment
    assert [r for r in trial.sent() if r[0] != "GET"] == []


def test_plan_step_annotates_invalid_files_and_fails(trial: Trial) -> None:
    (trial.root / "campaigns" / "broken.yaml").write_text("name: B\ngoals: typo\n")
    result = run_script(trial, "plan.sh")
    assert result.returncode == 1
    assert "::error file=campaigns/broken.yaml,line=2,col=1::unknown field 'goals'" in result.stdout


def digest_of(trial: Trial) -> str:
    comment = (trial.root / "out" / "plan.md").read_text()
    match = re.match(r"<!-- campaignsync-plan digest=([0-9a-f]+) -->", comment)
    assert match
    return match.group(1)


def test_apply_step_applies_the_reviewed_plan(trial: Trial) -> None:
    assert run_script(trial, "plan.sh").returncode == 0
    approved = digest_of(trial)
    result = run_script(trial, "apply.sh", APPROVED_DIGEST=approved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply complete: 3 campaign(s)" in result.stdout
    assert len(trial.emulator.campaigns()) == 3
    again = run_script(trial, "apply.sh", APPROVED_DIGEST="")
    assert "No changes to apply." in again.stdout


def test_apply_step_refuses_a_plan_that_is_not_the_reviewed_one(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh").returncode == 0
    approved = digest_of(applied)
    applied.edit("product/pricing-feedback.yaml", "Find out why", "Sneaked in after review")
    applied.sent()
    result = run_script(applied, "apply.sh", APPROVED_DIGEST=approved)
    assert result.returncode == 1
    assert "is not the plan reviewed on the pull request" in result.stdout
    assert [r for r in applied.sent() if r[0] != "GET"] == []


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_commit_step_pushes_state_back_even_after_a_failed_apply(
    trial: Trial, tmp_path_factory: pytest.TempPathFactory, outcome: str
) -> None:
    origin = tmp_path_factory.mktemp("origin") / "repo.git"
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "--bare", "-q", str(origin)], check=True)
    subprocess.run([*git, "init", "-q"], cwd=trial.root, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(origin)], cwd=trial.root, check=True)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "add", "campaigns"], cwd=trial.root, check=True)
    subprocess.run(["git", *identity, "commit", "-qm", "campaigns"], cwd=trial.root, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=trial.root, check=True)
    subprocess.run(
        ["git", "branch", "-q", "--set-upstream-to=origin/main"], cwd=trial.root, check=True
    )

    if outcome == "failure":
        trial.emulator.set_faults(reject_fields=["contacts.email"])
    run_script(trial, "apply.sh")
    commit_step = step(workflow("campaigns-apply.yml"), "Commit the state file")["run"]
    result = subprocess.run(
        ["bash", "-c", commit_step], cwd=trial.root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    log = subprocess.run(
        ["git", "log", "-1", "--format=%s", "main"], cwd=origin, capture_output=True, text=True
    ).stdout
    assert log.strip() == "campaignsync: record applied state [skip ci]"
    shown = subprocess.run(
        ["git", "show", "main:campaignsync.state.json"], cwd=origin, capture_output=True, text=True
    )
    assert '"interview_id"' in shown.stdout
