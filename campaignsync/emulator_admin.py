"""The emulator's `/_emulator/` endpoints, for tests and rehearsals (no auth).

They show what it stores and every request it received, rehearse what happens outside
the API (a campaign deleted or completed in the web app, interviews held), and change
faults while it runs.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from campaignsync.emulator_faults import FaultsUpdate, logged_requests
from campaignsync.emulator_state import ApiFailure, State
from campaignsync.ontora_models import STATUSES

InterviewId = Annotated[uuid.UUID, PathParam()]

admin = APIRouter(prefix="/_emulator", tags=["emulator"])


@admin.get("/campaigns")
async def all_campaigns(state: State) -> dict[str, dict[str, Any]]:
    return state.store.campaigns


@admin.get("/campaigns/{interview_id}")
async def one_campaign(interview_id: InterviewId, state: State) -> dict[str, Any]:
    return state.store.get(interview_id)


@admin.delete("/campaigns/{interview_id}")
async def delete_campaign(interview_id: InterviewId, state: State) -> dict[str, str]:
    """Rehearse a campaign deleted in the web app (the API has no delete)."""
    state.store.delete(interview_id)
    return {"status": "deleted"}


@admin.put("/campaigns/{interview_id}/status")
async def set_status(
    interview_id: InterviewId, status: Annotated[str, Body(embed=True)], state: State
) -> dict[str, Any]:
    """Rehearse a status change made in the web app, such as a completed campaign."""
    if status not in STATUSES:
        raise ApiFailure(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    return state.store.update(state.store.get(interview_id), {"status": status})


Count = Annotated[int, Field(ge=0, strict=True)]


class InterviewsHeld(BaseModel):
    """How many interviews of a campaign are scheduled and completed; contact_count is
    always the number of its contacts."""

    model_config = ConfigDict(extra="forbid")

    scheduled_count: Count | None = None
    completed_count: Count | None = None


@admin.put("/campaigns/{interview_id}/interviews")
async def set_interviews_held(
    interview_id: InterviewId, held: InterviewsHeld, state: State
) -> dict[str, Any]:
    """Rehearse interviews held since launch: the list endpoint reports these numbers."""
    campaign = state.store.get(interview_id)
    return state.store.update(campaign, held.model_dump(exclude_unset=True))


@admin.get("/requests")
async def request_log(state: State) -> list[dict[str, Any]]:
    return logged_requests(state.store.log)


@admin.get("/requests/in-flight")
async def requests_in_flight(state: State) -> list[dict[str, Any]]:
    """Requests received and not yet answered (e.g. held by the latency fault)."""
    return [
        {"method": entry["method"], "path": entry["path"]}
        for entry in list(state.store.in_flight.values())
    ]


@admin.post("/reset")
async def reset(state: State) -> dict[str, str]:
    """Forget every campaign, idempotency key and logged request."""
    state.store.reset()
    # With --seed, every rehearsal after a reset rolls the same dice.
    state.rng.seed(state.config.seed)
    return {"status": "reset"}


@admin.get("/faults")
async def get_faults(state: State) -> dict[str, Any]:
    return asdict(state.config.faults)


@admin.put("/faults")
async def set_faults(update: FaultsUpdate, state: State) -> dict[str, Any]:
    update.apply_to(state.config.faults)
    return asdict(state.config.faults)
