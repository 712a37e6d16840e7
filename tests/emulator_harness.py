"""The emulator as a real process on a free loopback port, and the CLI as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from campaignsync.emulator_process import emulator_process

TOKEN = "tok-e2e-7f3a9c1d-secret"
WORKSPACE = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"


class Emulator:
    """A running `campaignsync emulator --strict` and its rehearsal endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def reset(self) -> None:
        self.http.post("/_emulator/reset").raise_for_status()
        self.set_faults(
            latency_ms=0,
            error_rate=0,
            error_next=0,
            rate_limit=0,
            rate_limit_next=0,
            retry_after=1,
            drop_rate=0,
            drop_next=0,
            reject_fields=[],
            locked_statuses=["completed"],
        )

    def set_faults(self, **faults: Any) -> None:
        self.http.put("/_emulator/faults", json=faults).raise_for_status()

    def campaigns(self) -> dict[str, dict[str, Any]]:
        answer: dict[str, dict[str, Any]] = self.http.get("/_emulator/campaigns").json()
        return answer

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.http.get("/_emulator/requests").json()
        return answer

    def in_flight(self) -> list[dict[str, Any]]:
        """Requests the emulator received and has not answered yet."""
        answer: list[dict[str, Any]] = self.http.get("/_emulator/requests/in-flight").json()
        return answer

    def set_status(self, interview_id: str, status: str) -> None:
        self.http.put(
            f"/_emulator/campaigns/{interview_id}/status", json={"status": status}
        ).raise_for_status()

    def hold_interviews(self, interview_id: str, **counts: int) -> None:
        """Rehearse interviews scheduled and completed since launch (the list's counts)."""
        self.http.put(
            f"/_emulator/campaigns/{interview_id}/interviews", json=counts
        ).raise_for_status()


class Trial:
    """A copy of the example campaigns repository, driven through the real CLI."""

    def __init__(self, root: Path, emulator: Emulator) -> None:
        self.root = root
        self.emulator = emulator
        self.env = cli_env(emulator)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(self.root, self.env, *args, input=input)

    def apply(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("apply", "--auto-approve", *args)

    def state(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.root / "campaignsync.state.json").read_text())
        return document

    def interview_id(self, key: str) -> str:
        return str(self.state()["campaigns"][key]["interview_id"])

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / "campaigns" / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))

    def sent(self) -> list[tuple[str, str, Any]]:
        """Requests campaignsync sent since the last call (mutating ones only)."""
        log = self.emulator.requests()
        fresh, self._seen = log[getattr(self, "_seen", 0) :], len(log)
        return [(r["method"], r["path"], r["body"]) for r in fresh if r["method"] != "GET"]

    def converged(self) -> None:
        result = self.cli("plan", "--detailed-exitcode")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No changes." in result.stdout


def start_emulator(*options: str) -> Iterator[Emulator]:
    with emulator_process(*options) as url:
        yield Emulator(url)


def cli_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ONTORA_", "CAMPAIGNSYNC_"))
    }
    env |= {
        "ONTORA_API_URL": emulator.url,
        "ONTORA_API_TOKEN": TOKEN,
        "ONTORA_WORKSPACE_ID": WORKSPACE,
        "NO_COLOR": "1",
    }
    return env | extra


def run(
    cwd: Path, env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignsync", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


def web_app_edit(emulator: Emulator, interview_id: str, **fields: Any) -> None:
    """Change a campaign the way someone in Ontora's web app would: behind our back."""
    emulator.http.patch(
        f"/v1/campaign-creation/{interview_id}/draft",
        json=fields,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).raise_for_status()


def delete_remotely(emulator: Emulator, interview_id: str) -> None:
    emulator.http.delete(f"/_emulator/campaigns/{interview_id}").raise_for_status()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Poll until `condition` holds; fail after `seconds`, a bound, never a measurement."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def contact_values(emulator: Emulator) -> set[str]:
    """Every contact name, email and phone the emulator's campaigns hold."""
    return {
        str(contact[field])
        for campaign in emulator.campaigns().values()
        for contact in campaign.get("contacts") or []
        for field in ("name", "email", "phone")
        if contact.get(field)
    }


def without_contact_data(text: str, values: set[str]) -> list[str]:
    """The contact values found in `text` (none, for text that holds no contact data)."""
    lowered = text.lower()
    return sorted(value for value in values if value.lower() in lowered)
