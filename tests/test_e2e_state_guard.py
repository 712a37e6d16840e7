"""The state guards of apply, end to end: one lock per real file, and state that could not
be written is found before a single request reaches Ontora."""

from __future__ import annotations

from pathlib import Path

from campaignsync.filestate import state_lock
from tests.conftest import unwritable
from tests.emulator_harness import Trial


def test_a_state_path_through_a_symlink_is_locked_with_the_real_one(trial: Trial) -> None:
    (trial.root / "state").mkdir()
    real = trial.root / "state" / "real.json"
    (trial.root / "link.json").symlink_to(real)
    with state_lock(real, command="campaignsync apply (other)"):
        result = trial.apply("--state", "link.json")
    assert result.returncode == 3
    assert "locked by 'campaignsync apply (other)'" in result.stderr
    assert trial.emulator.requests() == []
    assert trial.apply("--state", "link.json").returncode == 0
    assert (trial.root / "link.json").is_symlink()
    assert len(trial.emulator.campaigns()) == 3


def edited_after_a_first_apply(trial: Trial, state: Path) -> tuple[bytes, int]:
    """The state after applying the examples, and how many requests Ontora had by then."""
    assert trial.apply("--state", str(state)).returncode == 0
    trial.edit("product/pricing-feedback.yaml", "Learn why", "Find out why")
    return state.read_bytes(), len(trial.emulator.requests())


def test_a_read_only_state_folder_is_refused_before_any_request(trial: Trial) -> None:
    (trial.root / "state").mkdir()
    state = trial.root / "state" / "campaignsync.state.json"
    before, received = edited_after_a_first_apply(trial, state)
    with unwritable(state.parent):
        result = trial.apply("--state", str(state))
    assert result.returncode == 1
    assert f"Cannot write the state file {state}" in result.stderr
    assert "nothing was sent" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(trial.emulator.requests()) == received
    assert state.read_bytes() == before


def test_a_state_file_that_cannot_be_replaced_is_refused_before_any_request(
    trial: Trial,
) -> None:
    state = trial.root / "campaignsync.state.json"
    before, received = edited_after_a_first_apply(trial, state)
    with unwritable(state):
        result = trial.apply()
    assert result.returncode == 1
    assert "nothing was sent" in result.stderr
    assert len(trial.emulator.requests()) == received
    assert state.read_bytes() == before


def test_tls_settings_that_cannot_be_used_are_an_error_before_anything_is_sent(
    trial: Trial,
) -> None:
    assert trial.cli("plan", "--out", "plan.json").returncode == 0
    trial.env["SSL_CERT_FILE"] = str(trial.root / "missing.pem")
    commands = (
        ["apply", "plan.json"],
        ["apply", "--auto-approve"],
        ["drift"],
        ["plan", "--refresh"],
    )
    for command in commands:
        result = trial.cli(*command)
        assert result.returncode == 1, command
        missing = trial.root / "missing.pem"
        expected = (
            "TLS cannot be set up ([Errno 2] No such file or directory); "
            f"check SSL_CERT_FILE='{missing}'"  # and any other TLS setting this machine has
        )
        assert expected in result.stderr
        assert "internal error" not in result.stderr
        assert "Traceback" not in result.stderr
    assert trial.emulator.requests() == []
    assert not (trial.root / "campaignsync.state.json").exists()
