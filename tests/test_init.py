"""`campaignsync init`: a new campaigns repository that validates and plans at once, never
written over an existing file, from templates that ship in the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from campaignsync import __version__
from campaignsync.commands.init import GITIGNORE_TEMPLATE, LAYOUT, VERSION_MARK, template_bytes
from tests.conftest import REPO, RunCli
from tests.emulator_harness import run

TEMPLATE_FOLDER = REPO / "campaignsync" / "repository-template"


def offline_env() -> dict[str, str]:
    """The environment of someone who has set nothing up yet."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ONTORA_", "CAMPAIGNSYNC_"))
    } | {"NO_COLOR": "1"}


def init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, offline_env(), "init", *args)


def files_under(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_init_in_an_empty_folder_then_validate_and_plan_succeed(tmp_path: Path) -> None:
    result = init(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert files_under(tmp_path) == {*LAYOUT.values(), ".gitignore"}
    for relative in LAYOUT.values():
        assert f"wrote {relative}" in result.stdout
    assert "campaignsync validate && campaignsync plan" in result.stdout
    validate = run(tmp_path, offline_env(), "validate")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    plan = run(tmp_path, offline_env(), "plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "+ example (campaigns/example.yaml)" in plan.stdout
    assert "Plan: 1 to create" in plan.stdout


def test_init_writes_into_a_new_folder_and_makes_the_scripts_executable(tmp_path: Path) -> None:
    result = init(tmp_path, "campaigns-repo")
    assert result.returncode == 0, result.stdout + result.stderr
    root = tmp_path / "campaigns-repo"
    assert "cd campaigns-repo" in result.stdout
    for relative in LAYOUT.values():
        mode = (root / relative).stat().st_mode
        assert bool(mode & 0o111) == relative.endswith(".sh"), relative
    assert (root / ".gitignore").read_bytes() == template_bytes(GITIGNORE_TEMPLATE)


def test_init_refuses_any_existing_file_lists_every_one_and_writes_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "campaignsync.yaml").write_text("dir: mine\n")
    (tmp_path / ".github" / "scripts").mkdir(parents=True)
    (tmp_path / ".github" / "scripts" / "plan.sh").write_text("echo mine\n")
    (tmp_path / ".github" / "workflows").write_text("not a folder\n")
    (tmp_path / ".pre-commit-config.yaml").symlink_to(tmp_path / "nowhere")
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    result = init(tmp_path)
    assert result.returncode == 1
    for blocker in (
        "campaignsync.yaml",
        ".github/scripts/plan.sh",
        ".github/workflows",
        ".pre-commit-config.yaml",
    ):
        assert f"  {blocker}\n" in result.stderr
    assert "Nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before
    assert not (tmp_path / "campaigns").exists()
    assert not (tmp_path / "nowhere").exists()


def test_init_appends_only_the_gitignore_lines_missing(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n*.state.json.lock")
    result = init(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", "*.state.json.lock"]
    assert lines.count("*.state.json.lock") == 1
    assert "*.state.json.backup" in lines
    assert "*.trial.state.json" in lines
    assert "added to .gitignore: *.state.json.backup" in result.stdout


def test_a_gitignore_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").mkdir()
    result = init(tmp_path)
    assert result.returncode == 1
    assert "  .gitignore\n" in result.stderr
    assert files_under(tmp_path) == set()


def test_the_trial_state_is_ignored_and_the_real_state_is_not(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert init(tmp_path).returncode == 0
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    names = [
        "campaignsync.state.json",
        "campaignsync.state.json.lock",
        "campaignsync.state.json.backup",
        "campaignsync.trial.state.json",
        "campaignsync.trial.state.json.lock",
    ]
    checked = subprocess.run(
        ["git", "check-ignore", *names], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.stdout.split() == names[1:]


def test_the_workflows_install_step_installs_the_campaignsync_that_wrote_it(
    tmp_path: Path,
) -> None:
    assert init(tmp_path).returncode == 0
    for name in ("campaigns-plan.yml", "campaigns-apply.yml"):
        document = YAML(typ="safe").load((tmp_path / ".github" / "workflows" / name).read_text())
        (job,) = document["jobs"].values()
        (install,) = [s for s in job["steps"] if s.get("name") == "Install campaignsync"]
        assert install["run"] == 'python -m pip install ".${CAMPAIGNSYNC_STATE:+[postgres]}"'
    # The metadata `pip install .` reads: one dependency, this very version.
    setup = "from setuptools import setup; setup()"
    built = subprocess.run(
        [sys.executable, "-c", setup, "-q", "egg_info"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    requires = (tmp_path / "campaigns.egg-info" / "requires.txt").read_text().split()
    # The plain install, and the one with state in PostgreSQL: this very version each time.
    assert requires == [
        f"campaignsync=={__version__}",
        "[postgres]",
        f"campaignsync[postgres]=={__version__}",
    ]
    assert (tmp_path / "campaigns.egg-info" / "top_level.txt").read_text().strip() == ""
    if shutil.which("git") is not None:
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "egg-info" not in status.stdout


# --- The templates ------------------------------------------------------------------


def test_the_workflow_templates_are_this_repositorys_own_github_files() -> None:
    shipped = {
        target: template for template, target in LAYOUT.items() if target.startswith(".github/")
    }
    ours = {f".github/{name}" for name in files_under(REPO / ".github")}
    assert set(shipped) == ours, "every workflow and script of .github/ is a template"
    for target, template in shipped.items():
        assert template_bytes(template) == (REPO / target).read_bytes(), (
            f"campaignsync/repository-template/{template} differs from {target}: copy it again"
        )
        assert (REPO / target).stat().st_mode & 0o111 == (
            (TEMPLATE_FOLDER / template).stat().st_mode & 0o111
        )


def test_every_template_is_written_somewhere() -> None:
    assert files_under(TEMPLATE_FOLDER) == {*LAYOUT, GITIGNORE_TEMPLATE}
    for template in LAYOUT:
        if template != "pyproject.toml.in":
            assert VERSION_MARK not in template_bytes(template), template


def test_the_pre_commit_config_runs_the_validate_hook_this_repository_offers() -> None:
    (hook,) = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    (local,) = YAML(typ="safe").load(template_bytes("pre-commit-config.yaml"))["repos"]
    assert local["repo"] == "local"
    (used,) = local["hooks"]
    for field in ("id", "name", "entry", "pass_filenames", "files"):
        assert used[field] == hook[field], field


def test_a_build_of_the_package_holds_every_template(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "campaignsync",
        source / "campaignsync",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # build_py is the step of a wheel build that gathers modules and package data.
    setup = "from setuptools import setup; setup()"
    built = subprocess.run(
        [sys.executable, "-c", setup, "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "is absent from the `packages` configuration" not in built.stderr
    packaged = tmp_path / "lib" / "campaignsync" / "repository-template"
    assert files_under(packaged) == files_under(TEMPLATE_FOLDER)


@pytest.mark.parametrize("folder", ["nul\x00here", "new\nline/\x00"])
def test_a_folder_no_file_system_takes_is_a_clear_error(
    project: Path, run_cli: RunCli, folder: str
) -> None:
    result = run_cli("init", folder)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert "is not a folder name" in result.output
    assert files_under(project) == set()


def test_a_folder_given_through_dot_dot_is_checked_where_it_lands(tmp_path: Path) -> None:
    (tmp_path / "campaignsync.yaml").write_text("dir: mine\n")
    result = init(tmp_path, "missing/../.")
    assert result.returncode == 1
    assert "campaignsync.yaml\n" in result.stderr
    assert "Nothing was written" in result.stderr
    assert files_under(tmp_path) == {"campaignsync.yaml"}
    assert not (tmp_path / "missing").exists()


def test_a_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file\n")
    result = init(tmp_path, "taken")
    assert result.returncode == 1
    assert "taken is not a folder" in result.stderr
    assert files_under(tmp_path) == {"taken"}
