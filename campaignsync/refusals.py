"""A request Ontora refused or never answered: whether it may have taken effect, and the
message the user acts on (a 422 points at the YAML node, or the CSV row, of each value)."""

from __future__ import annotations

from typing import Any

from campaignsync.errors import ApiError, NotSent
from campaignsync.plan import CampaignPlan, Request


def outcome_unknown(error: ApiError) -> bool:
    """No answer, or a server error: the request may have taken effect. A 4xx never did,
    nor a request never sent."""
    if isinstance(error, NotSent):
        return False
    return error.status is None or error.status >= 500


def invalid_values(error: ApiError) -> list[Any] | None:
    """The refused values of a validation 422 (FastAPI's list of them); None for any other
    error."""
    return error.detail if error.status == 422 and isinstance(error.detail, list) else None


def made_nothing(error: ApiError, create: Request) -> bool:
    """Whether a refused create surely made no campaign: refused as invalid, or never sent,
    when this run first sent it. A create resumed with the key of an interrupted attempt
    may be refused while that attempt made one: the body is checked before the key, and a
    check may have changed since (a date passed)."""
    refused = isinstance(error, NotSent) or invalid_values(error) is not None
    return refused and create.idempotency_key is None


def located_error(item: CampaignPlan, request: Request, error: ApiError, path: str) -> str:
    """The error as the user can act on it. `path` is the request's path as sent."""
    base = f"{item.key}: {error}"
    if error.code == "campaign_locked":
        return (
            f"{item.key}: campaign {item.interview_id} is no longer editable in Ontora "
            f"(409 campaign_locked: {error.detail}). Its status does not allow edits; leave "
            f"its file unchanged, or stop managing it with `campaignsync state rm {item.key}`."
        )
    refused = invalid_values(error)
    if refused is None or item.source is None:
        return base
    # Imported only now: the YAML reader is not needed by an apply that goes well.
    from campaignsync.locate import refused_values

    lines = refused_values(item.source, refused)
    summary = f"{item.key}: {request.method} {path} answered 422 (Ontora refused the values)"
    if request.creates and not made_nothing(error, request):
        lines.append(_RESUMED_CREATE_REFUSED.format(key=item.key))
    return "\n".join([summary, *(f"  {line}" for line in lines)])


_RESUMED_CREATE_REFUSED = (
    "This create resumed an interrupted apply (the Idempotency-Key and body first sent), "
    "whose attempt may have made the campaign, so it stays pending. Look for it in Ontora "
    "and adopt it with `campaignsync import INTERVIEW_ID {key}`; if it is not there, forget "
    "the create with `campaignsync state rm {key}` and apply again to send the file as it is."
)
