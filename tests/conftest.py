"""Shared fixtures: campaign folders built from literal text, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from campaignsync.cli import cli
from tests.emulator_harness import TOKEN, Emulator, Trial, start_emulator

# CI draws the same examples on every run, so a run says what the commit does, not what
# the dice found; local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent

WriteCampaign = Callable[[str, str], Path]
RunCli = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty campaigns repository as the working directory, free of outside settings."""
    for variable in (
        "CAMPAIGNSYNC_ENV",
        "CAMPAIGNSYNC_DIR",
        "CAMPAIGNSYNC_STATE",
        "CAMPAIGNSYNC_STATE_NAME",
        "CAMPAIGNSYNC_LOCK_LEASE",
        "ONTORA_API_URL",
        "ONTORA_WORKSPACE_ID",
        "ONTORA_API_TOKEN",
        "ONTORA_API_KEY",
        "NO_COLOR",
    ):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "campaigns").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_campaign(project: Path) -> WriteCampaign:
    """Write `campaigns/<relative>` from dedented text and return its path."""

    def write(relative: str, text: str) -> Path:
        path = project / "campaigns" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_cli() -> RunCli:
    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


# --- End to end: the emulator as a real process, shared by the whole session -------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    yield from start_emulator("--strict", "--token", TOKEN, "--seed", "7")


@pytest.fixture
def trial(tmp_path: Path, emulator: Emulator) -> Trial:
    emulator.reset()
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    return Trial(tmp_path, emulator)


@pytest.fixture
def applied(trial: Trial) -> Trial:
    """The examples after a first successful apply."""
    result = trial.apply()
    assert result.returncode == 0, result.stdout + result.stderr
    trial.sent()
    return trial


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make a folder (nothing can be created or renamed in it) or a file (it cannot be
    replaced) unwritable, even for root, whom permission bits do not stop."""
    if os.geteuid() != 0:
        if not path.is_dir():
            pytest.skip("only root can make a file that cannot be replaced in a writable folder")
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem has no immutable attribute (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


# --- PostgreSQL: a real server, named by CAMPAIGNSYNC_TEST_POSTGRES_URL ------------------

HOW_TO_RUN_POSTGRES = (
    'The PostgreSQL tests need a server: run `eval "$(bash .ci/postgres.sh start)"`, then '
    "`python -m pytest -m postgres` (README: the tests)."
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the server is marked `postgres`, so `-m postgres` selects it."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL; without one the test skips, or fails where it is required."""
    url = os.environ.get("CAMPAIGNSYNC_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CAMPAIGNSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"CAMPAIGNSYNC_REQUIRE_POSTGRES=1 but no server is given. {HOW_TO_RUN_POSTGRES}"
            )
        pytest.skip(HOW_TO_RUN_POSTGRES)
    return url


@pytest.fixture
def state_name() -> str:
    """A state name no other test uses, so tests sharing the database never see each other."""
    return f"test-{uuid.uuid4().hex}"
