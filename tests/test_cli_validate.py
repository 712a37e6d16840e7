"""`campaignsync validate`: exit codes and golden output in every format."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaignsync.cli import cli
from tests.conftest import REPO, RunCli, WriteCampaign

GOLDEN = Path(__file__).parent / "golden"
BROKEN = Path(__file__).parent / "fixtures" / "broken"


def assert_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text()


@pytest.fixture
def broken(project: Path) -> Path:
    shutil.copytree(BROKEN, project / "campaigns", dirs_exist_ok=True)
    return project


@pytest.mark.parametrize("format_", ["text", "github", "json"])
def test_broken_folder_is_explained_in_every_format(
    broken: Path, run_cli: RunCli, format_: str
) -> None:
    result = run_cli("validate", "--format", format_)
    assert result.exit_code == 1
    assert_golden(f"validate_broken.{format_}", result.output)


def test_json_problems_are_a_list_of_records(broken: Path, run_cli: RunCli) -> None:
    problems = json.loads(run_cli("validate", "--format", "json").output)
    assert {"path": "campaigns/duplicate.yaml", "line": 2, "column": 1} | {
        "message": "duplicate key 'name': each field may appear only once"
    } in problems


def test_valid_folder_exits_zero(
    project: Path, write_campaign: WriteCampaign, run_cli: RunCli
) -> None:
    write_campaign("a.yaml", "name: A\n")
    result = run_cli("validate")
    assert (result.exit_code, result.output) == (0, "All 1 campaign file(s) are valid.\n")
    assert run_cli("validate", "--format", "json").output == "[]\n"
    assert run_cli("validate", "--format", "github").output == ""


def test_paths_are_relative_to_the_working_directory(
    broken: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (broken / ".git").mkdir()  # a sub-folder of the checkout: the campaigns are inside it
    (broken / "sub").mkdir()
    monkeypatch.chdir(broken / "sub")
    result = run_cli("validate", "--dir", "../campaigns")
    assert "../campaigns/duplicate.yaml:2:1: duplicate key 'name'" in result.output


def test_dir_from_environment(
    broken: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (broken / "empty").mkdir()
    monkeypatch.setenv("CAMPAIGNSYNC_DIR", "empty")
    assert run_cli("validate").output == "All 0 campaign file(s) are valid.\n"


def test_missing_folder_is_a_clear_error(project: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", "--dir", "nowhere")
    assert result.exit_code == 1
    assert "The campaigns folder nowhere does not exist" in result.stderr


def test_unknown_option_exits_one_not_two(project: Path, run_cli: RunCli) -> None:
    assert run_cli("validate", "--bogus").exit_code == 1


def test_bundled_examples_are_valid(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CAMPAIGNSYNC_DIR", raising=False)
    result = run_cli("validate")
    assert result.exit_code == 0, result.output
    assert result.output == "All 3 campaign file(s) are valid.\n"


def test_a_file_given_as_the_folder_is_named_as_such(project: Path, run_cli: RunCli) -> None:
    (project / "notes.txt").write_text("x")
    result = run_cli("validate", "--dir", "notes.txt")
    assert result.exit_code == 1
    assert "The campaigns folder notes.txt is not a folder" in result.stderr


@pytest.mark.parametrize("format_", ["text", "github"])
def test_a_file_name_cannot_forge_a_line_of_output(
    write_campaign: WriteCampaign, run_cli: RunCli, format_: str
) -> None:
    write_campaign("x\n::error file=y::forged\x1b[2J.yaml", "name: [1]\n")
    result = run_cli("validate", "--format", format_)
    assert result.exit_code == 1
    assert not any(line.startswith("::error file=y") for line in result.output.splitlines())
    assert "\x1b" not in result.output


def test_a_skipped_hidden_file_is_a_warning_on_stderr(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", "name: A\n")
    write_campaign(".draft.yaml", "name: Draft\n")
    result = CliRunner().invoke(cli, ["validate", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    assert result.stderr == (
        "Warning: campaigns/.draft.yaml: skipped: a hidden file is not a campaign; remove the "
        "leading '.' to load it\n"
    )
