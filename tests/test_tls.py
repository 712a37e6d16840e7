"""The process's TLS context: built from the certificate settings, and a clear error when
they name nothing that can be trusted."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest

from campaignsync import tls
from campaignsync.errors import ConfigError
from tests.emulator_harness import Trial


def test_the_context_verifies_certificates_as_httpx_would(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = tls.context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.get_ca_certs()  # certifi's bundle, loaded


@pytest.mark.parametrize(
    ("variable", "content"),
    [
        ("SSL_CERT_FILE", None),
        ("SSL_CERT_FILE", "not a certificate\n"),
        ("SSLKEYLOGFILE", "in a folder that does not exist"),
    ],
)
def test_an_unusable_tls_setting_is_a_config_error_when_the_context_is_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, content: str | None
) -> None:
    path = tmp_path / "bundle.pem"
    if variable == "SSLKEYLOGFILE":
        path = tmp_path / "missing" / "keys.log"
    elif content is not None:
        path.write_text(content)
    monkeypatch.setenv(variable, str(path))
    tls.prepare()  # never raises: it only starts the build
    with pytest.raises(ConfigError, match=rf"TLS certificates cannot be loaded.*{variable}"):
        tls.context()
    monkeypatch.delenv(variable)
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert tls.context().get_ca_certs()  # other settings, another context


def test_apply_with_an_unusable_certificate_file_says_so_and_sends_nothing(trial: Trial) -> None:
    assert trial.cli("plan", "--out", "plan.json").returncode == 0
    state = trial.root / "campaignsync.state.json"
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
        assert "TLS certificates cannot be loaded" in result.stderr
        assert "SSL_CERT_FILE" in result.stderr
        assert "internal error" not in result.stderr
        assert "Traceback" not in result.stderr
    assert trial.emulator.requests() == []
    assert not state.exists()
