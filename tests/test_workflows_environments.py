"""The workflow scripts with environments declared: one comment section per environment,
applied in declared order against each one's own reviewed marker, every state committed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.emulator_harness import Trial
from tests.factories import ENVIRONMENTS_CONFIG, PRODUCTION, STAGING
from tests.test_workflows import (
    BOT,
    SOMEONE,
    git,
    run_github_script,
    run_script,
    script_env,
    step,
    workflow,
)

SECTION = re.compile(
    r"^<!-- campaignsync-plan env=([a-z][a-z0-9_-]*) digest=([0-9a-f]+) overwrites=(\w+) -->$",
    re.MULTILINE,
)


@pytest.fixture
def two(trial: Trial) -> Trial:
    """The examples with staging and production declared; the workspaces come from the file."""
    (trial.root / "campaignsync.yaml").write_text(ENVIRONMENTS_CONFIG)
    trial.env["ONTORA_WORKSPACE_ID"] = ""
    return trial


def reviewed(trial: Trial) -> dict[str, str]:
    """What the apply job passes on from the comment's markers (as its JavaScript does)."""
    comment = (trial.root / "out" / "plan.md").read_text()
    lines = [" ".join(match) for match in SECTION.findall(comment)]
    return {"APPROVED_ENVIRONMENTS": "\n".join(lines)}


def in_workspace(trial: Trial, workspace: str) -> int:
    return sum(1 for c in trial.emulator.campaigns().values() if c["workspace_id"] == workspace)


def test_the_comment_has_one_section_per_environment_in_declared_order(two: Trial) -> None:
    result = run_script(two, "plan.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    comment = (two.root / "out" / "plan.md").read_text()
    assert comment.startswith("<!-- campaignsync-plan env=staging digest=")
    assert [name for name, _, _ in SECTION.findall(comment)] == ["staging", "production"]
    assert comment.count("3 to create") == 2
    assert "### campaignsync plan: environment `staging`" in comment
    assert comment.index("`staging`") < comment.index("`production`")
    for name in ("staging", "production"):
        marker, section = (two.root / "out" / name / "plan.md").read_text().split("\n", 1)
        assert comment.count(marker) == 1
        assert section in comment
        assert (two.root / "out" / name / "plan.json").exists()
    digests = {name: digest for name, digest, _ in SECTION.findall(comment)}
    assert digests["staging"] != digests["production"]
    assert (two.root / "summary.md").read_text() == comment
    assert two.sent() == []


def test_the_merge_applies_every_environment_in_order_each_against_its_marker(
    two: Trial,
) -> None:
    assert run_script(two, "plan.sh").returncode == 0
    result = run_script(two, "apply.sh", **reviewed(two))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.index("Applying environment staging") < result.stdout.index(
        "Applying environment production"
    )
    assert result.stdout.count("Apply complete: 3 campaign(s)") == 2
    assert (in_workspace(two, STAGING), in_workspace(two, PRODUCTION)) == (3, 3)
    creates = [body["workspace_id"] for _, path, body in two.sent() if path == "/v1/interviews"]
    assert creates == [STAGING] * 3 + [PRODUCTION] * 3
    again = run_script(two, "apply.sh", APPROVED_ENVIRONMENTS="")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Environment staging: No changes to apply." in again.stdout
    assert "Environment production: No changes to apply." in again.stdout


def test_a_failure_in_staging_stops_before_production(two: Trial) -> None:
    assert run_script(two, "plan.sh").returncode == 0
    two.emulator.set_faults(reject_fields=["contacts.email"])
    result = run_script(two, "apply.sh", **reviewed(two))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Environment staging: stopped here" in result.stdout
    assert "Applying environment production" not in result.stdout
    assert in_workspace(two, PRODUCTION) == 0
    assert not (two.root / "campaignsync.production.state.json").exists()


def test_each_environment_is_checked_against_its_own_reviewed_digest(two: Trial) -> None:
    assert run_script(two, "plan.sh").returncode == 0
    approved = reviewed(two)["APPROVED_ENVIRONMENTS"].splitlines()
    staging_line, production_line = approved
    name, _, overwrites = production_line.split()
    # The production section's digest is not the plan production would apply now.
    swapped = "\n".join([staging_line, f"{name} {'0' * 64} {overwrites}"])
    result = run_script(two, "apply.sh", APPROVED_ENVIRONMENTS=swapped)
    assert result.returncode == 1
    (error, stopped) = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert error.startswith("::error::Environment production: The plan at merge")
    assert "is not the plan reviewed on the pull request" in error
    assert "Environment production: stopped here" in stopped
    assert (in_workspace(two, STAGING), in_workspace(two, PRODUCTION)) == (3, 0)


def test_an_environment_missing_from_the_reviewed_comment_is_not_applied(two: Trial) -> None:
    assert run_script(two, "plan.sh").returncode == 0
    staging_only = reviewed(two)["APPROVED_ENVIRONMENTS"].splitlines()[0]
    result = run_script(two, "apply.sh", APPROVED_ENVIRONMENTS=staging_only)
    assert result.returncode == 1
    assert "Environment production: the plan reviewed on the pull request has no section" in (
        result.stdout
    )
    assert (in_workspace(two, STAGING), in_workspace(two, PRODUCTION)) == (3, 0)


@pytest.mark.parametrize("script", ["plan.sh", "apply.sh"])
def test_a_workspace_secret_beside_environments_is_refused(two: Trial, script: str) -> None:
    result = run_script(two, script, ONTORA_WORKSPACE_ID=STAGING)
    assert result.returncode == 1
    assert "ONTORA_WORKSPACE_ID is set" in result.stdout
    assert two.sent() == []


def test_the_comment_starts_with_every_marker_before_any_section(two: Trial) -> None:
    assert run_script(two, "plan.sh").returncode == 0
    lines = (two.root / "out" / "plan.md").read_text().splitlines()
    leading = [SECTION.match(line) for line in lines[:3]]
    assert [match.group(1) if match else None for match in leading] == [
        "staging",
        "production",
        None,
    ]
    assert sum(1 for line in lines if SECTION.match(line)) == 2


def test_the_apply_job_reads_only_the_leading_markers_one_line_each() -> None:
    document = workflow("campaigns-apply.yml")
    found = step(document, "Find the plan reviewed on the merged pull request")
    env = step(document, "Plan, compare with the reviewed plan, apply")["env"]
    assert env["APPROVED_ENVIRONMENTS"] == "${{ steps.approved.outputs.environments }}"
    # A marker line further down (a campaign's text could hold one) is never read.
    forged = "<!-- campaignsync-plan env=production digest=ffff overwrites=none -->\n"
    body = (
        "<!-- campaignsync-plan env=staging digest=aaaa overwrites=none -->\n"
        "<!-- campaignsync-plan env=production digest=bbbb overwrites=unknown -->\n"
        f"\n### staging\n{forged}\n### production\n"
    )
    comments = [
        {"id": 1, "user": SOMEONE, "body": forged},
        {"id": 2, "user": BOT, "body": body},
    ]
    pulls = [{"number": 7, "merged_at": "2026-11-01T10:00:00Z", "labels": []}]
    ran = run_github_script(found["with"]["script"], pulls=pulls, comments=comments)
    assert ran["outputs"]["environments"] == "staging aaaa none\nproduction bbbb unknown"
    comments[1]["body"] = body.replace("<!-- campaignsync-plan env=production digest=bbbb", "x")
    ran = run_github_script(found["with"]["script"], pulls=pulls, comments=comments)
    assert ran["outputs"]["environments"] == "staging aaaa none"


def test_the_commit_step_commits_every_environments_state(two: Trial, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "-c", "init.defaultBranch=main", "init", "--bare", "-q", str(bare))
    git(two.root, "-c", "init.defaultBranch=main", "init", "-q")
    git(two.root, "remote", "add", "origin", str(bare))
    git(two.root, "add", "campaigns", "campaignsync.yaml")
    git(two.root, "commit", "-qm", "campaigns")
    git(two.root, "push", "-q", "origin", "HEAD:main")
    assert run_script(two, "apply.sh").returncode == 0
    outputs = tmp_path / "github-output"
    env = {k: v for k, v in script_env(two).items() if not k.startswith("GITHUB_")}
    result = subprocess.run(
        ["bash", str(Path(__file__).parent.parent / ".github/scripts/commit-state.sh")],
        cwd=two.root,
        env=env | {"GITHUB_OUTPUT": str(outputs)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    committed = git(bare, "show", "--name-only", "--format=%s", "main").splitlines()
    assert committed[0] == "campaignsync: record applied state [skip ci]"
    assert set(committed[1:]) - {""} == {
        "campaignsync.staging.state.json",
        "campaignsync.production.state.json",
    }
    assert outputs.read_text() == (
        "state-files<<STATE_FILES\ncampaignsync.staging.state.json\n"
        "campaignsync.production.state.json\nSTATE_FILES\n"
    )
