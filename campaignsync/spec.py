"""The desired state: pydantic models of a campaign file and the rules across its fields.

Top-level field names are the API's own (see `ontora_models`), so Ontora's docs read straight
onto a file. A value left out of a file is not managed; `managed_fields` returns exactly
what the file sets, normalised, and never invents a default.
"""

from __future__ import annotations

import re
import typing
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
)

from campaignsync.ontora_models import (
    UNSETTABLE_STATUSES,
    USER_INPUT,
    Contact,
    DateTime,
    NonNegativeInt,
    Question,
    Text,
    Topic,
    Uuid,
)

Loc = tuple[str | int, ...]


def _known_time_zone(value: str) -> str:
    try:
        if len(value) > 64:  # IANA names are at most about 30 characters
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the zone database (`Europe`), or a name the system refuses.
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"{shown!r} is not a known time zone, like Europe/Berlin") from None
    return value


TimeZone = Annotated[str, AfterValidator(_known_time_zone)]


def _settable_status(value: object) -> object:
    # Ontora documents paused and completed, but no call that moves a campaign there.
    if value in UNSETTABLE_STATUSES:
        raise ValueError(
            f"{value} has no documented call in Ontora's API, so campaignsync cannot "
            "set it; write draft or active (pause or complete the campaign in Ontora)"
        )
    return value


Status = Annotated[Literal["draft", "active"], BeforeValidator(_settable_status)]


class CampaignLayer(BaseModel):
    """The fields any layer of a campaign may set: its file, a folder's `_defaults.yaml`,
    or an environment's overrides. All optional; what is left out is unmanaged."""

    model_config = USER_INPUT

    # Draft and finalize scalars.
    description: str | None = Field(None, description="Short description of the campaign.")
    goal: str | None = Field(None, description="What the campaign should find out.")
    project_context: str | None = Field(
        None, description="Background the AI interviewer gets about the project (draft only)."
    )
    success_criteria: str | None = Field(None, description="What makes the campaign a success.")
    interview_context_for_employee: str | None = Field(
        None, description="What interviewees are told about the interview."
    )
    agent_behavior: str | None = Field(None, description="How the AI interviewer behaves.")
    channel: str | None = Field(None, description="Interview channel, e.g. google_meet.")
    interview_duration_minutes: NonNegativeInt | None = Field(
        None, description="Length of one interview in minutes."
    )
    interview_type: str | None = Field(None, description="Interview type, e.g. speaking_default.")
    voice_id: str | None = Field(None, description="Voice of the AI interviewer.")
    welcome_screen: str | None = Field(None, description="Text of the welcome screen.")
    closing_message: str | None = Field(None, description="Message shown when an interview ends.")
    recurring_interval: str | None = Field(None, description="How often the campaign recurs.")
    timeframe_start: DateTime | None = Field(
        None, description="When interviews may start; a date-time with a time zone."
    )
    timeframe_end: DateTime | None = Field(
        None, description="When interviews must end; after timeframe_start."
    )
    quick_mode_hours: NonNegativeInt | None = Field(None, description="Hours for quick mode.")
    scheduling_mode: str | None = Field(None, description="Scheduling mode, e.g. availability.")
    start_immediately: bool | None = Field(None, description="Start as soon as it is created.")

    # Follow-ups (finalize only).
    followup_enabled: bool | None = Field(None, description="Send follow-up reminders.")
    followup_strategy: str | None = Field(None, description="Follow-up strategy.")
    followup_intervals_hours: list[NonNegativeInt] | None = Field(
        None, description="Hours between follow-ups."
    )
    followup_deadline_days: list[NonNegativeInt] | None = Field(
        None, description="Deadlines for follow-ups, in days."
    )
    followup_message: str | None = Field(None, description="Text of the follow-up message.")

    # Lists (finalize only).
    topics: list[Topic] | None = Field(None, description="Topics; identified by name.")
    questions: list[Question] | None = Field(None, description="Questions; identified by text.")
    contacts: list[Contact] | None = Field(
        None, description="People to interview; identified by email (or name and phone)."
    )

    # Create only: no documented call changes these after the campaign exists.
    project_id: Uuid | None = Field(
        None, description="Project the campaign belongs to (create only)."
    )
    timezone: TimeZone | None = Field(
        None, description="IANA time zone of the campaign, e.g. Europe/Berlin (create only)."
    )
    completion_threshold: NonNegativeInt | None = Field(
        None, description="Completion threshold (create only)."
    )
    interview_order: str | None = Field(
        None, description="Order of interviews, e.g. seniority_high_first (create only)."
    )
    weekly_availability: dict[str, Any] | None = Field(
        None, description="Weekly availability windows (create only)."
    )
    folder: str | None = Field(None, description="Folder in Ontora (create only).")

    # The lifecycle: a draft becomes active when it is started (launched).
    status: Status = Field(
        "draft",
        description="draft (the default) or active: active launches the campaign, and "
        "Ontora starts contacting its contacts. There is no way back to draft.",
    )

    # campaignsync's own.
    contacts_file: Text | None = Field(
        None,
        description="CSV of contacts (header row of contact field names), relative to the "
        "file that sets it and inside the repository; merged with inline contacts.",
    )


_NAME = "Campaign name shown in Ontora."
_INTERVIEW_ID = "Adopt this existing campaign instead of creating a new one."
_SKIP = "true leaves the campaign out of this environment."
_ENVIRONMENTS = (
    "Values for one environment only (by its name in campaignsync.yaml), applied on top of "
    "the file and its folder defaults."
)


class DefaultsOverlay(CampaignLayer):
    """What a `_defaults.yaml` sets for one environment only."""

    skip: bool | None = Field(None, description=_SKIP)


class Defaults(CampaignLayer):
    """A folder's `_defaults.yaml`: fields every campaign in the folder and below inherits.
    `name` and `interview_id` belong to one campaign, so a defaults file cannot set them."""

    environments: dict[str, DefaultsOverlay] | None = Field(None, description=_ENVIRONMENTS)


class EnvironmentOverlay(DefaultsOverlay):
    """What a campaign file sets for one environment only."""

    name: Text | None = Field(None, description=_NAME)
    interview_id: Uuid | None = Field(None, description=_INTERVIEW_ID)


class Campaign(CampaignLayer):
    """One campaign file. Every field but `name` is optional; what is left out is unmanaged."""

    name: Text = Field(description=f"{_NAME} Required.")
    interview_id: Uuid | None = Field(None, description=_INTERVIEW_ID)
    environments: dict[str, EnvironmentOverlay] | None = Field(None, description=_ENVIRONMENTS)


# Fields that belong to one campaign, never to a folder's defaults.
NOT_IN_DEFAULTS = ("name", "interview_id")

# Fields in the order a campaign file is read, for showing changes in that order.
FIELD_ORDER: dict[str, int] = {
    name: index for index, name in enumerate(dict.fromkeys(["name", *Campaign.model_fields]))
}

# List fields: `null` is refused for them, since it would send null, not an empty list.
LIST_FIELDS = tuple(
    name
    for name, info in Campaign.model_fields.items()
    if any(typing.get_origin(option) is list for option in typing.get_args(info.annotation))
)

# Fields that describe how campaignsync finds the campaign, not the campaign itself.
OWN_FIELDS = frozenset({"interview_id", "contacts_file", "environments"})


def managed_fields(campaign: Campaign, csv_contacts: list[Contact] | None = None) -> dict[str, Any]:
    """The fields the file sets, as JSON values in canonical form, CSV contacts merged in,
    in FIELD_ORDER (the order requests carry them)."""
    fields = campaign.model_dump(mode="json", exclude_unset=True, exclude=set(OWN_FIELDS))
    if csv_contacts is not None:
        inline = fields.get("contacts") or []
        fields["contacts"] = inline + [
            contact.model_dump(mode="json", exclude_unset=True) for contact in csv_contacts
        ]
    return dict(sorted(fields.items(), key=lambda item: FIELD_ORDER[item[0]]))


# --- Campaign keys ---------------------------------------------------------------------

KEY_CHARACTERS = "ASCII letters, digits, '-', '_' and '.'"
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_key(key: str) -> str | None:
    """What is wrong with `key` as a campaign key, or None when it is safe.

    A key is segments of KEY_CHARACTERS joined by '/': no empty segment (so no leading,
    trailing or doubled '/'), none starting with '.' (so no '.' or '..'). Keys are
    printed in every output and become paths, so nothing else may reach them.
    """
    if not key:
        return "a campaign key must not be empty"
    for segment in key.split("/"):
        if not segment:
            return "a campaign key has no empty parts: no leading, trailing or doubled '/'"
        if segment.startswith("."):
            return "no part of a campaign key may start with '.' (so no '.' or '..')"
        if not _KEY_SEGMENT.fullmatch(segment):
            return f"a campaign key holds only {KEY_CHARACTERS}, with '/' between parts"
    return None


# --- Identity of list items -------------------------------------------------------------


def topic_identity(topic: dict[str, Any]) -> str:
    return str(topic["name"])


def question_identity(question: dict[str, Any]) -> str:
    return str(question["text"])


def contact_identity(contact: Mapping[str, Any]) -> str:
    email = contact.get("email")
    if email:
        return str(email).lower()
    return f"{contact.get('name')} <{contact.get('phone') or 'no phone'}>"


LIST_IDENTITY = {
    "topics": topic_identity,
    "questions": question_identity,
    "contacts": contact_identity,
}


# --- Rules across fields ----------------------------------------------------------------


def rule_violations(
    data: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]]
) -> Iterator[tuple[Loc, str]]:
    """Yield (location, message) for every rule across fields that the file breaks.

    Works on the raw mapping, so the rules are checked even where some values have the
    wrong type, and every problem is reported in one pass. `contacts` is the merged list
    (inline first, then CSV); contact locations index into it.
    """
    for field in LIST_FIELDS:
        if field in data and data[field] is None:
            message = f"null is not a list; to clear {field} remove the key, or write `{field}: []`"
            yield (field,), message

    start, end = _instant(data.get("timeframe_start")), _instant(data.get("timeframe_end"))
    if start is not None and end is not None and end <= start:
        yield ("timeframe_end",), "timeframe_end must be after timeframe_start"
    yield from _topic_violations(data.get("topics"))
    yield from _question_violations(data.get("questions"), _topic_names(data.get("topics")))
    yield from _contact_violations(contacts)


def _topic_names(topics: Any) -> set[str]:
    return {name for _, topic in _mappings(topics) if isinstance(name := topic.get("name"), str)}


def _topic_violations(topics: Any) -> Iterator[tuple[Loc, str]]:
    names: set[str] = set()
    for index, topic in _mappings(topics):
        name = topic.get("name")
        if isinstance(name, str):
            if name in names:
                yield ("topics", index, "name"), f"duplicate topic name {name!r}"
            names.add(name)


def _question_violations(questions: Any, topic_names: set[str]) -> Iterator[tuple[Loc, str]]:
    texts: set[str] = set()
    for index, question in _mappings(questions):
        text, topic_name = question.get("text"), question.get("topic")
        if isinstance(text, str):
            if text in texts:
                yield ("questions", index, "text"), f"duplicate question text {text!r}"
            texts.add(text)
        if isinstance(topic_name, str) and topic_name not in topic_names:
            known = ", ".join(repr(name) for name in sorted(topic_names)) or "none are defined"
            yield (
                ("questions", index, "topic"),
                f"topic {topic_name!r} is not one of the campaign's topics ({known})",
            )


def _contact_violations(contacts: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Loc, str]]:
    identities: set[str] = set()
    for index, contact in _mappings(contacts):
        if not isinstance(contact.get("name"), str) and not isinstance(contact.get("email"), str):
            continue
        identity = contact_identity(contact)
        if identity in identities:
            if contact.get("email"):
                message = f"duplicate contact email {contact['email']!r} (emails ignore case)"
                yield ("contacts", index, "email"), message
            else:
                name = contact.get("name")
                message = f"duplicate contact {name!r} with the same phone and no email"
                yield ("contacts", index, "name"), message
        identities.add(identity)


_DATETIME: TypeAdapter[datetime] = TypeAdapter(DateTime)


def _instant(value: object) -> datetime | None:
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        return None


def _mappings(value: object) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


SCHEMA_BASE = "https://campaignsync.dev/schemas"


def published_schema(name: str, schema: dict[str, Any], *, title: str) -> dict[str, Any]:
    """A model's JSON Schema as published under SCHEMA_BASE, in the 2020-12 dialect."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/{name}.schema.json",
        **schema,
        "title": title,
    }


def campaign_json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to check and complete campaign files."""
    return published_schema(
        "campaign", Campaign.model_json_schema(), title="campaignsync campaign"
    ) | {"description": "One Ontora interview campaign, managed as code by campaignsync."}


def defaults_json_schema() -> dict[str, Any]:
    """The JSON Schema of a folder's `_defaults.yaml`: every campaign field optional, but
    none that belongs to one campaign (`name`, `interview_id`)."""
    return published_schema(
        "defaults", Defaults.model_json_schema(), title="campaignsync folder defaults"
    ) | {"description": "Fields every campaign in this folder and below inherits."}
