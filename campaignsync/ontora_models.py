"""What the Ontora API takes, in one place: endpoint field sets and the nested shapes.

Facts marked [doc] come from Ontora's public API reference. Shapes marked [assumed] are
not documented; every such assumption lives in this module, so that when the real schema
is known it is corrected here and nowhere else.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)

# --- Scalar types shared by campaign files and request bodies -------------------------


def canonical_uuid(value: str) -> str:
    """The one spelling of a UUID (lowercase, hyphenated) that ids are compared in."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


_FINER_THAN_MICROSECONDS = re.compile(r":[0-9]{2}[.,][0-9]{7}")


def _text_or_datetime(value: object) -> object:
    # Without this, pydantic would accept a bare number as seconds since the epoch.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        # pydantic would drop the digits past the sixth without a word.
        if _FINER_THAN_MICROSECONDS.search(value):
            raise ValueError(
                f"{value!r} is more precise than a microsecond; "
                "write at most 6 digits after the seconds"
            )
        return value
    raise ValueError("expected a date-time with a time zone, like 2026-03-01T09:00:00Z")


def _canonical_datetime(value: datetime) -> str:
    """One canonical form, so equal instants written differently never show as a change."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def _well_formed_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not a well-formed email address")
    return value


Uuid = Annotated[
    str,
    AfterValidator(canonical_uuid),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]
DateTime = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_text_or_datetime),
    PlainSerializer(_canonical_datetime, return_type=str),
]
Email = Annotated[
    str,
    AfterValidator(_well_formed_email),
    WithJsonSchema({"type": "string", "format": "email"}),
]
NonNegativeInt = Annotated[int, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]

# Every model of campaignsync is a frozen value that takes no key it does not declare.
FROZEN = ConfigDict(frozen=True, extra="forbid")

# Everything a user writes is strict too: a YAML `yes` is not a boolean, `"30"` not an integer.
USER_INPUT = ConfigDict(**FROZEN, strict=True)


# --- Nested shapes [assumed] ------------------------------------------------------------


class Topic(BaseModel):
    """FinalizeTopicIn [assumed field names; the concepts page documents the ideas]."""

    model_config = USER_INPUT

    name: Text = Field(description="Unique name of the topic within the campaign.")
    goal: str | None = Field(None, description="What the interviews should learn on this topic.")
    priority: NonNegativeInt | None = Field(None, description="Relative priority of the topic.")
    success_threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="Share of contacts (0 to 1) who must cover the topic."
    )
    subtopics: list[Text] | None = Field(None, description="Sub-topics to explore.")


class Question(BaseModel):
    """FinalizeQuestionIn [assumed]."""

    model_config = USER_INPUT

    text: Text = Field(description="The question, as the interviewer asks it. Unique.")
    topic: str | None = Field(None, description="Name of the topic the question belongs to.")


class Contact(BaseModel):
    """FinalizeContactIn [assumed: mirrors the documented ContactCreate]."""

    model_config = USER_INPUT

    name: Text = Field(description="Full name of the person to interview.")
    email: Email | None = Field(None, description="Email address; unique within the campaign.")
    phone: str | None = Field(None, description="Phone number.")
    job_title: str | None = Field(None, description="Job title.")
    department: str | None = Field(None, description="Department.")
    seniority_level: NonNegativeInt | None = Field(None, description="Seniority level.")
    is_required: bool | None = Field(
        None, description="Whether this person must be interviewed (Ontora's default: false)."
    )
    question_set_id: Uuid | None = Field(None, description="Question set to use for this person.")


# --- Endpoint field sets [doc] ----------------------------------------------------------

# PATCH /v1/campaign-creation/{interview_id}/draft — every field optional and nullable.
DRAFT_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "goal",
        "project_context",
        "success_criteria",
        "interview_context_for_employee",
        "agent_behavior",
        "channel",
        "interview_duration_minutes",
        "interview_type",
        "voice_id",
        "welcome_screen",
        "closing_message",
        "recurring_interval",
        "timeframe_start",
        "timeframe_end",
        "quick_mode_hours",
        "scheduling_mode",
        "start_immediately",
    }
)

FOLLOWUP_FIELDS: frozenset[str] = frozenset(
    {
        "followup_enabled",
        "followup_strategy",
        "followup_intervals_hours",
        "followup_deadline_days",
        "followup_message",
    }
)

LIST_FIELDS: tuple[str, ...] = ("topics", "questions", "contacts")

# PUT /v1/campaign-creation/{interview_id}/finalize — the draft scalars except
# project_context, the follow-up settings and the three lists.
FINALIZE_FIELDS: frozenset[str] = (
    (DRAFT_FIELDS - {"project_context"}) | FOLLOWUP_FIELDS | frozenset(LIST_FIELDS)
)

# Fields only the finalize call takes: changing one of them needs a full finalize PUT.
FINALIZE_ONLY_FIELDS: frozenset[str] = FINALIZE_FIELDS - DRAFT_FIELDS

# Fields that appear on create only: no documented call changes them afterwards.
CREATE_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "project_id",
        "timezone",
        "completion_threshold",
        "interview_order",
        "weekly_availability",
        "folder",
    }
)

# POST /v1/interviews, besides workspace_id. No voice_id, follow-ups or lists.
CREATE_FIELDS: frozenset[str] = CREATE_ONLY_FIELDS | (DRAFT_FIELDS - {"voice_id"})

# The fields a create must carry [assumed: the reference does not mark them required].
CREATE_REQUIRED: tuple[str, ...] = ("workspace_id", "name")

# The InterviewOut returned by create and list; voice_id, follow-ups and lists cannot be
# read back.
INTERVIEW_OUT_FIELDS: tuple[str, ...] = (
    "id",
    "workspace_id",
    "project_id",
    "name",
    "description",
    "goal",
    "agent_behavior",
    "status",
    "channel",
    "completion_threshold",
    "timeframe_start",
    "timeframe_end",
    "interview_order",
    "interview_duration_minutes",
    "created_by",
    "created_at",
    "updated_at",
    "timezone",
    "start_immediately",
    "scheduling_mode",
    "quick_mode_hours",
    "weekly_availability",
    "project_context",
    "success_criteria",
    "interview_context_for_employee",
    "interview_type",
    "welcome_screen",
    "closing_message",
    "folder",
    "recurring_interval",
    "contact_count",
    "completed_count",
    "scheduled_count",
)

# The type of every field as documented [doc]; the nested shapes are the [assumed] models.
DOCUMENTED_TYPES: dict[str, Any] = {
    **dict.fromkeys(
        (
            "name",
            "description",
            "goal",
            "project_context",
            "success_criteria",
            "interview_context_for_employee",
            "agent_behavior",
            "channel",
            "interview_type",
            "voice_id",
            "welcome_screen",
            "closing_message",
            "recurring_interval",
            "scheduling_mode",
            "followup_strategy",
            "followup_message",
            "timezone",
            "interview_order",
            "folder",
        ),
        str,
    ),
    "interview_duration_minutes": int,
    "quick_mode_hours": int,
    "completion_threshold": int,
    "timeframe_start": datetime,
    "timeframe_end": datetime,
    "start_immediately": bool,
    "followup_enabled": bool,
    "followup_intervals_hours": list[int],
    "followup_deadline_days": list[int],
    "topics": list[Topic],
    "questions": list[Question],
    "contacts": list[Contact],
    "project_id": uuid.UUID,
    "workspace_id": uuid.UUID,
    "weekly_availability": dict[str, Any],
}

# Campaign fields that GET /v1/interviews returns, so drift can be seen in them. Everything
# else (voice_id, follow-ups, topics, questions, contacts) cannot be read back [doc].
READABLE_FIELDS: tuple[str, ...] = tuple(
    name
    for name in INTERVIEW_OUT_FIELDS
    if name in DOCUMENTED_TYPES and name not in ("workspace_id",)
)
UNREADABLE_FIELDS: tuple[str, ...] = (
    "voice_id",
    *sorted(FOLLOWUP_FIELDS),
    *LIST_FIELDS,
)

# The success body of draft and finalize is not documented; the emulator answers these
# fields [assumed], and campaignsync reads none of them.
EDIT_ANSWER_FIELDS: tuple[str, ...] = ("id", "status", "updated_at")

# Campaign lifecycle [doc]: draft -> active -> paused, active|paused -> completed.
STATUSES: tuple[str, ...] = ("draft", "active", "paused", "completed")

# Statuses with no documented call that sets them: start only moves draft to active.
UNSETTABLE_STATUSES: tuple[str, ...] = ("paused", "completed")

# The statuses in which Ontora refuses draft and finalize edits with 409 campaign_locked
# [assumed: which edits each status allows is not documented]. The emulator refuses edits
# in these by default; trials can lock other statuses too, such as active.
EDIT_LOCKED_STATUSES: tuple[str, ...] = ("completed",)

# --- Paths [doc] ------------------------------------------------------------------------

API_PREFIX = "/v1"

# GET lists the campaigns of a workspace; POST creates one.
INTERVIEWS_PATH = f"{API_PREFIX}/interviews"
CREATE_PATH = INTERVIEWS_PATH


def draft_path(interview_id: str) -> str:
    return f"{API_PREFIX}/campaign-creation/{interview_id}/draft"


def finalize_path(interview_id: str) -> str:
    return f"{API_PREFIX}/campaign-creation/{interview_id}/finalize"


def start_path(interview_id: str) -> str:
    return f"{INTERVIEWS_PATH}/{interview_id}/start"
