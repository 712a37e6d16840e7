"""Environments declared in campaignsync.yaml: selection, precedence and refusals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from campaignsync.config import resolve_settings
from campaignsync.errors import ConfigError

TWO = """
workspace_id: ws-top
api_url: https://top.example
environments:
  staging:
    workspace_id: ws-staging
    state: campaignsync.staging.state.json
  production:
    workspace_id: ws-production
    api_url: https://production.example
    state: campaignsync.production.state.json
"""


def config(folder: Path, text: str) -> None:
    (folder / "campaignsync.yaml").write_text(textwrap.dedent(text).lstrip("\n"))


def test_the_names_are_kept_in_declared_order_and_one_is_selected(tmp_path: Path) -> None:
    config(tmp_path, TWO)
    settings = resolve_settings({"env": "staging"}, env={}, cwd=tmp_path)
    assert settings.environments == ("staging", "production")
    assert settings.environment == "staging"
    assert settings.workspace_id == "ws-staging"
    assert settings.api_url == "https://top.example"
    assert settings.state_path == tmp_path / "campaignsync.staging.state.json"


def test_flag_beats_variable_beats_block_beats_top_level_beats_default(tmp_path: Path) -> None:
    config(tmp_path, TWO)
    production = {"env": "production"}
    assert resolve_settings(production, env={}, cwd=tmp_path).api_url == (
        "https://production.example"
    )
    variable = {"ONTORA_API_URL": "https://variable.example", "ONTORA_WORKSPACE_ID": "ws-var"}
    from_variable = resolve_settings(production, env=variable, cwd=tmp_path)
    assert (from_variable.api_url, from_variable.workspace_id) == (
        "https://variable.example",
        "ws-var",
    )
    flagged = resolve_settings(production | {"workspace_id": "ws-flag"}, env=variable, cwd=tmp_path)
    assert flagged.workspace_id == "ws-flag"
    config(tmp_path, "environments:\n  staging: {}\n")
    assert resolve_settings({"env": "staging"}, env={}, cwd=tmp_path).api_url == (
        "https://api.ontora.com"
    )


def test_the_flag_beats_campaignsync_env(tmp_path: Path) -> None:
    config(tmp_path, TWO)
    env = {"CAMPAIGNSYNC_ENV": "production"}
    assert resolve_settings({}, env=env, cwd=tmp_path).environment == "production"
    assert resolve_settings({"env": "staging"}, env=env, cwd=tmp_path).environment == "staging"


def test_state_name_may_differ_per_environment_in_one_database(tmp_path: Path) -> None:
    config(
        tmp_path,
        """
        state: postgresql://db.example/campaigns
        environments:
          staging: {state_name: staging}
          production: {state_name: production}
        """,
    )
    settings = resolve_settings({"env": "production"}, env={}, cwd=tmp_path)
    assert settings.state_url == "postgresql://db.example/campaigns"
    assert settings.state_name == "production"


def test_declared_environments_need_a_choice_that_lists_them(tmp_path: Path) -> None:
    config(tmp_path, TWO)
    with pytest.raises(ConfigError, match="--env") as caught:
        resolve_settings({}, env={}, cwd=tmp_path)
    assert "staging, production" in str(caught.value)
    assert "CAMPAIGNSYNC_ENV" in str(caught.value)


def test_offline_commands_need_no_choice_and_read_the_top_level(tmp_path: Path) -> None:
    config(tmp_path, TWO)
    settings = resolve_settings({}, env={}, cwd=tmp_path, needs_environment=False)
    assert settings.environment is None
    assert settings.environments == ("staging", "production")
    assert settings.workspace_id == "ws-top"


@pytest.mark.parametrize("source", ["flag", "variable"])
def test_an_undeclared_name_is_refused_listing_the_declared_ones(
    tmp_path: Path, source: str
) -> None:
    config(tmp_path, TWO)
    flags = {"env": "prod"} if source == "flag" else {}
    env = {"CAMPAIGNSYNC_ENV": "prod"} if source == "variable" else {}
    with pytest.raises(ConfigError, match="'prod'") as caught:
        resolve_settings(flags, env=env, cwd=tmp_path, needs_environment=False)
    assert "staging, production" in str(caught.value)
    assert ("--env" if source == "flag" else "CAMPAIGNSYNC_ENV") in str(caught.value)


@pytest.mark.parametrize("source", ["flag", "variable"])
def test_an_environment_chosen_where_none_is_declared_is_refused(
    tmp_path: Path, source: str
) -> None:
    flags = {"env": "staging"} if source == "flag" else {}
    env = {"CAMPAIGNSYNC_ENV": "staging"} if source == "variable" else {}
    with pytest.raises(ConfigError, match="declares no environments") as caught:
        resolve_settings(flags, env=env, cwd=tmp_path)
    assert ("--env" if source == "flag" else "CAMPAIGNSYNC_ENV") in str(caught.value)


def test_without_environments_nothing_changes(tmp_path: Path) -> None:
    settings = resolve_settings({}, env={}, cwd=tmp_path)
    assert (settings.environment, settings.environments) == (None, ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("environments:\n  staging:\n    workspace: x\n", "staging.workspace"),
        ("environments:\n  staging:\n    dir: other\n", "staging.dir"),
        ("environments:\n  staging: [1]\n", "staging"),
        ("environments: [staging]\n", "environments"),
        ("environments: {}\n", "declares no environment"),
        ("environments:\n  Staging Area: {}\n", "'Staging Area' is not an environment name"),
        ("environments:\n  -x: {}\n", "'-x' is not an environment name"),
    ],
)
def test_a_malformed_environments_block_is_refused(tmp_path: Path, text: str, message: str) -> None:
    config(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        resolve_settings({}, env={}, cwd=tmp_path, needs_environment=False)


def test_a_secret_in_an_environment_block_is_refused_unshown(tmp_path: Path) -> None:
    config(tmp_path, "environments:\n  staging:\n    api_key: s3cret\n")
    with pytest.raises(ConfigError, match="Secrets come only from the environment") as caught:
        resolve_settings({}, env={}, cwd=tmp_path, needs_environment=False)
    assert "s3cret" not in str(caught.value)
    assert "environments.staging.api_key" in str(caught.value)


def test_a_password_in_an_environment_state_url_is_refused(tmp_path: Path) -> None:
    config(tmp_path, "environments:\n  staging:\n    state: postgresql://u:pw@db/x\n")
    with pytest.raises(ConfigError, match="holds a password"):
        resolve_settings({"env": "staging"}, env={}, cwd=tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "environments:\n  staging: {}\n  production: {}\n",
        "state: s.json\nenvironments:\n  staging: {}\n  production: {state: ./s.json}\n",
        "state: postgresql://db/x\nenvironments:\n  staging: {}\n  production:\n"
        "    state_name: default\n",
    ],
)
def test_two_environments_sharing_one_state_are_refused(tmp_path: Path, text: str) -> None:
    config(tmp_path, text)
    with pytest.raises(ConfigError, match="staging and production") as caught:
        resolve_settings({}, env={}, cwd=tmp_path, needs_environment=False)
    assert "its own state" in str(caught.value)


def test_two_environments_whose_state_files_are_one_file_by_a_link_are_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.state.json").write_text("")
    (tmp_path / "b.state.json").symlink_to(tmp_path / "a.state.json")
    config(
        tmp_path,
        "environments:\n  staging: {state: a.state.json}\n  production: {state: b.state.json}\n",
    )
    with pytest.raises(ConfigError, match="staging and production"):
        resolve_settings({}, env={}, cwd=tmp_path, needs_environment=False)
