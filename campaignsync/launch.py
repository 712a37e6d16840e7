"""A campaign's status in its plan: the start that launches it, and the people it contacts.

A file says `status: draft` (the default) or `active`. Ontora moves a draft to active only
by a start (POST /v1/interviews/{interview_id}/start), sent after every other request of
the campaign, so it starts with what the file says. Nothing moves a campaign back to draft.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from campaignsync.campaign import CampaignFile
from campaignsync.diff import FieldChange, Kind
from campaignsync.errors import ApiError, PlanError
from campaignsync.ontora_models import canonical_uuid, start_path
from campaignsync.plan import INTERVIEW_ID, Action, CampaignPlan, Request
from campaignsync.state import Entry

STATUS = "status"


def known_status(entry: Entry | None, listed: str | None) -> str | None:
    """Ontora's status as far as campaignsync knows: as listed by --refresh, else as last
    applied (draft until a start succeeded); None while a start's answer never came."""
    if listed is not None:
        return listed
    if entry is None:
        return "draft"
    if STATUS in entry.unconfirmed:
        return None
    return str(entry.last_applied.get(STATUS, "draft"))


def with_launch(
    item: CampaignPlan, campaign: CampaignFile, entry: Entry | None, listed: str | None
) -> CampaignPlan:
    """The campaign as planned, with its people, its status, and a start if it launches.

    A status still unknown (a start sent whose answer never came) is started again: a
    start of a campaign already active answers 409, which apply checks and takes as done.
    """
    status = known_status(entry, listed)
    changes = tuple(change for change in item.changes if change.field != STATUS)
    update: dict[str, Any] = {"people": campaign.people, "status": status, "changes": changes}
    if campaign.managed.get(STATUS, "draft") == "draft":
        _refuse_back_to_draft(campaign, status)
        return item.model_copy(update=update)
    if status not in ("draft", None):
        return item.model_copy(update=update)  # active already, or past it: nothing to start
    start = Request(
        method="POST", path=start_path(item.interview_id or INTERVIEW_ID), body={}, starts=True
    )
    launch = FieldChange(field=STATUS, kind=Kind.CHANGE, old=status or "draft", new="active")
    update |= {"requests": (*item.requests, start), "changes": (*changes, launch)}
    if item.action is Action.NO_OP:
        update |= {"action": Action.START, "reason": "start: the file says active"}
    return item.model_copy(update=update)


def _refuse_back_to_draft(campaign: CampaignFile, status: str | None) -> None:
    """A file back at draft while the campaign may be active: there is no call for that."""
    if status == "active":
        raise PlanError(
            f"{campaign.key}: the campaign is active in Ontora and the file says draft, but "
            "no documented call moves a campaign back to draft. Set `status: active` again "
            f"in {campaign.source} (pause or complete it in Ontora's web app if it must stop)."
        )
    if status is None:
        raise PlanError(
            f"{campaign.key}: its start was sent but the answer never came, so it may be "
            "active, and the file now says draft: no documented call moves a campaign back "
            "to draft. Run `campaignsync plan --refresh` to see its status in Ontora, or set "
            f"`status: active` again in {campaign.source}."
        )


class Sender(Protocol):
    """What the applier, and sending a start, need of an API client."""

    def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Any: ...

    def list_interviews(self, workspace_id: str) -> list[dict[str, Any]]: ...


def send_start(client: Sender, path: str, interview_id: str, workspace_id: str | None) -> None:
    """POST the start, without a body. A 409 (not a draft) is a start already done, once
    the list endpoint shows the campaign active: a start whose answer never came, sent again."""
    try:
        client.send("POST", path, idempotency_key=str(uuid.uuid4()))
    except ApiError as exc:
        if exc.status != 409:
            raise
        status = _listed_status(client, interview_id, workspace_id, path)
        if status != "active":
            shown = "no longer lists it" if status is None else f"lists it as {status}"
            raise ApiError(
                f"POST {path} answered 409 (the campaign is not a draft), and Ontora {shown}, "
                "not active, so it was not launched. Check the campaign in Ontora's web app; "
                "`campaignsync plan --refresh` shows its status.",
                status=409,
                detail=exc.detail,
            ) from exc


def _listed_status(
    client: Sender, interview_id: str, workspace_id: str | None, path: str
) -> str | None:
    if workspace_id is None:
        raise ApiError(
            f"POST {path} answered 409 (the campaign is not a draft), and without a workspace "
            "campaignsync cannot check that it is active. Set ONTORA_WORKSPACE_ID and apply again."
        )
    for item in client.list_interviews(workspace_id):
        listed = item.get("id")
        if isinstance(listed, str) and _same_id(listed, interview_id):
            status = item.get("status")
            return status if isinstance(status, str) else None
    return None


def _same_id(listed: str, interview_id: str) -> bool:
    try:
        return canonical_uuid(listed) == interview_id
    except ValueError:
        return False
