"""The local Ontora emulator: the endpoints campaignsync uses, served on loopback.

It behaves like the documented service: FastAPI's 422 bodies, `{detail, code}` errors,
auth by bearer token or API key, 404 for unknown campaigns, 409 `campaign_locked` for a
completed one, and Idempotency-Key replay on create. Faults can be injected (latency,
503s, 429 with Retry-After, dropped connections) for tests and rehearsals, and changed
while it runs through the `/_emulator/` endpoints, which also expose what it stores and
every request it received.
"""

import contextlib
import hashlib
import json
import logging
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from campaignsync.api_schema import (
    CREATE_FIELDS,
    DOCUMENTED_TYPES,
    DRAFT_FIELDS,
    FINALIZE_FIELDS,
    INTERVIEW_OUT_FIELDS,
)
from campaignsync.emulator_faults import (
    Faults,
    FaultsAndLog,
    FaultsUpdate,
    QuietDrops,
    logged_requests,
)
from campaignsync.errors import ConfigError
from campaignsync.state import atomic_write

# Campaign lifecycle [doc]: draft -> active -> paused, active|paused -> completed.
STATUSES = ("draft", "active", "paused", "completed")


@dataclass
class EmulatorConfig:
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


def _body_model(
    name: str, fields: frozenset[str], strict: bool, required: tuple[str, ...] = ()
) -> type[BaseModel]:
    # Strict mode rejects undocumented fields, as a client-side check of what we send.
    config = ConfigDict(extra="forbid" if strict else "ignore")
    definitions: dict[str, Any] = {
        name_: (DOCUMENTED_TYPES[name_], ...)
        if name_ in required
        else (DOCUMENTED_TYPES[name_] | None, None)
        for name_ in sorted(fields | set(required))
    }
    model: type[BaseModel] = create_model(name, __config__=config, **definitions)
    return model


def _json_body(model: type[BaseModel]) -> Any:
    """A request body validated straight from its bytes by pydantic's JSON parser.

    One pass instead of FastAPI's decode-then-validate, which is most of what a large
    finalize body costs; errors keep FastAPI's 422 shape (`loc` starting at "body").
    """

    async def validated(request: Request) -> BaseModel:
        raw = await request.body()
        if not raw.strip():
            missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            raise RequestValidationError([missing])
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(
                [_at_body(error) for error in exc.errors(include_url=False)]
            ) from None

    return Depends(validated)


def _at_body(error: Any) -> dict[str, Any]:
    # The input of an unreadable body is its bytes, which JSON cannot carry; show them as text.
    shown = error["input"]
    if isinstance(shown, bytes):
        shown = shown.decode("utf-8", "replace")
    return {**error, "loc": ("body", *error["loc"]), "input": shown}


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
        document = json.loads(raw)
    except ValueError:  # also bytes that are not UTF-8
        raise ConfigError(f"The emulator data file {path} is not JSON. {advice}") from None
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


def _now() -> str:
    # Microseconds, so that two edits within a second still move updated_at.
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def interview_out(campaign: dict[str, Any]) -> dict[str, Any]:
    """The documented InterviewOut: no voice_id, follow-ups or lists."""
    counts = {"contact_count": len(campaign.get("contacts") or []), "completed_count": 0}
    return {
        name: counts.get(name, campaign.get(name, 0 if name.endswith("_count") else None))
        for name in INTERVIEW_OUT_FIELDS
    }


def create_app(config: EmulatorConfig | None = None) -> FaultsAndLog:
    """The emulator as an ASGI application."""
    config = config or EmulatorConfig()
    store = Store(config.data_path)
    rng = random.Random(config.seed)
    faults = config.faults
    draft_body = _body_model("UpdateDraftIn", DRAFT_FIELDS, config.strict)
    finalize_body = _body_model("FinalizeCampaignIn", FINALIZE_FIELDS, config.strict)
    create_body = _body_model(
        "CreateInterviewIn", CREATE_FIELDS, config.strict, required=("workspace_id", "name")
    )

    app = FastAPI(title="Ontora emulator (campaignsync)", version="1")

    @app.exception_handler(ApiFailure)
    async def api_failure(request: Request, exc: ApiFailure) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status)

    async def authenticate(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
    ) -> None:
        bearer = (
            authorization[7:].strip()
            if authorization and authorization.startswith("Bearer ")
            else None
        )
        offered = x_api_key or bearer
        if not offered or (config.token is not None and offered != config.token):
            raise ApiFailure(401, "invalid_api_key", "Invalid or missing API key")

    # Authentication runs before body validation, as on the real service.
    api = APIRouter(dependencies=[Depends(authenticate)])
    InterviewId = Annotated[uuid.UUID, PathParam()]

    def editable(campaign: dict[str, Any]) -> None:
        if campaign["status"] == "completed":
            raise ApiFailure(
                409,
                "campaign_locked",
                f"Campaign {campaign['id']} is completed and cannot be edited",
            )

    def touch(campaign: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        campaign.update(values)
        campaign["updated_at"] = _now()
        store.save()
        return {
            "id": campaign["id"],
            "status": campaign["status"],
            "updated_at": campaign["updated_at"],
        }

    def save_edit(interview_id: uuid.UUID, body: BaseModel) -> dict[str, Any]:
        """Draft and finalize both store the fields the body sets, if the campaign is editable."""
        campaign = store.get(interview_id)
        editable(campaign)
        return touch(campaign, body.model_dump(mode="json", exclude_unset=True))

    @api.post("/v1/interviews", status_code=201)
    async def create_interview(
        body: Annotated[BaseModel, _json_body(create_body)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        values = body.model_dump(mode="json", exclude_unset=True)
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        if idempotency_key is not None and idempotency_key in store.idempotency:
            seen_digest, answer = store.idempotency[idempotency_key]
            if seen_digest != digest:
                raise ApiFailure(
                    422,
                    "idempotency_key_reused",
                    "Idempotency-Key was already used with a different request body",
                )
            return JSONResponse(answer, status_code=201)
        now = _now()
        campaign = {
            **values,
            "id": str(uuid.uuid4()),
            "status": "draft",
            "created_by": "emulator",
            "created_at": now,
            "updated_at": now,
        }
        store.campaigns[campaign["id"]] = campaign
        answer = interview_out(campaign)
        if idempotency_key is not None:
            store.idempotency[idempotency_key] = (digest, answer)
        store.save()
        return JSONResponse(answer, status_code=201)

    @api.get("/v1/interviews")
    async def list_interviews(
        workspace_id: Annotated[uuid.UUID, Query()],
        project_id: Annotated[uuid.UUID | None, Query()] = None,
        status: Annotated[str | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        return [
            interview_out(campaign)
            for campaign in store.campaigns.values()
            if campaign.get("workspace_id") == str(workspace_id)
            and (project_id is None or campaign.get("project_id") == str(project_id))
            and (status is None or campaign["status"] == status)
        ]

    @api.patch("/v1/campaign-creation/{interview_id}/draft")
    async def update_draft(
        interview_id: InterviewId,
        body: Annotated[BaseModel, _json_body(draft_body)],
    ) -> dict[str, Any]:
        return save_edit(interview_id, body)

    @api.put("/v1/campaign-creation/{interview_id}/finalize")
    async def finalize_campaign(
        interview_id: InterviewId,
        body: Annotated[BaseModel, _json_body(finalize_body)],
    ) -> dict[str, Any]:
        return save_edit(interview_id, body)

    @api.post("/v1/interviews/{interview_id}/start")
    async def start_interview(interview_id: InterviewId) -> dict[str, Any]:
        campaign = store.get(interview_id)
        if campaign["status"] != "draft":
            raise ApiFailure(409, "campaign_locked", f"Campaign is {campaign['status']}, not draft")
        touch(campaign, {"status": "active"})
        scheduled = len(campaign.get("contacts") or [])
        campaign["scheduled_count"] = scheduled
        return {
            "interview": interview_out(campaign),
            "scheduled_count": scheduled,
            "message": f"Scheduled {scheduled} conversation(s)",
        }

    app.include_router(api)

    # --- Test and rehearsal endpoints (no auth) -----------------------------------------

    @app.get("/_emulator/campaigns")
    async def all_campaigns() -> dict[str, dict[str, Any]]:
        return store.campaigns

    @app.get("/_emulator/campaigns/{interview_id}")
    async def one_campaign(interview_id: InterviewId) -> dict[str, Any]:
        return store.get(interview_id)

    @app.delete("/_emulator/campaigns/{interview_id}")
    async def delete_campaign(interview_id: InterviewId) -> dict[str, str]:
        """Rehearse a campaign deleted in the web app (the API has no delete)."""
        store.get(interview_id)
        del store.campaigns[str(interview_id)]
        store.save()
        return {"status": "deleted"}

    @app.put("/_emulator/campaigns/{interview_id}/status")
    async def set_status(
        interview_id: InterviewId, status: Annotated[str, Body(embed=True)]
    ) -> dict[str, Any]:
        if status not in STATUSES:
            raise ApiFailure(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
        return touch(store.get(interview_id), {"status": status})

    @app.get("/_emulator/requests")
    async def request_log() -> list[dict[str, Any]]:
        return logged_requests(store.log)

    @app.post("/_emulator/reset")
    async def reset() -> dict[str, str]:
        store.reset()
        rng.seed(config.seed)  # with --seed, every rehearsal after a reset rolls the same dice
        return {"status": "reset"}

    @app.get("/_emulator/faults")
    async def get_faults() -> dict[str, Any]:
        return asdict(faults)

    @app.put("/_emulator/faults")
    async def set_faults(update: FaultsUpdate) -> dict[str, Any]:
        update.apply_to(faults)
        return asdict(faults)

    return FaultsAndLog(app, faults, store.log, rng)


def serve(config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 8787) -> None:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(QuietDrops())
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@contextlib.contextmanager
def emulator_process(*options: str, timeout: float = 30.0) -> Iterator[str]:
    """`campaignsync emulator` as a child process on a free loopback port; yields its URL.

    For tests, benchmarks and scripted rehearsals: returns once the emulator answers, and
    stops it on exit.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignsync", "emulator", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{url}/_emulator/faults", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
