"""A canary credential driven through every error path: it never reaches the user or a file.

The CLI runs as a real process against a hostile server on loopback that echoes the
credential back in every answer it gives.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaignsync.cli import _Cli
from campaignsync.filestate import state_lock

CANARY = "ont_canary_5f1e9d7c"
WORKSPACE = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"
CAMPAIGN = "name: Onboarding\ngoal: Learn\n"

Answer = Callable[[BaseHTTPRequestHandler], None]


def _json(status: int, body: object) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def _raw(status: int, headers: dict[str, str], data: bytes) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def _hang_up(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    handler.wfile.write(f"garbage {CANARY}\r\n".encode())


ECHO = f"the key {CANARY} was refused\n::error file=x::forged"
ANSWERS: dict[str, Answer] = {
    "401": _json(401, {"detail": ECHO, "code": "invalid_api_key"}),
    "403": _json(403, {"detail": ECHO, "code": "insufficient_scope"}),
    "409": _json(409, {"detail": ECHO, "code": f"campaign_locked {CANARY}"}),
    "422": _json(
        422,
        {
            "detail": [
                {"loc": ["body", "name"], "msg": ECHO, "type": "value_error", "input": CANARY}
            ]
        },
    ),
    "500": _json(500, {"detail": ECHO, "code": "internal"}),
    "not-json": _raw(200, {"Content-Type": "application/json"}, f"{{{CANARY}".encode()),
    "bad-gzip": _raw(200, {"Content-Encoding": "gzip"}, CANARY.encode()),
    "hang-up": _hang_up,
}


class _Hostile(BaseHTTPRequestHandler):
    answer: Answer = ANSWERS["500"]

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).answer(self)

    do_GET = do_POST = do_PUT = do_PATCH = _any

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "onboarding.yaml").write_text(CAMPAIGN)
    return tmp_path


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONTORA_", "CAMPAIGNSYNC_"))}
    env |= {"ONTORA_API_URL": url, "ONTORA_API_KEY": CANARY, "ONTORA_WORKSPACE_ID": WORKSPACE}
    return env | {"NO_COLOR": "1", "CAMPAIGNSYNC_DEBUG": "1"} | extra


def _run(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignsync", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_no_canary(repo: Path, result: subprocess.CompletedProcess[str]) -> None:
    shown = result.stdout + result.stderr
    assert CANARY not in shown, shown
    assert not any(line.startswith("::error file=x") for line in shown.splitlines()), shown
    assert "internal error" not in shown, shown
    assert "Traceback" not in shown, shown
    # What the tool wrote: state, its backup and lock, saved plans (never the inputs).
    for path in repo.iterdir():
        if path.is_file() and path.name != "campaignsync.yaml":
            assert CANARY not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_the_canary_never_leaks_from_api_errors_in_apply(
    hostile: str, repo: Path, answer: str
) -> None:
    _Hostile.answer = ANSWERS[answer]
    result = _run(repo, _env(hostile), "apply", "--auto-approve", "--max-retries", "0")
    assert result.returncode == 1, result.stdout + result.stderr
    _assert_no_canary(repo, result)


@pytest.mark.parametrize("answer", ["401", "409", "bad-gzip", "hang-up"])
def test_the_canary_never_leaks_from_api_errors_in_plan(
    hostile: str, repo: Path, answer: str
) -> None:
    _Hostile.answer = ANSWERS[answer]
    result = _run(repo, _env(hostile), "plan", "--refresh", "--out", "plan.json")
    assert result.returncode == 1, result.stdout + result.stderr
    _assert_no_canary(repo, result)


@pytest.mark.parametrize("answer", ["409", "422"])
def test_a_bearer_token_canary_never_leaks_either(hostile: str, repo: Path, answer: str) -> None:
    _Hostile.answer = ANSWERS[answer]
    env = _env(hostile, ONTORA_API_TOKEN=CANARY)
    del env["ONTORA_API_KEY"]
    result = _run(repo, env, "apply", "--auto-approve", "--max-retries", "0")
    assert result.returncode == 1, result.stdout + result.stderr
    _assert_no_canary(repo, result)


def test_the_canary_never_leaks_when_nothing_listens(repo: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    result = _run(repo, _env(url), "apply", "--auto-approve", "--max-retries", "0")
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    _assert_no_canary(repo, result)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ONTORA_API_KEY", f"{CANARY}\n"),
        ("ONTORA_API_TOKEN", f" {CANARY}"),
        ("ONTORA_API_URL", f"https://user:{CANARY}@api.ontora.com"),
        ("ONTORA_API_URL", "http://127.0.0.1:abc"),
        ("ONTORA_API_URL", "http://127.0.0.1:99999"),
        ("ONTORA_API_URL", f"https://api.ontora.com/{CANARY}\x1b[2J"),
    ],
)
def test_bad_settings_fail_before_any_request_or_state_write(
    hostile: str, repo: Path, variable: str, value: str
) -> None:
    result = _run(repo, _env(hostile, **{variable: value}), "apply", "--auto-approve")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: "), result.stderr
    assert not (repo / "campaignsync.state.json").exists()
    _assert_no_canary(repo, result)


def test_a_url_with_credentials_is_refused_from_flag_and_file(hostile: str, repo: Path) -> None:
    url = f"https://user:{CANARY}@api.ontora.com"
    result = _run(repo, _env(hostile), "plan", "--refresh", "--api-url", url)
    assert "ONTORA_API_KEY" in result.stderr
    _assert_no_canary(repo, result)
    (repo / "campaignsync.yaml").write_text(f"api_url: {url}\n")
    env = _env(hostile)
    del env["ONTORA_API_URL"]
    result = _run(repo, env, "plan")
    assert result.returncode == 1
    assert "ONTORA_API_KEY" in result.stderr
    _assert_no_canary(repo, result)


def test_the_canary_never_leaks_when_the_lock_is_held(hostile: str, repo: Path) -> None:
    with state_lock(repo / "campaignsync.state.json", command=f"campaignsync apply {CANARY}"):
        result = _run(repo, _env(hostile), "apply", "--auto-approve")
    assert result.returncode == 3
    assert "locked by" in result.stderr
    _assert_no_canary(repo, result)


@pytest.mark.parametrize("format_", ["text", "github", "json"])
def test_the_canary_never_leaks_from_validation_errors(
    hostile: str, repo: Path, format_: str
) -> None:
    (repo / "campaigns" / "onboarding.yaml").write_text(
        f"name: Onboarding\ninterview_duration_minutes: '{CANARY}'\n"
    )
    result = _run(repo, _env(hostile), "validate", "--format", format_)
    assert result.returncode == 1
    assert "***" in result.stdout
    _assert_no_canary(repo, result)
    result = _run(repo, _env(hostile), "plan")
    assert result.returncode == 1
    _assert_no_canary(repo, result)


def test_the_canary_never_leaks_from_a_saved_plan_or_progress(hostile: str, repo: Path) -> None:
    _Hostile.answer = _json(201, {"id": "6b0f7c2e-3c1d-4a55-9d0e-1f2a3b4c5d6e", "note": CANARY})
    result = _run(repo, _env(hostile), "plan", "--out", "plan.json")
    assert result.returncode == 0, result.stderr
    result = _run(repo, _env(hostile), "apply", "plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[1/2]" in result.stdout
    _assert_no_canary(repo, result)


def test_the_debug_traceback_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    @click.command()
    def boom() -> None:
        raise RuntimeError(f"a bug holding {CANARY}\x1b[2J")

    class WithABug(_Cli):
        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            return boom if name == "boom" else super().get_command(ctx, name)

    monkeypatch.setenv("ONTORA_API_KEY", CANARY)
    monkeypatch.setenv("CAMPAIGNSYNC_DEBUG", "1")
    result = CliRunner().invoke(WithABug(), ["boom"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "internal error: RuntimeError" in result.stderr
    assert CANARY not in result.stderr + result.stdout
    assert "\x1b" not in result.stderr


def test_a_usage_error_echoing_a_value_is_scrubbed(hostile: str, repo: Path) -> None:
    result = _run(repo, _env(hostile), "plan", "--format", CANARY)
    assert result.returncode == 1
    assert "Invalid value for '--format'" in result.stderr
    _assert_no_canary(repo, result)
