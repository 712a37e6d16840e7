"""The shipped GitHub Actions workflows: well formed, and their steps run here for real.

The campaignsync steps live in .github/scripts, which these tests run against the
emulator exactly as the workflows do; only GitHub's own actions (checkout, comments,
artifacts) are left to GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from campaignsync.cli import cli
from tests.conftest import REPO
from tests.emulator_harness import Trial, web_app_edit

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
    assert document["jobs"]["plan"]["permissions"]["pull-requests"] == "write"
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
    assert "[skip ci]" in (SCRIPTS / "commit-state.sh").read_text()
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


# A pull request from a fork gets no secrets: its plan is made offline.
FORK = {"ONTORA_API_TOKEN": "", "ONTORA_API_KEY": "", "ONTORA_WORKSPACE_ID": ""}


def reviewed(trial: Trial) -> dict[str, str]:
    """What the apply job reads from the plan comment's marker, as apply.sh's environment."""
    comment = (trial.root / "out" / "plan.md").read_text()
    match = re.match(r"<!-- campaignsync-plan digest=([0-9a-f]+) overwrites=(\w+) -->", comment)
    assert match, comment.splitlines()[0]
    return {"APPROVED_DIGEST": match.group(1), "APPROVED_OVERWRITES": match.group(2)}


def test_apply_step_applies_the_reviewed_plan(trial: Trial) -> None:
    assert run_script(trial, "plan.sh").returncode == 0
    result = run_script(trial, "apply.sh", **reviewed(trial))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply complete: 3 campaign(s)" in result.stdout
    assert len(trial.emulator.campaigns()) == 3
    again = run_script(trial, "apply.sh", APPROVED_DIGEST="")
    assert "No changes to apply." in again.stdout


def test_apply_step_refuses_a_plan_that_is_not_the_reviewed_one(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh").returncode == 0
    approved = reviewed(applied)
    applied.edit("product/pricing-feedback.yaml", "Find out why", "Sneaked in after review")
    applied.sent()
    result = run_script(applied, "apply.sh", **approved)
    assert result.returncode == 1
    assert "is not the plan reviewed on the pull request" in result.stdout
    assert [r for r in applied.sent() if r[0] != "GET"] == []


def test_an_offline_plan_with_no_remote_edit_applies_on_merge(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh", **FORK).returncode == 0
    approved = reviewed(applied)
    assert approved["APPROVED_OVERWRITES"] == "unknown"
    result = run_script(applied, "apply.sh", **approved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply complete: 1 campaign(s)" in result.stdout
    applied.converged()


@pytest.mark.parametrize("pr_plan", ["offline", "refreshed"])
def test_a_web_app_edit_after_review_that_apply_would_overwrite_is_refused(
    applied: Trial, pr_plan: str
) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh", **(FORK if pr_plan == "offline" else {})).returncode == 0
    approved = reviewed(applied)
    interview_id = applied.interview_id("product/pricing-feedback")
    web_app_edit(applied.emulator, interview_id, goal="Edited in the web app")
    applied.sent()
    result = run_script(applied, "apply.sh", **approved)
    assert result.returncode == 1, result.stdout + result.stderr
    (error,) = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert "product/pricing-feedback (goal)" in error
    assert "Nothing was applied" in error
    assert "README.md" in error
    assert applied.sent() == []
    assert applied.emulator.campaigns()[interview_id]["goal"] == "Edited in the web app"


def test_an_overwrite_the_reviewed_plan_showed_is_applied(applied: Trial) -> None:
    interview_id = applied.interview_id("product/pricing-feedback")
    web_app_edit(applied.emulator, interview_id, goal="Edited in the web app")
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh").returncode == 0
    approved = reviewed(applied)
    assert approved["APPROVED_OVERWRITES"] not in {"none", "unknown"}
    assert (
        "overwrites what was edited in Ontora: goal" in (applied.root / "out/plan.md").read_text()
    )
    result = run_script(applied, "apply.sh", **approved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert applied.emulator.campaigns()[interview_id]["goal"].startswith("Find out why")


def test_the_overwrite_label_lets_an_unreviewed_overwrite_through(applied: Trial) -> None:
    applied.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    assert run_script(applied, "plan.sh", **FORK).returncode == 0
    interview_id = applied.interview_id("product/pricing-feedback")
    web_app_edit(applied.emulator, interview_id, goal="Edited in the web app")
    result = run_script(applied, "apply.sh", **reviewed(applied), ALLOW_OVERWRITES="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::warning::" in result.stdout
    assert applied.emulator.campaigns()[interview_id]["goal"].startswith("Find out why")


IDENTITY = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
STATE_COMMIT = "campaignsync: record applied state [skip ci]"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture
def origin(trial: Trial, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository holding the campaigns; the trial is its checkout of main."""
    bare = tmp_path_factory.mktemp("origin") / "repo.git"
    git(bare.parent, "-c", "init.defaultBranch=main", "init", "--bare", "-q", str(bare))
    git(trial.root, "-c", "init.defaultBranch=main", "init", "-q")
    git(trial.root, "remote", "add", "origin", str(bare))
    git(trial.root, "add", "campaigns")
    git(trial.root, "commit", "-qm", "campaigns")
    git(trial.root, "push", "-q", "origin", "HEAD:main")
    git(trial.root, "branch", "-q", "--set-upstream-to=origin/main")
    return bare


def push_from_elsewhere(origin: Path, relative: str, text: str) -> str:
    """Another merge lands on main: a commit writing `relative`; returns its id."""
    other = origin.parent / "other"
    if not other.exists():
        git(origin.parent, "clone", "-q", str(origin), str(other))
    git(other, "pull", "-q", "origin", "main")
    (other / relative).parent.mkdir(parents=True, exist_ok=True)
    (other / relative).write_text(text)
    git(other, "add", relative)
    git(other, "commit", "-qm", f"edit {relative}")
    git(other, "push", "-q", "origin", "HEAD:main")
    return git(other, "rev-parse", "HEAD")


def commit_state(trial: Trial) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "commit-state.sh")],
        cwd=trial.root,
        env={k: v for k, v in script_env(trial).items() if not k.startswith("GITHUB_")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_workflow_commits_state_with_the_script_and_keeps_it_when_that_fails() -> None:
    document = workflow("campaigns-apply.yml")
    commit = step(document, "Commit the state file")
    assert commit["if"] == "always() && env.CAMPAIGNSYNC_STATE == ''"
    assert commit["run"] == ".github/scripts/commit-state.sh"
    keep = step(document, "Keep the state file as an artifact")
    assert keep["if"].startswith("failure()")
    assert keep["uses"].startswith("actions/upload-artifact@")
    # The files commit-state.sh names (each environment's), the one state file failing that.
    assert commit["id"] == "commit"
    assert keep["with"]["path"] == (
        "${{ steps.commit.outputs.state-files || 'campaignsync.state.json' }}"
    )
    assert "When the state cannot be pushed" in (REPO / "README.md").read_text()


def test_with_state_in_postgres_the_workflow_commits_and_keeps_no_state_file() -> None:
    for name in ("campaigns-plan.yml", "campaigns-apply.yml"):  # both see the same state
        (job,) = workflow(name)["jobs"].values()
        assert job["env"]["CAMPAIGNSYNC_STATE"] == "${{ secrets.CAMPAIGNSYNC_STATE }}"
        install = step(workflow(name), "Install campaignsync")["run"]
        assert install == 'python -m pip install ".${CAMPAIGNSYNC_STATE:+[postgres]}"'
    for name in ("Commit the state file", "Keep the state file as an artifact"):
        assert "env.CAMPAIGNSYNC_STATE == ''" in step(workflow("campaigns-apply.yml"), name)["if"]


def test_the_commit_script_commits_nothing_for_a_postgres_state_and_prints_no_password(
    trial: Trial, origin: Path
) -> None:
    before = git(origin, "rev-parse", "main")
    url = "postgresql://ci:s3cret-pw@db.example:5432/states"
    result = subprocess.run(
        ["bash", str(SCRIPTS / "commit-state.sh")],
        cwd=trial.root,
        env=script_env(trial) | {"CAMPAIGNSYNC_STATE": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert git(origin, "rev-parse", "main") == before


def test_apply_then_commit_with_state_in_postgres_stores_it_there_and_commits_nothing(
    trial: Trial, origin: Path, postgres_url: str, state_name: str
) -> None:
    before = git(origin, "rev-parse", "main")
    trial.env |= {"CAMPAIGNSYNC_STATE": postgres_url, "CAMPAIGNSYNC_STATE_NAME": state_name}
    assert run_script(trial, "plan.sh").returncode == 0
    applied = run_script(trial, "apply.sh", **reviewed(trial))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    committed = commit_state(trial)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert git(origin, "rev-parse", "main") == before
    assert not list(trial.root.glob("campaignsync.state.json*"))
    pulled = trial.cli("state", "pull")
    keys = {"hr/onboarding", "ops/warehouse-safety", "product/pricing-feedback"}
    assert set(json.loads(pulled.stdout)["campaigns"]) == keys


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_commit_step_pushes_state_back_even_after_a_failed_apply(
    trial: Trial, origin: Path, outcome: str
) -> None:
    if outcome == "failure":
        trial.emulator.set_faults(reject_fields=["contacts.email"])
    run_script(trial, "apply.sh")
    result = commit_state(trial)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(origin, "log", "-1", "--format=%s", "main") == STATE_COMMIT
    assert '"interview_id"' in git(origin, "show", "main:campaignsync.state.json")


def test_a_push_that_lands_first_does_not_lose_the_state(trial: Trial, origin: Path) -> None:
    assert run_script(trial, "apply.sh").returncode == 0
    written = (trial.root / "campaignsync.state.json").read_text()
    competing = push_from_elsewhere(origin, "campaigns/other.yaml", "name: Other\n")
    result = commit_state(trial)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(origin, "log", "-1", "--format=%s", "main") == STATE_COMMIT
    assert git(origin, "rev-parse", "main~1") == competing
    assert git(origin, "show", "main:campaignsync.state.json") == written.strip()
    assert git(origin, "show", "main:campaigns/other.yaml") == "name: Other"


def test_a_state_file_changed_meanwhile_stops_loudly_and_keeps_ours(
    trial: Trial, origin: Path
) -> None:
    assert run_script(trial, "apply.sh").returncode == 0
    written = (trial.root / "campaignsync.state.json").read_text()
    competing = push_from_elsewhere(origin, "campaignsync.state.json", '{"theirs": true}\n')
    result = commit_state(trial)
    assert result.returncode == 1
    (error,) = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert "changed on main while this run applied" in error
    assert "artifact campaignsync-state" in error
    assert "README.md" in error
    assert (trial.root / "campaignsync.state.json").read_text() == written
    assert git(origin, "rev-parse", "main") == competing
    assert not (trial.root / ".git" / "rebase-merge").exists()


def test_a_push_rejected_in_a_race_is_rebased_and_tried_again(trial: Trial, origin: Path) -> None:
    assert run_script(trial, "apply.sh").returncode == 0
    push_from_elsewhere(origin, "campaigns/first.yaml", "name: First\n")
    # Another merge lands between this run's fetch and its push, once.
    other, raced = origin.parent / "other", origin.parent / "raced"
    hook = trial.root / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/usr/bin/env bash\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f"[ -e {raced} ] && exit 0\n"
        f"touch {raced}\n"
        f"cd {other} && echo 'name: Second' > campaigns/second.yaml && git add campaigns\n"
        f"git {' '.join(IDENTITY)} commit -qm second && git push -q origin HEAD:main\n"
    )
    hook.chmod(0o755)
    result = commit_state(trial)
    assert result.returncode == 0, result.stdout + result.stderr
    assert raced.exists()
    assert git(origin, "log", "-1", "--format=%s", "main") == STATE_COMMIT
    assert git(origin, "log", "-2", "--format=%s", "main").splitlines()[1] == "second"


# --- The github-script steps, run under node against a stubbed GitHub API ----------------

NODE_HARNESS = """
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const calls = [];
const respond = (name) => async (args) => {
  calls.push({ name, args });
  return { data: input.answers[name] };
};
const github = {
  paginate: async (method, args) => (await method(args)).data,
  rest: {
    repos: { listPullRequestsAssociatedWithCommit: respond("pulls") },
    issues: {
      listComments: respond("comments"),
      updateComment: respond("updated"),
      createComment: respond("created"),
    },
  },
};
const context = {
  repo: { owner: "o", repo: "r" }, sha: "abc", issue: { number: 7 },
};
const outputs = {};
const core = { setOutput: (name, value) => { outputs[name] = value; } };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
new AsyncFunction("require", "github", "context", "core", input.script)(
  require, github, context, core,
).then((result) => console.log(JSON.stringify({ result, calls, outputs })));
"""

BOT = {"login": "github-actions[bot]", "type": "Bot"}
SOMEONE = {"login": "mallory", "type": "User"}


def run_github_script(script: str, **answers: Any) -> Any:
    """Run a github-script step's script under node, with GitHub's API answered from `answers`."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, "-e", NODE_HARNESS],
        input=json.dumps({"script": script, "answers": answers}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def marker_comment(
    cid: int, user: dict[str, str], digest: str, overwrites: str = "none"
) -> dict[str, Any]:
    body = f"<!-- campaignsync-plan digest={digest} overwrites={overwrites} -->\nplan"
    return {"id": cid, "user": user, "body": body}


def test_the_apply_workflow_trusts_only_the_plan_comment_it_posted() -> None:
    script = step(
        workflow("campaigns-apply.yml"), "Find the plan reviewed on the merged pull request"
    )
    assert 'c.user.login === "github-actions[bot]" && c.user.type === "Bot"' in str(script)
    comments = [
        marker_comment(1, SOMEONE, "aaaa"),
        marker_comment(2, {"login": "github-actions", "type": "User"}, "bbbb"),
        marker_comment(3, BOT, "cccc"),
    ]
    pulls = [{"number": 7, "merged_at": "2026-11-01T10:00:00Z"}]
    ran = run_github_script(script["with"]["script"], pulls=pulls, comments=comments)
    assert ran["result"] == "cccc"
    ran = run_github_script(script["with"]["script"], pulls=pulls, comments=comments[:2])
    assert ran["result"] == ""


def test_the_apply_workflow_passes_on_the_reviewed_overwrites_and_the_overwrite_label() -> None:
    document = workflow("campaigns-apply.yml")
    found = step(document, "Find the plan reviewed on the merged pull request")
    env = step(document, "Plan, compare with the reviewed plan, apply")["env"]
    assert env["APPROVED_OVERWRITES"] == "${{ steps.approved.outputs.overwrites }}"
    assert env["ALLOW_OVERWRITES"] == "${{ steps.approved.outputs.allow-overwrites }}"
    comments = [
        marker_comment(1, SOMEONE, "aaaa", "0123456789ab"),
        marker_comment(2, BOT, "cccc", "ba9876543210"),
    ]
    label = {"name": "campaignsync: overwrite Ontora edits"}
    pulls = [{"number": 7, "merged_at": "2026-11-01T10:00:00Z", "labels": [label]}]
    ran = run_github_script(found["with"]["script"], pulls=pulls, comments=comments)
    assert ran["result"] == "cccc"
    assert ran["outputs"] == {
        "overwrites": "ba9876543210",
        "allow-overwrites": "true",
        "environments": "",
    }
    unlabelled = [{"number": 7, "merged_at": "2026-11-01T10:00:00Z", "labels": []}]
    ran = run_github_script(found["with"]["script"], pulls=unlabelled, comments=comments[:1])
    assert ran["result"] == ""
    assert ran["outputs"] == {"overwrites": "", "allow-overwrites": "", "environments": ""}


def test_the_plan_workflow_updates_only_its_own_comment(tmp_path: Path) -> None:
    (tmp_path / "plan.md").write_text("<!-- campaignsync-plan digest=dddd -->\nnew plan")
    script = step(workflow("campaigns-plan.yml"), "Post or update the plan comment")["with"]
    assert 'c.user.login === "github-actions[bot]" && c.user.type === "Bot"' in script["script"]
    script = f"process.env.PLAN_DIR = {json.dumps(str(tmp_path))};\n" + script["script"]
    someone_elses = [marker_comment(1, SOMEONE, "aaaa")]
    ran = run_github_script(script, comments=someone_elses)
    assert [call["name"] for call in ran["calls"]] == ["comments", "created"]
    ours = [*someone_elses, marker_comment(2, BOT, "bbbb")]
    ran = run_github_script(script, comments=ours)
    (update,) = [call["args"] for call in ran["calls"] if call["name"] == "updated"]
    assert update["comment_id"] == 2
    assert update["body"].startswith("<!-- campaignsync-plan digest=dddd -->")


# --- Supply chain: pinned actions, and zizmor's audit --------------------------------------

PINNED = {
    "actions/checkout": "11d5960a326750d5838078e36cf38b85af677262 # v4.4.0",
    "actions/setup-python": "a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0",
    "actions/upload-artifact": "ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2",
    "actions/github-script": "f28e40c7f34bde8b3046d885e986cb6290c5673b # v7.1.0",
}


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    uses = [
        line.split("uses:", 1)[1].strip()
        for path in WORKFLOWS.glob("*.yml")
        for line in path.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    assert len(uses) == 8
    for reference in uses:
        action, _, pin = reference.partition("@")
        assert PINNED.get(action) == pin, f"{reference} is not pinned to a verified commit"


def test_zizmor_finds_no_high_severity_problem() -> None:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    assert zizmor, "zizmor is part of the test extra: pip install -e '.[test]'"
    result = subprocess.run(
        [zizmor, "--offline", "--min-severity", "high", "--no-progress", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
