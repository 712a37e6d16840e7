"""What a running emulator holds, and how its routes reach it.

One `EmulatorState` per application, kept in `app.state`: the settings it was started
with, the campaigns and idempotency keys it stores (persisted to `--data` after every
change), the request log, and the dice its faults roll.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from campaignsync.emulator_faults import Faults
from campaignsync.errors import ConfigError
from campaignsync.filestate import atomic_write
from campaignsync.jsontext import read_json
from campaignsync.ontora_models import EDIT_ANSWER_FIELDS


@dataclass
class EmulatorConfig:
    """How the emulator was started (`campaignsync emulator` options)."""

    token: str | None = None  # None: any non-empty credential is accepted
    strict: bool = False
    faults: Faults = field(default_factory=Faults)
    data_path: Path | None = None
    seed: int | None = None


class ApiFailure(Exception):
    """An error answered as `{"detail": ..., "code": ...}`."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def now() -> str:
    """The current instant as the service writes it."""
    # Microseconds, so that two edits within a second still move updated_at.
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Saved(BaseModel):
    """What `--data` keeps between runs."""

    model_config = ConfigDict(extra="forbid")

    campaigns: dict[str, dict[str, Any]] = {}
    idempotency: dict[str, tuple[str, dict[str, Any]]] = {}


def _read_data_file(path: Path) -> _Saved:
    advice = "Move it away or point --data at another file; the emulator writes a new one."
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"The emulator data file {path} cannot be read ({exc.strerror}). {advice}"
        ) from None
    try:
        document = read_json(raw)
    except ValueError as exc:  # also bytes that are not UTF-8
        raise ConfigError(
            f"The emulator data file {path} is not JSON the emulator can read ({exc}). {advice}"
        ) from None
    try:
        return _Saved.model_validate(document)
    except ValidationError:
        raise ConfigError(
            f"The emulator data file {path} is JSON, but not an emulator data document "
            f"(campaigns and idempotency keys). {advice}"
        ) from None


class Store:
    """Campaigns in memory, optionally persisted to a JSON file after every change."""

    def __init__(self, data_path: Path | None) -> None:
        self.data_path = data_path
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self.log: list[dict[str, Any]] = []
        # Requests received and not yet answered (by id of their log entry), for trials
        # that act while a request is on the wire.
        self.in_flight: dict[int, dict[str, Any]] = {}
        if data_path is not None and data_path.exists():
            saved = _read_data_file(data_path)
            self.campaigns = saved.campaigns
            self.idempotency = saved.idempotency

    def save(self) -> None:
        if self.data_path is not None:
            document = {"campaigns": self.campaigns, "idempotency": self.idempotency}
            atomic_write(self.data_path, json.dumps(document, indent=2).encode())

    def reset(self) -> None:
        self.campaigns.clear()
        self.idempotency.clear()
        self.log.clear()
        self.save()

    def get(self, interview_id: uuid.UUID) -> dict[str, Any]:
        campaign = self.campaigns.get(str(interview_id))
        if campaign is None:
            raise ApiFailure(404, "not_found", f"Interview {interview_id} not found")
        return campaign

    def update(self, campaign: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Store `values` on a campaign, move its updated_at, and answer as an edit does."""
        campaign.update(values)
        campaign["updated_at"] = now()
        self.save()
        return {name: campaign[name] for name in EDIT_ANSWER_FIELDS}

    def delete(self, interview_id: uuid.UUID) -> None:
        self.get(interview_id)
        del self.campaigns[str(interview_id)]
        self.save()


@dataclass
class EmulatorState:
    """Everything the routes of one emulator read and change."""

    config: EmulatorConfig
    store: Store
    rng: random.Random

    @classmethod
    def start(cls, config: EmulatorConfig) -> EmulatorState:
        return cls(config, Store(config.data_path), random.Random(config.seed))


async def current_state(request: Request) -> EmulatorState:
    """The state of the application serving `request` (set by `create_app`)."""
    # Async although it never waits: FastAPI runs a plain function in a worker thread.
    return cast(EmulatorState, request.app.state.emulator)


State = Annotated[EmulatorState, Depends(current_state)]
