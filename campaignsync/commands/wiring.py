"""Options and wiring shared by several commands."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from campaignsync.campaign import CampaignFile
from campaignsync.config import Settings, resolve_settings
from campaignsync.errors import ConfigError, Problem, StateError
from campaignsync.plan import Plan
from campaignsync.spec import KEY_CHARACTERS, check_key
from campaignsync.state import State
from campaignsync.store import StateStore, open_store
from campaignsync.survey import names_defaults
from campaignsync.terminal import echo

if TYPE_CHECKING:
    import threading

    from campaignsync.drift import RemoteCampaign
    from campaignsync.loader import Warn
    from campaignsync.ontora import OntoraClient

F = TypeVar("F", bound=Callable[..., Any])


def with_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --env, --dir, --state, --state-name, --api-url and --workspace-id; pass `settings`.

    With environments declared, the command needs one chosen: it reads state or talks to
    Ontora, and each environment has its own of both.
    """
    return _settings_options(command, needs_environment=True)


def with_offline_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Like with_settings, for a command that reads only the files: no environment needed."""
    return _settings_options(command, needs_environment=False)


def _settings_options(
    command: Callable[..., Any], *, needs_environment: bool
) -> Callable[..., Any]:
    @functools.wraps(command)
    def resolved(
        *args: Any,
        env: str | None,
        dir_: str | None,
        state: str | None,
        state_name: str | None,
        api_url: str | None,
        workspace_id: str | None,
        **kwargs: Any,
    ) -> Any:
        flags = {
            "env": env,
            "dir": dir_,
            "state": state,
            "state_name": state_name,
            "api_url": api_url,
            "workspace_id": workspace_id,
        }
        settings = resolve_settings(flags, needs_environment=needs_environment)
        return command(*args, settings=settings, **kwargs)

    wrapped: Callable[..., Any] = resolved
    for option in reversed(_SETTINGS_OPTIONS):
        wrapped = option(wrapped)
    return wrapped


_SETTINGS_OPTIONS = [
    click.option(
        "--env",
        metavar="NAME",
        help="Environment declared in campaignsync.yaml [env CAMPAIGNSYNC_ENV].",
    ),
    click.option("--dir", "dir_", metavar="DIR", help="Campaigns folder [env CAMPAIGNSYNC_DIR]."),
    click.option(
        "--state",
        metavar="FILE|URL",
        help="State file, or a postgresql:// URL [env CAMPAIGNSYNC_STATE].",
    ),
    click.option(
        "--state-name",
        metavar="NAME",
        help="Which state in the PostgreSQL database [env CAMPAIGNSYNC_STATE_NAME].",
    ),
    click.option("--api-url", metavar="URL", help="Ontora API base URL [env ONTORA_API_URL]."),
    click.option(
        "--workspace-id", metavar="UUID", help="Ontora workspace [env ONTORA_WORKSPACE_ID]."
    ),
]


def format_option(*choices: str, help: str) -> Callable[[F], F]:
    """--format, passed to the command as `format_`; the first choice is the default."""
    return click.option(
        "--format",
        "format_",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf, which every range comparison lets through."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class FilePath(click.Path):
    """A path argument or option naming one file; a NUL, which no path can hold, is refused."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            self.fail("a path cannot hold a NUL character.", param, ctx)
        return super().convert(value, param, ctx)


def lock_timeout_option(command: F) -> F:
    return click.option(
        "--lock-timeout",
        type=FiniteFloatRange(min=0),
        default=0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another campaignsync to release the state lock.",
    )(command)


def targets_option(help: str) -> Callable[[F], F]:
    return click.option("--target", "targets", multiple=True, metavar="KEY", help=help)


def max_retries_option(command: F) -> F:
    return click.option(
        "--max-retries",
        type=click.IntRange(0, 20),
        default=5,
        show_default=True,
        help="Retries of a request after a 5xx, a timeout or a dropped connection (a 429 with "
        "Retry-After is waited out without using these).",
    )(command)


@contextlib.contextmanager
def configured_store(settings: Settings) -> Iterator[StateStore]:
    """The store the settings name, closed when done."""
    location = settings.state_url or str(settings.state_path)
    store = open_store(
        location, cwd=Path.cwd(), name=settings.state_name, lease=settings.lock_lease
    )
    try:
        yield store
    finally:
        store.close()


def read_configured_state(settings: Settings, store: StateStore | None = None) -> State:
    """The configured state, from `store` if given (one already open and maybe locked)."""
    if store is None:
        with configured_store(settings) as opened:
            return read_configured_state(settings, opened)
    try:
        return store.read(api_url=settings.api_url, workspace_id=settings.workspace_id)
    except StateError as exc:
        if settings.environment is None:
            raise
        # Say which environment's settings the state was checked against: a state of
        # another environment is the likely cause, and the message is read in CI logs.
        raise type(exc)(f"In environment {settings.environment}: {exc}") from exc


def make_client(
    settings: Settings, max_retries: int = 5, stop: threading.Event | None = None
) -> OntoraClient:
    # Imported here: httpx is only needed by commands that talk to Ontora.
    from campaignsync.ontora import OntoraClient

    return OntoraClient(
        settings.api_url,
        token=settings.token,
        api_key=settings.api_key,
        max_retries=max_retries,
        stop=stop,
    )


def require_key(key: str) -> None:
    """Refuse a key given on the command line that no campaign file could have."""
    problem = check_key(key)
    if problem is not None:
        raise ConfigError(
            f"{key!r} is not a campaign key: {problem}. Use {KEY_CHARACTERS}, with '/' between "
            "parts, like hr/onboarding."
        )
    if names_defaults(key):
        raise ConfigError(
            f"{key!r} is not a campaign key: its file, {key}.yaml, would be a folder's "
            "defaults file, not a campaign. Choose another name."
        )


def require_workspace(settings: Settings, current: State, needed_for: str) -> str:
    workspace = settings.workspace_id or current.workspace_id
    if not workspace:
        raise ConfigError(
            f"{needed_for} needs the Ontora workspace: set ONTORA_WORKSPACE_ID or pass "
            "--workspace-id."
        )
    return workspace


def fetch_remote(client: OntoraClient, workspace_id: str) -> dict[str, RemoteCampaign]:
    from campaignsync.drift import read_remote

    return read_remote(client.list_interviews(workspace_id))


def warn(problem: Problem) -> None:
    """A file left out on purpose, told on stderr so that no output format changes."""
    echo(f"Warning: {problem}", err=True)


def configured_campaigns(
    settings: Settings, current: State | None = None, *, warn: Warn | None = None
) -> list[CampaignFile]:
    """Every campaign file, loaded as plan loads them: for the chosen environment."""
    # Loaded here, not with the module: applying a saved plan reads no campaign file.
    from campaignsync.loader import load_campaigns

    return load_campaigns(
        settings.campaigns_dir,
        settings.repository_root,
        applied=current.campaigns if current else None,
        warn=warn,
        environment=settings.environment,
        environments=settings.environments,
    )


def make_plan(
    settings: Settings,
    targets: Sequence[str],
    current: State,
    remote: dict[str, RemoteCampaign] | None = None,
    *,
    campaigns: Sequence[CampaignFile] | None = None,
) -> Plan:
    """The plan of the campaign files (`campaigns`, if the caller loaded them already)."""
    from campaignsync.planner import build_plan

    if campaigns is None:
        campaigns = configured_campaigns(settings, current, warn=warn)
    the_plan = build_plan(
        campaigns,
        current,
        api_url=settings.api_url,
        workspace_id=settings.workspace_id or current.workspace_id,
        environment=settings.environment,
        targets=targets,
        remote=remote,
    )
    if targets and not the_plan.campaigns:
        raise ConfigError(
            f"No campaign key matches --target {' '.join(targets)}. Keys are paths under the "
            "campaigns folder without extension, like hr/onboarding."
        )
    return the_plan
