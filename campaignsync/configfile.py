"""campaignsync.yaml: its top-level settings and its `environments:` blocks, checked.

The file is committed, so a secret in it (at the top or in an environment) is refused;
every key is known, and environment names keep to a safe set because they appear in
file names, plan documents and pull-request comment markers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from campaignsync.errors import ConfigError
from campaignsync.scrub import untrusted

CONFIG_FILE = "campaignsync.yaml"
ENVIRONMENT_CHARACTERS = (
    "lower-case letters, digits, '-' and '_', starting with a letter, at most 40 characters"
)
_ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_SECRET_KEYS = frozenset({"token", "api_token", "api_key", "ontora_api_token", "ontora_api_key"})


class _Environment(BaseModel):
    """The settings one environment may set on top of the top level."""

    model_config = ConfigDict(strict=True, extra="forbid")

    api_url: str | None = None
    workspace_id: str | None = None
    state: str | None = None
    state_name: str | None = None


class _ConfigFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    dir: str | None = None
    state: str | None = None
    state_name: str | None = None
    api_url: str | None = None
    workspace_id: str | None = None
    environments: dict[str, _Environment | None] | None = None


@dataclass(frozen=True)
class ConfigFile:
    """What campaignsync.yaml sets: top-level settings, and each environment's, in order."""

    settings: Mapping[str, str] = field(default_factory=dict)
    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_environment(self, name: str | None) -> Mapping[str, str]:
        """The file's settings for `name`: its block over the top level."""
        if name is None:
            return self.settings
        return {**self.settings, **self.environments[name]}


def read_config_file(path: Path) -> ConfigFile:
    """The checked contents of campaignsync.yaml; an absent file sets nothing."""
    if not path.is_file():
        return ConfigFile()
    # The YAML reader loads only where there is a file for it: applying a saved plan
    # in CI, with settings from the environment, reads no YAML at all.
    from campaignsync.loader import read_yaml_mapping

    data = read_yaml_mapping(path)
    _refuse_secrets(data)
    try:
        parsed = _ConfigFile.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(
            f"{CONFIG_FILE} is not valid ({untrusted(details)}). It takes dir, state, "
            "state_name, api_url, workspace_id and environments (each environment: api_url, "
            "workspace_id, state, state_name)."
        ) from exc
    top = parsed.model_dump(exclude={"environments"}, exclude_none=True)
    if parsed.environments is None:
        return ConfigFile(settings=top)
    return ConfigFile(settings=top, environments=_environments(parsed.environments))


def _environments(blocks: Mapping[str, _Environment | None]) -> dict[str, dict[str, str]]:
    if not blocks:
        raise ConfigError(
            f"{CONFIG_FILE} has an `environments:` block that declares no environment. "
            "Declare at least one (like staging:) or remove the block."
        )
    for name in blocks:
        if not _ENVIRONMENT_NAME.fullmatch(name):
            raise ConfigError(
                f"{untrusted(name)!r} is not an environment name in {CONFIG_FILE}: use "
                f"{ENVIRONMENT_CHARACTERS}, like staging or production."
            )
    return {
        name: block.model_dump(exclude_none=True) if block else {} for name, block in blocks.items()
    }


def _refuse_secrets(data: Mapping[Any, Any]) -> None:
    found = [str(key) for key in data if str(key).lower() in _SECRET_KEYS]
    environments = data.get("environments")
    if isinstance(environments, Mapping):
        for name, block in environments.items():
            if isinstance(block, Mapping):
                found += [
                    f"environments.{name}.{key}"
                    for key in block
                    if str(key).lower() in _SECRET_KEYS
                ]
    if found:
        raise ConfigError(
            f"{CONFIG_FILE} sets {untrusted(', '.join(sorted(found)))}. Secrets come only from "
            "the environment (ONTORA_API_TOKEN or ONTORA_API_KEY); remove them from the file "
            "and rotate them if the file was ever committed."
        )
