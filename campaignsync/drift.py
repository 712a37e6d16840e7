"""What Ontora holds now, as far as it can be read, and how it drifted from git and state.

The only documented read is the campaign list; it returns the scalar fields and status,
not voice_id, follow-ups, topics, questions or contacts. For every field it does return,
three values are compared: last applied (state), remote (Ontora) and desired (the file).
Everything here is pure: the list is fetched by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from campaignsync.ontora_models import FROZEN, READABLE_FIELDS, DateTime, canonical_uuid

_DATETIME: TypeAdapter[datetime] = TypeAdapter(DateTime)
_DATETIME_FIELDS = frozenset({"timeframe_start", "timeframe_end"})


# The numbers of people the list endpoint reports for a campaign: read, never planned.
REPORTED = ("contact_count", "scheduled_count", "completed_count")
ContactCount = Annotated[int | None, Field(description="Contacts the campaign holds in Ontora.")]
ScheduledCount = Annotated[int | None, Field(description="Interviews Ontora has scheduled.")]
CompletedCount = Annotated[int | None, Field(description="Interviews already completed.")]


class RemoteCampaign(BaseModel):
    """One campaign as GET /v1/interviews shows it, its values in campaignsync's canonical form."""

    model_config = FROZEN

    interview_id: str
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    contact_count: ContactCount = None
    scheduled_count: ScheduledCount = None
    completed_count: CompletedCount = None


def read_remote(items: Iterable[Mapping[str, Any]]) -> dict[str, RemoteCampaign]:
    """The list endpoint's answer, keyed by interview id; unknown response fields are ignored."""
    remote = {}
    for item in items:
        interview_id = item.get("id")
        if not isinstance(interview_id, str):
            continue
        interview_id = _uuid_or_as_is(interview_id)
        remote[interview_id] = RemoteCampaign(
            interview_id=interview_id,
            status=_text(item.get("status")),
            created_at=_text(item.get("created_at")),
            updated_at=_text(item.get("updated_at")),
            fields={name: canonical(name, item.get(name)) for name in READABLE_FIELDS},
            **{name: _count(item.get(name)) for name in REPORTED},
        )
    return remote


def canonical(field: str, value: Any) -> Any:
    """A remote value in the form campaign files normalise to, so equal means equal."""
    if value is None:
        return None
    if field in _DATETIME_FIELDS and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # a zone-less answer is taken as UTC
        return _DATETIME.dump_python(moment, mode="json")
    if field == "project_id" and isinstance(value, str):
        return _uuid_or_as_is(value)
    return value


def _uuid_or_as_is(value: str) -> str:
    try:
        return canonical_uuid(value)
    except ValueError:
        return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    """A number of people, or None for anything that is not one (a bool is not)."""
    return value if type(value) is int and value >= 0 else None


class DriftKind(StrEnum):
    THEIRS = "theirs"  # changed in Ontora only: someone edited it in the web app
    OURS = "ours"  # changed in git only: waiting to be applied
    CONFLICT = "conflict"  # changed in both, differently


class FieldDrift(BaseModel):
    model_config = FROZEN

    field: str
    kind: DriftKind
    last_applied: Any = None
    remote: Any = None
    desired: Any = None


class CampaignDrift(BaseModel):
    """How one campaign in state differs between last applied, Ontora and its file, and
    the numbers of people Ontora reports for it (never compared: Ontora alone moves them)."""

    model_config = FROZEN

    key: str
    interview_id: str
    status: str | None = None
    updated_at: str | None = None
    missing: bool = Field(False, description="True when Ontora no longer lists the campaign.")
    fields: tuple[FieldDrift, ...] = ()
    contact_count: ContactCount = None
    scheduled_count: ScheduledCount = None
    completed_count: CompletedCount = None

    @property
    def not_draft(self) -> bool:
        return self.status is not None and self.status != "draft"

    @property
    def differs(self) -> bool:
        return self.missing or bool(self.fields)

    def overwritten_by(self, sent: Iterable[str]) -> tuple[str, ...]:
        """Fields edited in Ontora that sending `sent` would overwrite."""
        sending = set(sent)
        return tuple(
            item.field
            for item in self.fields
            if item.kind is not DriftKind.OURS and item.field in sending
        )


def classify(
    key: str,
    interview_id: str,
    last_applied: Mapping[str, Any],
    desired: Mapping[str, Any] | None,
    remote: RemoteCampaign | None,
) -> CampaignDrift:
    """Compare last-applied, remote and desired values of every readable managed field.

    `desired` is None for a campaign whose file is gone: git then changes nothing.
    """
    if remote is None:
        return CampaignDrift(key=key, interview_id=interview_id, missing=True)
    wanted = last_applied if desired is None else desired
    drift = []
    for field in READABLE_FIELDS:
        if field not in last_applied and field not in wanted:
            continue  # not managed: whatever Ontora holds is not ours to compare
        old, now, new = last_applied.get(field), remote.fields.get(field), wanted.get(field)
        kind = _kind(old, now, new)
        if kind is not None:
            drift.append(
                FieldDrift(field=field, kind=kind, last_applied=old, remote=now, desired=new)
            )
    return CampaignDrift(
        key=key,
        interview_id=interview_id,
        status=remote.status,
        updated_at=remote.updated_at,
        fields=tuple(drift),
        **remote.model_dump(include=set(REPORTED)),
    )


def _kind(old: Any, now: Any, new: Any) -> DriftKind | None:
    if now == old:
        return None if new == old else DriftKind.OURS
    if new == old:
        return DriftKind.THEIRS
    return None if new == now else DriftKind.CONFLICT


class DriftCounts(BaseModel):
    model_config = FROZEN

    theirs: int = 0
    ours: int = 0
    conflict: int = 0
    missing: int = 0
    not_draft: int = 0


class DriftReport(BaseModel):
    """`campaignsync drift`: every campaign in state, compared three ways."""

    model_config = FROZEN

    format_version: int = 1
    api_url: str
    workspace_id: str
    in_sync: bool
    counts: DriftCounts
    campaigns: tuple[CampaignDrift, ...]


def build_drift_report(
    desired: Mapping[str, Mapping[str, Any]],
    last_applied: Mapping[str, tuple[str, Mapping[str, Any]]],
    remote: Mapping[str, RemoteCampaign],
    *,
    api_url: str,
    workspace_id: str,
) -> DriftReport:
    """Classify every campaign in state (key -> (interview id, last applied))."""
    campaigns = tuple(
        classify(key, interview_id, fields, desired.get(key), remote.get(interview_id))
        for key, (interview_id, fields) in sorted(last_applied.items())
    )
    kinds = [item.kind for campaign in campaigns for item in campaign.fields]
    counts = DriftCounts(
        theirs=kinds.count(DriftKind.THEIRS),
        ours=kinds.count(DriftKind.OURS),
        conflict=kinds.count(DriftKind.CONFLICT),
        missing=sum(campaign.missing for campaign in campaigns),
        not_draft=sum(campaign.not_draft for campaign in campaigns),
    )
    return DriftReport(
        api_url=api_url,
        workspace_id=workspace_id,
        in_sync=not any(campaign.differs for campaign in campaigns),
        counts=counts,
        campaigns=campaigns,
    )
