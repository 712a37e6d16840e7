"""The command group: lazy commands whose listed help is their real help, and light start-up."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from campaignsync.cli import COMMANDS, cli


def test_listed_help_is_each_commands_own_first_line() -> None:
    context = click.Context(cli)
    for name, (_, _, summary) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None
        assert command.name == name
        assert (command.help or "").splitlines()[0] == summary


def test_help_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "campaignsync", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert not imported & {"pydantic", "httpx", "yaml", "ruamel.yaml", "fastapi"}
    assert "validate" in result.stdout


def test_unknown_command_is_a_usage_error_exiting_1() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campaignsync", "nope"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "No such command 'nope'" in result.stderr


def test_the_emulator_refuses_a_non_loopback_address() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campaignsync", "emulator", "--host", "10.0.0.1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "serves only on loopback" in result.stderr


def test_a_missing_plan_file_is_named_before_anything_else() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campaignsync", "apply", "no-such-plan.json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "The plan file no-such-plan.json does not exist." in result.stderr


def test_a_number_of_seconds_or_a_rate_that_is_not_finite_is_a_usage_error() -> None:
    for command in (
        ["apply", "--auto-approve", "--lock-timeout", "nan"],
        ["state", "rm", "--lock-timeout", "inf", "hr/onboarding"],
        ["emulator", "--error-rate", "nan"],
        ["emulator", "--drop-rate", "nan"],
        ["emulator", "--rate-limit", "nan"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", *command],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1, command
        assert "is not a finite number" in result.stderr, (command, result.stderr)
        assert "internal error" not in result.stderr


def test_a_saved_plan_that_is_a_fifo_or_a_device_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    endless = tmp_path / "zero.json"
    endless.symlink_to("/dev/zero")  # reading it would never end
    for plan_file in (fifo, endless):
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", "apply", str(plan_file)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
        assert result.returncode == 1
        assert "not a regular file; a saved plan must be a plain file" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--out", "plan\0.json"],
        ["apply", "plan\0.json"],
        ["state", "push", "state\0.json"],
        ["emulator", "--data", "data\0.json"],
    ],
)
def test_a_path_with_a_nul_is_refused_with_a_message(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A NUL cannot reach argv from a shell, but can from any program calling the CLI.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "a path cannot hold a NUL character" in result.output
    assert not isinstance(result.exception, ValueError)


def test_every_byte_of_the_output_reaches_a_pipe_before_the_process_exits() -> None:
    # Larger than a pipe's buffer, and read only after the process has ended.
    with subprocess.Popen(
        [sys.executable, "-m", "campaignsync", "schema", "campaign"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        out, err = process.communicate()
    schema = Path(__file__).parent.parent / "schemas" / "campaign.schema.json"
    assert process.returncode == 0, err
    assert out == schema.read_bytes()


def test_a_profiled_run_ends_the_ordinary_way_so_the_profile_is_written(tmp_path: Path) -> None:
    profile = tmp_path / "help.prof"
    run = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "campaignsync", "--help"]
    result = subprocess.run(run, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert profile.stat().st_size > 0


def test_output_that_cannot_be_written_still_fails_the_command() -> None:
    # Python reports a stdout it could not flush at exit with 120; so must every exit path.
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", "schema", "campaign"],
            stdout=write,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write)
    assert result.returncode != 0


def test_an_apply_that_fails_while_reading_leaves_garbage_collection_on(project: Path) -> None:
    plan_file = project / "plan.json"
    plan_file.write_text("{not json")
    result = CliRunner().invoke(cli, ["apply", str(plan_file)])
    assert result.exit_code == 1
    assert "is not a readable JSON plan" in result.output
    assert gc.isenabled()


@pytest.mark.parametrize("closed", [1, 2])
def test_a_closed_output_stream_changes_no_exit_code_and_prints_no_traceback(
    tmp_path: Path, closed: int
) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "a.yaml").write_text("name: A\n")
    for arguments, expected in ((["validate"], 0), (["validate", "--dir", "nowhere"], 1)):
        # As `campaignsync validate >&-` (or `2>&-`) starts it: with that descriptor closed.
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", *arguments],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            preexec_fn=lambda: os.close(closed),
        )
        assert result.returncode == expected, arguments
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])  # click writes UTF-8 to ascii
def test_a_console_in_another_encoding_shows_what_it_cannot_as_escapes(
    tmp_path: Path, encoding: str
) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "a.yaml").write_text('name: "Café ☕"\n', encoding="utf-8")
    for arguments in (["plan"], ["plan", "--format", "markdown"], ["validate", "--dir", "☕"]):
        result = subprocess.run(
            [sys.executable, "-m", "campaignsync", *arguments],
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": encoding},
        )
        shown = (result.stdout + result.stderr).decode(encoding)
        assert "internal error" not in shown, (arguments, shown)
        assert result.returncode == (1 if "validate" in arguments else 0), (arguments, shown)
        if arguments == ["plan"]:
            assert "\\u2615" in shown
