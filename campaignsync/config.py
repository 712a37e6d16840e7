"""Settings from flags, the environment and campaignsync.yaml, in that order of precedence.

With `environments:` declared in campaignsync.yaml, the chosen environment's block sits
between the environment variables and the file's top level.

Secrets (the bearer token and API key) come only from the environment and are kept out
of every repr, so they cannot leak into output, logs, state or plan files.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from campaignsync.configfile import CONFIG_FILE, ConfigFile, read_config_file
from campaignsync.errors import ConfigError
from campaignsync.scrub import remember_secret, untrusted
from campaignsync.store import (
    DEFAULT_LEASE,
    DEFAULT_STATE_NAME,
    is_state_url,
    shown_url,
    url_secrets,
)

DEFAULT_STATE = "campaignsync.state.json"
DEFAULT_API_URL = "https://api.ontora.com"

# setting -> (environment variable, default)
_SOURCES: dict[str, tuple[str, str | None]] = {
    "dir": ("CAMPAIGNSYNC_DIR", "campaigns"),
    "state": ("CAMPAIGNSYNC_STATE", DEFAULT_STATE),
    "state_name": ("CAMPAIGNSYNC_STATE_NAME", DEFAULT_STATE_NAME),
    "api_url": ("ONTORA_API_URL", DEFAULT_API_URL),
    "workspace_id": ("ONTORA_WORKSPACE_ID", None),
}
_STATE_NAME = re.compile(r"[A-Za-z0-9._/-]{1,100}")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where things are."""

    campaigns_dir: Path
    state_path: Path
    api_url: str
    workspace_id: str | None
    repository_root: Path
    token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    # A PostgreSQL URL when state lives there (then state_path is unused); it may hold a
    # password given in the environment, so it stays out of the repr.
    state_url: str | None = field(default=None, repr=False)
    state_name: str = DEFAULT_STATE_NAME
    lock_lease: float = DEFAULT_LEASE
    # The chosen environment, and every one campaignsync.yaml declares, in its order.
    environment: str | None = None
    environments: tuple[str, ...] = ()


def resolve_settings(
    flags: Mapping[str, str | None],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    needs_environment: bool = True,
) -> Settings:
    """Combine flag > environment > campaignsync.yaml > default for every setting.

    With environments declared, the chosen one's block comes between the environment and
    the file's top level; `needs_environment` (every command reading state or talking to
    Ontora) makes choosing one compulsory.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    config = read_config_file(cwd / CONFIG_FILE)
    _refuse_shared_states(config, cwd)
    environment = select_environment(config, flags, env, needs_environment)
    from_file = config.for_environment(environment)

    def pick(name: str) -> str | None:
        variable, default = _SOURCES[name]
        for value in (flags.get(name), env.get(variable), from_file.get(name)):
            if value:
                return value
        return default

    campaigns_dir = cwd / _path_setting("dir", pick("dir") or "campaigns")
    credentials = {
        name: read_credential(env, name) for name in ("ONTORA_API_TOKEN", "ONTORA_API_KEY")
    }
    api_url = check_api_url(pick("api_url") or DEFAULT_API_URL)
    _refuse_credentials_in_url(api_url, credentials)
    state = _path_setting("state", pick("state") or DEFAULT_STATE)
    state_url = check_state_url(state, in_file=from_file.get("state") == state)
    return Settings(
        campaigns_dir=campaigns_dir,
        state_path=cwd / DEFAULT_STATE if state_url else _state_path(cwd / state),
        state_url=state_url,
        state_name=check_state_name(pick("state_name") or DEFAULT_STATE_NAME, state_url),
        lock_lease=read_lock_lease(env),
        api_url=api_url,
        workspace_id=pick("workspace_id"),
        repository_root=find_repository_root(campaigns_dir, cwd),
        token=credentials["ONTORA_API_TOKEN"],
        api_key=credentials["ONTORA_API_KEY"],
        environment=environment,
        environments=tuple(config.environments),
    )


def select_environment(
    config: ConfigFile, flags: Mapping[str, str | None], env: Mapping[str, str], needed: bool
) -> str | None:
    """The environment --env (else CAMPAIGNSYNC_ENV) chooses, checked against those declared."""
    names = tuple(config.environments)
    listed = ", ".join(names)
    chosen, source = flags.get("env"), "--env"
    if not chosen:
        chosen, source = env.get("CAMPAIGNSYNC_ENV"), "CAMPAIGNSYNC_ENV"
    if not chosen:
        if names and needed:
            raise ConfigError(
                f"{CONFIG_FILE} declares the environments {listed}, and each has its own "
                f"workspace and state: choose one with --env NAME (or CAMPAIGNSYNC_ENV), "
                f"like --env {names[0]}."
            )
        return None
    if not names:
        raise ConfigError(
            f"{source} chooses the environment {untrusted(chosen)!r}, but {CONFIG_FILE} "
            f"declares no environments. Declare it under `environments:` in {CONFIG_FILE}, "
            f"or unset {source}."
        )
    if chosen not in names:
        raise ConfigError(
            f"{source} chooses the environment {untrusted(chosen)!r}, which {CONFIG_FILE} "
            f"does not declare; choose one of {listed}."
        )
    return chosen


def _refuse_shared_states(config: ConfigFile, cwd: Path) -> None:
    """Each environment keeps its own state (its own lineage), never another's."""
    owners: dict[tuple[str, str], str] = {}
    for name in config.environments:
        settings = config.for_environment(name)
        state = settings.get("state") or DEFAULT_STATE
        # The file itself, through any link: two names of one file are one state.
        where = state if is_state_url(state) else os.path.realpath(cwd / state)
        owner = owners.setdefault((where, settings.get("state_name") or DEFAULT_STATE_NAME), name)
        if owner != name:
            shown = shown_url(state) if is_state_url(state) else state
            raise ConfigError(
                f"The environments {owner} and {name} in {CONFIG_FILE} share the state "
                f"{untrusted(shown)}, but each environment needs its own state, with its own "
                "lineage: give each its own `state:` file, or its own `state_name:` in one "
                "PostgreSQL database."
            )


def check_state_url(value: str, *, in_file: bool) -> str | None:
    """The PostgreSQL URL `value` is, if it is one; a password is only for the environment."""
    if not is_state_url(value):
        return None
    try:
        secrets = url_secrets(value)
    except ValueError as exc:  # not shown: it may hold a password
        raise ConfigError(
            f"The state URL is not a URL ({exc}); give one like postgresql://host/db in "
            f"--state, CAMPAIGNSYNC_STATE or `state:` in {CONFIG_FILE}."
        ) from None
    if secrets and in_file:
        raise ConfigError(
            f"The state URL in {CONFIG_FILE} holds a password, and that file is committed. "
            "Remove it from the URL and set PGPASSWORD (or use ~/.pgpass); change the "
            "password if the file was ever pushed."
        )
    for secret in secrets:
        remember_secret(secret)
    return value


def check_state_name(name: str, state_url: str | None) -> str:
    if not _STATE_NAME.fullmatch(name):
        raise ConfigError(
            f"The state name {untrusted(name)!r} is not one: use up to 100 letters, digits, "
            "'.', '_', '-' or '/', like production or team-a/staging."
        )
    if state_url is None and name != DEFAULT_STATE_NAME:
        raise ConfigError(
            "--state-name (CAMPAIGNSYNC_STATE_NAME) picks one of many states in a PostgreSQL "
            "database; a state file holds one. Point --state at another file instead."
        )
    return name


def read_lock_lease(env: Mapping[str, str]) -> float:
    """CAMPAIGNSYNC_LOCK_LEASE: how long a PostgreSQL lock outlives a holder that stopped."""
    value = env.get("CAMPAIGNSYNC_LOCK_LEASE")
    if not value:
        return DEFAULT_LEASE
    try:
        lease = float(value)
    except ValueError:
        lease = 0.0
    if not 1 <= lease <= 86400:
        raise ConfigError(
            f"CAMPAIGNSYNC_LOCK_LEASE is {untrusted(value)!r}; give a number of seconds from 1 "
            f"to 86400 (default {DEFAULT_LEASE:g})."
        )
    return lease


def _refuse_credentials_in_url(url: str, credentials: Mapping[str, str | None]) -> None:
    """A credential anywhere in the URL (host, path, percent-encoded) would be saved in state."""
    decoded = unquote(url).casefold()
    for variable, secret in credentials.items():
        if secret and secret.casefold() in decoded:
            raise ConfigError(
                f"The API URL holds {variable}; URLs are saved in state and plan files. "
                f"Give the base URL alone and keep the credential in {variable} only."
            )


def read_credential(env: Mapping[str, str], variable: str) -> str | None:
    """A credential from the environment, refused (never shown) unless it is one plain word."""
    secret = env.get(variable) or None
    remember_secret(secret)
    if secret is not None and not all("!" <= character <= "~" for character in secret):
        raise ConfigError(
            f"{variable} holds whitespace, a control character or a non-ASCII character, so "
            "it cannot be sent in a request header; it was probably pasted with a trailing "
            f"newline or space. Set {variable} to the credential alone."
        )
    return secret


def _path_setting(name: str, value: str) -> str:
    """A path setting as given; one no file system can hold is a ConfigError."""
    if "\0" in value:
        raise ConfigError(f"The {name} setting holds a NUL character, which no path can; fix it.")
    return value


def _state_path(path: Path) -> Path:
    if path.is_dir() or not path.name or path.name in (".", ".."):
        raise ConfigError(
            f"The state setting must name a file, like campaignsync.state.json, not the folder "
            f"{path}; fix --state or CAMPAIGNSYNC_STATE."
        )
    return path


def check_api_url(url: str) -> str:
    """The URL without a trailing slash, checked whole; plain http only to loopback.

    A URL holding credentials is refused without showing it: they belong in the
    environment, and a URL is stored in state and plan files.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed [ around an IPv6 host; not shown: it may hold a key
        raise ConfigError(
            f"The API URL is not a URL ({exc}); give a base URL like {DEFAULT_API_URL} or "
            "http://127.0.0.1:8787 in --api-url / ONTORA_API_URL."
        ) from None
    if "@" in parts.netloc:
        raise ConfigError(
            "The API URL holds credentials (user:password@). Remove them from the URL and set "
            "ONTORA_API_KEY (or ONTORA_API_TOKEN) in the environment instead."
        )
    problem = _url_problem(url)
    if problem:
        raise ConfigError(
            f"The API URL {untrusted(url)!r} {problem}; give a base URL like {DEFAULT_API_URL} "
            "or http://127.0.0.1:8787."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise ConfigError(
            f"The API URL {url!r} uses plain http to a host that is not loopback; credentials "
            "would cross the network in clear text. Use https."
        )
    return url.rstrip("/")


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not all("!" <= character <= "~" for character in url):
        return "holds whitespace, control or non-ASCII characters"
    if not parts.hostname:
        return "names no host"
    try:
        port = parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "has a query or fragment, which a base URL cannot have"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_repository_root(campaigns_dir: Path, cwd: Path) -> Path:
    """The folder campaign and contact files must stay inside: the git checkout of the
    working directory; failing that, the checkout holding the campaigns folder; failing
    that, the working directory. ConfigError if the campaigns folder lies outside it."""
    folder = campaigns_dir.resolve()
    root = _checkout(cwd.resolve()) or _checkout(folder) or cwd.resolve()
    if not folder.is_relative_to(root):
        raise ConfigError(
            f"The campaigns folder {campaigns_dir} resolves to {folder}, outside the repository "
            f"{root}, where campaign and contact files must stay. Point dir (in "
            f"{CONFIG_FILE}), --dir or CAMPAIGNSYNC_DIR at a folder inside the repository."
        )
    return root


def _checkout(start: Path) -> Path | None:
    return next((folder for folder in (start, *start.parents) if (folder / ".git").exists()), None)
