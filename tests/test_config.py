"""Settings: precedence, secrets kept out of files, and the http guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from campaignsync.config import check_api_url, resolve_settings
from campaignsync.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = resolve_settings({}, env={}, cwd=tmp_path)
    assert settings.campaigns_dir == tmp_path / "campaigns"
    assert settings.state_path == tmp_path / "campaignsync.state.json"
    assert settings.api_url == "https://api.ontora.com"
    assert settings.workspace_id is None


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    (tmp_path / "campaignsync.yaml").write_text(
        "dir: from-file\nstate: file.json\nworkspace_id: ws-file\napi_url: https://file.example\n"
    )
    env = {"CAMPAIGNSYNC_STATE": "env.json", "ONTORA_WORKSPACE_ID": "ws-env"}
    settings = resolve_settings({"workspace_id": "ws-flag"}, env=env, cwd=tmp_path)
    assert settings.workspace_id == "ws-flag"
    assert settings.state_path == tmp_path / "env.json"
    assert settings.campaigns_dir == tmp_path / "from-file"
    assert settings.api_url == "https://file.example"


def test_secrets_come_from_the_environment_and_stay_out_of_repr(tmp_path: Path) -> None:
    env = {"ONTORA_API_TOKEN": "tok-123", "ONTORA_API_KEY": "ont_key"}
    settings = resolve_settings({}, env=env, cwd=tmp_path)
    assert (settings.token, settings.api_key) == ("tok-123", "ont_key")
    assert "tok-123" not in repr(settings)
    assert "ont_key" not in repr(settings)


@pytest.mark.parametrize("key", ["token", "api_key", "ONTORA_API_TOKEN"])
def test_a_secret_in_the_config_file_is_an_error(tmp_path: Path, key: str) -> None:
    (tmp_path / "campaignsync.yaml").write_text(f"{key}: s3cret\n")
    with pytest.raises(ConfigError, match="Secrets come only from the environment") as caught:
        resolve_settings({}, env={}, cwd=tmp_path)
    assert "s3cret" not in str(caught.value)


def test_unknown_config_keys_are_errors(tmp_path: Path) -> None:
    (tmp_path / "campaignsync.yaml").write_text("dirr: x\n")
    with pytest.raises(ConfigError, match=r"campaignsync\.yaml is not valid"):
        resolve_settings({}, env={}, cwd=tmp_path)


def test_broken_config_yaml_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "campaignsync.yaml").write_text("dir: [\n")
    with pytest.raises(ConfigError, match="YAML syntax"):
        resolve_settings({}, env={}, cwd=tmp_path)


@pytest.mark.parametrize(
    "url",
    ["https://api.ontora.com/", "http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:9"],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://api.ontora.com", "http://10.0.0.1", "ftp://x", "nonsense"])
def test_plain_http_elsewhere_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_api_url(url)


def test_repository_root_is_the_git_checkout(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "campaigns").mkdir(parents=True)
    settings = resolve_settings({"dir": "campaigns"}, env={}, cwd=tmp_path / "sub")
    assert settings.repository_root == tmp_path.resolve()


@pytest.mark.parametrize("variable", ["ONTORA_API_KEY", "ONTORA_API_TOKEN"])
@pytest.mark.parametrize(
    "value", ["ont_abc\n", " ont_abc", "ont abc", "ont\tabc", "ont\x00abc", "ont\x7fabc", "ont_äbc"]
)
def test_a_credential_with_whitespace_or_control_characters_is_refused_by_name(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        resolve_settings({}, env={variable: value}, cwd=tmp_path)
    assert "abc" not in str(caught.value)


@pytest.mark.parametrize("where", ["flag", "env", "file"])
def test_credentials_in_the_api_url_are_refused_without_showing_them(
    tmp_path: Path, where: str
) -> None:
    url = "https://user:pa55word@api.ontora.com"
    flags = {"api_url": url} if where == "flag" else {}
    env = {"ONTORA_API_URL": url} if where == "env" else {}
    if where == "file":
        (tmp_path / "campaignsync.yaml").write_text(f"api_url: {url}\n")
    with pytest.raises(ConfigError, match="ONTORA_API_KEY") as caught:
        resolve_settings(flags, env=env, cwd=tmp_path)
    assert "pa55word" not in str(caught.value)
    assert "user:pa55word" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:abc", "port"),
        ("http://127.0.0.1:70000", "port"),
        ("http://127.0.0.1:0", "port"),
        ("https://:443", "no host"),
        ("https://api.ontora.com/?x=1", "query"),
        ("https://api.ontora.com/#top", "fragment"),
        ("https://api.ontora .com", "whitespace"),
        ("https://api.ontora.com/\x1b[2J", "control"),
        ("file:///etc/passwd", "http(s)"),
    ],
)
def test_the_api_url_is_checked_whole_when_settings_are_read(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
        resolve_settings({"api_url": url}, env={}, cwd=tmp_path)
    assert "\x1b" not in str(caught.value)


class TestRepositoryBoundary:
    """The campaigns folder lies inside the repository; no setting can move the boundary."""

    def test_dir_dot_dot_in_a_committed_config_is_refused(self, tmp_path: Path) -> None:
        repository = tmp_path / "repo"
        (repository / ".git").mkdir(parents=True)
        (repository / "campaignsync.yaml").write_text("dir: ..\n")
        with pytest.raises(ConfigError, match="outside the repository") as caught:
            resolve_settings({}, env={}, cwd=repository)
        assert "dir" in str(caught.value)

    @pytest.mark.parametrize("source", ["flag", "env"])
    def test_dir_outside_from_a_flag_or_the_environment_is_refused(
        self, tmp_path: Path, source: str
    ) -> None:
        repository = tmp_path / "repo"
        (repository / ".git").mkdir(parents=True)
        (tmp_path / "elsewhere").mkdir()
        flags = {"dir": "../elsewhere"} if source == "flag" else {}
        env = {"CAMPAIGNSYNC_DIR": "../elsewhere"} if source == "env" else {}
        with pytest.raises(ConfigError, match="outside the repository"):
            resolve_settings(flags, env=env, cwd=repository)

    def test_a_campaigns_folder_linked_outside_is_refused(self, tmp_path: Path) -> None:
        repository = tmp_path / "repo"
        (repository / ".git").mkdir(parents=True)
        (tmp_path / "elsewhere").mkdir()
        (repository / "campaigns").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(ConfigError, match="outside the repository"):
            resolve_settings({}, env={}, cwd=repository)

    def test_without_git_the_working_directory_is_the_repository(self, tmp_path: Path) -> None:
        (tmp_path / "work").mkdir()
        with pytest.raises(ConfigError, match="outside the repository"):
            resolve_settings({"dir": ".."}, env={}, cwd=tmp_path / "work")
        settings = resolve_settings({"dir": "campaigns"}, env={}, cwd=tmp_path / "work")
        assert settings.repository_root == (tmp_path / "work").resolve()

    def test_a_subfolder_of_the_checkout_may_point_up_inside_it(self, tmp_path: Path) -> None:
        (tmp_path / ".git").mkdir()
        (tmp_path / "sub").mkdir()
        settings = resolve_settings({"dir": "../campaigns"}, env={}, cwd=tmp_path / "sub")
        assert settings.repository_root == tmp_path.resolve()

    def test_campaigns_of_another_checkout_from_outside_any_checkout(self, tmp_path: Path) -> None:
        (tmp_path / "repo" / ".git").mkdir(parents=True)
        (tmp_path / "home").mkdir()
        settings = resolve_settings(
            {"dir": str(tmp_path / "repo" / "campaigns")}, env={}, cwd=tmp_path / "home"
        )
        assert settings.repository_root == (tmp_path / "repo").resolve()


@pytest.mark.parametrize("setting", ["dir", "state"])
def test_a_nul_character_in_a_path_setting_is_a_config_error(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ConfigError, match=f"The {setting} setting holds a NUL character"):
        resolve_settings({setting: "a\0b"}, env={}, cwd=tmp_path)


@pytest.mark.parametrize("value", ["/", ".", "..", "folder", "folder/"])
def test_a_state_setting_that_names_no_file_is_a_config_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigError, match="The state setting must name a file"):
        resolve_settings({"state": value}, env={}, cwd=tmp_path)


def test_a_postgres_state_url_and_name_come_from_flag_or_environment(tmp_path: Path) -> None:
    env = {"CAMPAIGNSYNC_STATE": "postgresql://ci@db.example/states"}
    settings = resolve_settings({"state_name": "team-a/prod"}, env=env, cwd=tmp_path)
    assert settings.state_url == "postgresql://ci@db.example/states"
    assert settings.state_name == "team-a/prod"
    assert resolve_settings({}, env=env, cwd=tmp_path).state_name == "default"


def test_a_state_url_password_in_the_config_file_is_refused_unshown(tmp_path: Path) -> None:
    (tmp_path / "campaignsync.yaml").write_text("state: postgresql://ci:hunter2@db/states\n")
    with pytest.raises(ConfigError, match="PGPASSWORD") as refused:
        resolve_settings({}, env={}, cwd=tmp_path)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("query", ["password=hunter2", "sslmode=require&sslpassword=hunter2"])
def test_a_state_url_password_in_its_query_in_the_config_file_is_refused_unshown(
    tmp_path: Path, query: str
) -> None:
    (tmp_path / "campaignsync.yaml").write_text(f"state: postgresql://ci@db/states?{query}\n")
    with pytest.raises(ConfigError, match="PGPASSWORD") as refused:
        resolve_settings({}, env={}, cwd=tmp_path)
    assert "hunter2" not in str(refused.value)


def test_a_state_url_password_from_the_environment_is_kept_out_of_repr(tmp_path: Path) -> None:
    env = {"CAMPAIGNSYNC_STATE": "postgresql://ci:hunter3@db/states"}
    settings = resolve_settings({}, env=env, cwd=tmp_path)
    assert settings.state_url == "postgresql://ci:hunter3@db/states"
    assert "hunter3" not in repr(settings)


def test_a_state_name_needs_a_database_and_plain_characters(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Point --state at another file"):
        resolve_settings({"state_name": "prod"}, env={}, cwd=tmp_path)
    env = {"CAMPAIGNSYNC_STATE": "postgresql://db/states", "CAMPAIGNSYNC_STATE_NAME": "a b"}
    with pytest.raises(ConfigError, match="is not one"):
        resolve_settings({}, env=env, cwd=tmp_path)


@pytest.mark.parametrize("lease", ["0", "soon", "100000"])
def test_a_lock_lease_is_a_sensible_number_of_seconds(tmp_path: Path, lease: str) -> None:
    with pytest.raises(ConfigError, match="CAMPAIGNSYNC_LOCK_LEASE"):
        resolve_settings({}, env={"CAMPAIGNSYNC_LOCK_LEASE": lease}, cwd=tmp_path)
    assert (
        resolve_settings({}, env={"CAMPAIGNSYNC_LOCK_LEASE": "30"}, cwd=tmp_path).lock_lease == 30
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787/canaryKEY123",
        "http://127.0.0.1:8787/v/%63anaryKEY123",
        "https://canarykey123.example",
    ],
)
def test_a_credential_inside_the_api_url_is_refused_without_showing_it(
    tmp_path: Path, url: str
) -> None:
    env = {"ONTORA_API_KEY": "canaryKEY123", "ONTORA_API_URL": url}
    with pytest.raises(ConfigError, match="The API URL holds ONTORA_API_KEY") as caught:
        resolve_settings({}, env=env, cwd=tmp_path)
    assert "canary" not in str(caught.value).lower()


@pytest.mark.parametrize(
    ("setting", "value", "what"),
    [
        ("api_url", "https://[::1", "The API URL is not a URL"),
        ("api_url", "https://user:canary123@[::1/v1", "The API URL is not a URL"),
        ("state", "postgresql://[::1/db", "The state URL is not a URL"),
        ("state", "postgresql://user:canary123@[::1/db", "The state URL is not a URL"),
    ],
)
def test_a_url_that_cannot_be_parsed_is_refused_without_showing_it(
    tmp_path: Path, setting: str, value: str, what: str
) -> None:
    with pytest.raises(ConfigError, match=what) as caught:
        resolve_settings({setting: value}, env={}, cwd=tmp_path)
    assert "canary" not in str(caught.value)
