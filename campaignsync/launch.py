"""A campaign's status in its plan: the start that launches it, and the people it contacts.

A file says `status: draft` (the default) or `active`. Ontora moves a draft to active only
by a start (POST /v1/interviews/{interview_id}/start), sent after every other request of
the campaign, so it starts with what the file says. Nothing moves a campaign back to draft.
"""

from __future__ import annotations

from typing import Any

from campaignsync.campaign import CampaignFile
from campaignsync.diff import FieldChange, Kind
from campaignsync.errors import PlanError
from campaignsync.ontora_models import start_path
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
    contacts = campaign.managed.get("contacts") or []
    update: dict[str, Any] = {"people": len(contacts), "status": status, "changes": changes}
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
    else:
        update["reason"] = f"{item.reason}; then start: the file says active"
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
