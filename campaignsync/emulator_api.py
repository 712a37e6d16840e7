"""The emulator's documented v1 endpoints: interviews (create, list, start) and
campaign creation (draft, finalize).

Bodies are validated into models built from `ontora_models`, with FastAPI's 422 shape;
every route authenticates first, as the real service does. Draft and finalize edits of a
campaign in a locked status (completed, unless a trial locks others such as active) and
a start of anything but a draft answer 409 `campaign_locked`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from campaignsync.emulator_state import ApiFailure, EmulatorState, State, Store, now
from campaignsync.ontora_models import (
    CREATE_FIELDS,
    CREATE_REQUIRED,
    DOCUMENTED_TYPES,
    DRAFT_FIELDS,
    FINALIZE_FIELDS,
    INTERVIEW_OUT_FIELDS,
    INTERVIEWS_PATH,
    draft_path,
    finalize_path,
    start_path,
)

Endpoint = Literal["create", "draft", "finalize"]

_BODIES: dict[Endpoint, tuple[str, frozenset[str], tuple[str, ...]]] = {
    "create": ("CreateInterviewIn", CREATE_FIELDS, CREATE_REQUIRED),
    "draft": ("UpdateDraftIn", DRAFT_FIELDS, ()),
    "finalize": ("FinalizeCampaignIn", FINALIZE_FIELDS, ()),
}


@functools.cache
def body_model(endpoint: Endpoint, strict: bool) -> type[BaseModel]:
    """The request body of `endpoint`: the documented fields, each optional unless required."""
    name, fields, required = _BODIES[endpoint]
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


class JsonBody:
    """A request body validated straight from its bytes by pydantic's JSON parser.

    One pass instead of FastAPI's decode-then-validate, which is most of what a large
    finalize body costs; errors keep FastAPI's 422 shape (`loc` starting at "body").
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, request: Request, state: State) -> BaseModel:
        model = body_model(self.endpoint, state.config.strict)
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


def _at_body(error: Any) -> dict[str, Any]:
    # The input of an unreadable body is its bytes, which JSON cannot carry; show them as text.
    shown = error["input"]
    if isinstance(shown, bytes):
        shown = shown.decode("utf-8", "replace")
    return {**error, "loc": ("body", *error["loc"]), "input": shown}


async def authenticate(
    state: State,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    """Accept a bearer token or an API key: the configured one, or any if none is."""
    bearer = (
        authorization[7:].strip() if authorization and authorization.startswith("Bearer ") else None
    )
    offered = x_api_key or bearer
    token = state.config.token
    if not offered or (token is not None and offered != token):
        raise ApiFailure(401, "invalid_api_key", "Invalid or missing API key")


def interview_out(campaign: dict[str, Any]) -> dict[str, Any]:
    """The documented InterviewOut: no voice_id, follow-ups or lists. Interviews scheduled
    and completed are what start and the admin API (or `--data`) set; 0 until then."""
    counts = {"contact_count": len(campaign.get("contacts") or [])}
    return {
        name: counts.get(name, campaign.get(name, 0 if name.endswith("_count") else None))
        for name in INTERVIEW_OUT_FIELDS
    }


InterviewId = Annotated[uuid.UUID, PathParam()]
CreateBody = Annotated[BaseModel, Depends(JsonBody("create"))]
DraftBody = Annotated[BaseModel, Depends(JsonBody("draft"))]
FinalizeBody = Annotated[BaseModel, Depends(JsonBody("finalize"))]

# Authentication runs before body validation, as on the real service.
interviews = APIRouter(dependencies=[Depends(authenticate)], tags=["interviews"])
campaign_creation = APIRouter(dependencies=[Depends(authenticate)], tags=["campaign-creation"])


@interviews.post(INTERVIEWS_PATH, status_code=201)
async def create_interview(
    body: CreateBody,
    state: State,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Create a draft campaign; a repeated Idempotency-Key replays the first answer."""
    store = state.store
    values = body.model_dump(mode="json", exclude_unset=True)
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    if idempotency_key is not None and idempotency_key in store.idempotency:
        return JSONResponse(_replay(store, idempotency_key, digest), status_code=201)
    created = now()
    campaign = {
        **values,
        "id": str(uuid.uuid4()),
        "status": "draft",
        "created_by": "emulator",
        "created_at": created,
        "updated_at": created,
    }
    store.campaigns[campaign["id"]] = campaign
    answer = interview_out(campaign)
    if idempotency_key is not None:
        store.idempotency[idempotency_key] = (digest, answer)
    store.save()
    return JSONResponse(answer, status_code=201)


def _replay(store: Store, idempotency_key: str, digest: str) -> dict[str, Any]:
    """The answer first given for this key, if the body is the same one."""
    seen_digest, answer = store.idempotency[idempotency_key]
    if seen_digest != digest:
        raise ApiFailure(
            422,
            "idempotency_key_reused",
            "Idempotency-Key was already used with a different request body",
        )
    return answer


@interviews.get(INTERVIEWS_PATH)
async def list_interviews(
    state: State,
    workspace_id: Annotated[uuid.UUID, Query()],
    project_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Every campaign of a workspace, optionally of one project or status."""
    return [
        interview_out(campaign)
        for campaign in state.store.campaigns.values()
        if campaign.get("workspace_id") == str(workspace_id)
        and (project_id is None or campaign.get("project_id") == str(project_id))
        and (status is None or campaign["status"] == status)
    ]


@interviews.post(start_path("{interview_id}"))
async def start_interview(interview_id: InterviewId, state: State) -> dict[str, Any]:
    """Move a draft to active; any other status is locked."""
    campaign = state.store.get(interview_id)
    if campaign["status"] != "draft":
        raise ApiFailure(409, "campaign_locked", f"Campaign is {campaign['status']}, not draft")
    scheduled = len(campaign.get("contacts") or [])
    state.store.update(campaign, {"status": "active", "scheduled_count": scheduled})
    return {
        "interview": interview_out(campaign),
        "scheduled_count": scheduled,
        "message": f"Scheduled {scheduled} conversation(s)",
    }


@campaign_creation.patch(draft_path("{interview_id}"))
async def update_draft(interview_id: InterviewId, body: DraftBody, state: State) -> dict[str, Any]:
    return _save_edit(state, interview_id, body)


@campaign_creation.put(finalize_path("{interview_id}"))
async def finalize_campaign(
    interview_id: InterviewId, body: FinalizeBody, state: State
) -> dict[str, Any]:
    return _save_edit(state, interview_id, body)


def _save_edit(state: EmulatorState, interview_id: uuid.UUID, body: BaseModel) -> dict[str, Any]:
    """Draft and finalize both store the fields the body sets, if the campaign is editable."""
    campaign = state.store.get(interview_id)
    if campaign["status"] in state.config.faults.locked_statuses:
        raise ApiFailure(
            409,
            "campaign_locked",
            f"Campaign {campaign['id']} is {campaign['status']} and cannot be edited",
        )
    return state.store.update(campaign, body.model_dump(mode="json", exclude_unset=True))
