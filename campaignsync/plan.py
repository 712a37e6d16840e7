"""Action, Request, CampaignPlan and Plan: the plan as data (`planner` builds it).

A plan is a frozen value. The text, JSON and Markdown renderers and the applier all read
the same object, so what was reviewed is exactly what runs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, from_json

from campaignsync import __version__
from campaignsync.diff import FieldChange
from campaignsync.drift import (
    CampaignDrift,
)
from campaignsync.ontora_models import (
    FROZEN,
)
from campaignsync.people import People, people_of
from campaignsync.spec import published_schema
from campaignsync.state import check_keepable

PLAN_FORMAT_VERSION = 1

# Stands in a path for the id that the create request returns.
INTERVIEW_ID = "{interview_id}"


class Action(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"
    PATCH = "patch"
    FINALIZE = "finalize"
    START = "start"
    NO_OP = "no-op"
    ORPHAN = "orphan"


class Request(BaseModel):
    """One HTTP request exactly as apply will send it."""

    model_config = FROZEN

    method: Literal["POST", "PATCH", "PUT"]
    path: str = Field(description=f"API path; {INTERVIEW_ID} is the id the create returns.")
    body: dict[str, Any]
    creates: bool = Field(
        False, description="True for the create: it returns the id and carries an Idempotency-Key."
    )
    idempotency_key: str | None = Field(
        None,
        description="Key of an interrupted create to resume; otherwise minted and recorded "
        "in state just before the create is sent.",
    )
    starts: bool = Field(
        False,
        description="True for the start: sent without a body, it launches the campaign "
        "and Ontora begins contacting its people.",
    )

    @field_validator("body")
    @classmethod
    def _state_can_keep(cls, body: dict[str, Any]) -> dict[str, Any]:
        """A saved plan edited by hand may not send what state could not read back."""
        check_keepable(body)
        return body

    @property
    def sets(self) -> dict[str, Any]:
        """The campaign fields this request sets: its body, or the status a start moves to."""
        return {"status": "active"} if self.starts else self.body


class CampaignPlan(BaseModel):
    """What will happen to one campaign, why, and the exact requests."""

    model_config = FROZEN

    key: str
    action: Action
    reason: str
    source: str | None = Field(None, description="The campaign file, relative to where plan ran.")
    interview_id: str | None = None
    changes: tuple[FieldChange, ...] = ()
    requests: tuple[Request, ...] = ()
    cleared: tuple[str, ...] = Field(
        (), description="Fields removed from the file: sent as null or [] and then unmanaged."
    )
    source_digest: str | None = None
    contacts_file: str | None = None
    moved_from: str | None = Field(
        None,
        description="For a create: the orphaned key this file looks renamed from (the same "
        "campaign name or file name). `campaignsync state mv OLD NEW` keeps that campaign "
        "instead of creating another.",
    )
    drift: CampaignDrift | None = Field(
        None, description="With --refresh: how Ontora differs from state and the file."
    )
    overwrites: tuple[str, ...] = Field(
        (), description="With --refresh: fields edited in Ontora that these requests overwrite."
    )
    people: int = Field(0, description="How many contacts the campaign file declares.")
    status: str | None = Field(
        None,
        description="Ontora's status of the campaign before this plan: as listed with "
        "--refresh, else as last applied (draft until a start succeeded); null when unknown.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _derived_values_agree(
        cls, data: Any, handler: ValidatorFunctionWrapHandler
    ) -> CampaignPlan:
        """A saved campaign's derived values are checked against its content, then dropped."""
        item: CampaignPlan = checked_derived(data, handler, _CAMPAIGN_DERIVED)
        return item

    @computed_field(  # type: ignore[prop-decorator]
        description="True when a start request launches the campaign."
    )
    @property
    def launches(self) -> bool:
        return any(request.starts for request in self.requests)

    @computed_field(  # type: ignore[prop-decorator]
        description="True when the campaign is past draft in Ontora and these requests edit "
        "it: Ontora may refuse them (409 campaign_locked)."
    )
    @property
    def edits_may_be_locked(self) -> bool:
        edits = any(request.method in ("PATCH", "PUT") for request in self.requests)
        return edits and self.status not in (None, "draft")

    @property
    def has_changes(self) -> bool:
        return bool(self.requests)

    @computed_field(  # type: ignore[prop-decorator]
        description="Its effect on people: contacts added, removed and changed, and with "
        "--refresh, for a campaign Ontora reports active, the numbers Ontora reports."
    )
    @property
    def audience(self) -> People:
        return people_of(
            self.changes,
            self.drift,
            launches=self.launches,
            people=self.people,
            has_changes=self.has_changes,
        )

    @property
    def sent_as_applied(self) -> frozenset[str]:
        """Fields a finalize PUT sends again with their last-applied value (it takes every
        managed field): whatever becomes of the request, Ontora holds that value."""
        puts = [request for request in self.requests if request.method == "PUT"]
        if self.action is not Action.FINALIZE or not puts:
            return frozenset()
        return frozenset(puts[0].sets.keys() - {change.field for change in self.changes})

    @property
    def rename_hint(self) -> str | None:
        """What to run instead of creating a campaign for a file renamed without `state mv`."""
        if self.moved_from is None:
            return None
        return (
            f"{self.key} looks like {self.moved_from} renamed (same name or file name): run "
            f"`campaignsync state mv {self.moved_from} {self.key}` to keep its campaign "
            "instead of creating a new one."
        )


class Counts(BaseModel):
    model_config = FROZEN

    create: int = 0
    adopt: int = 0
    patch: int = 0
    finalize: int = 0
    start: int = 0
    no_op: int = Field(0, alias="no-op")
    orphan: int = 0


class Plan(BaseModel):
    """The whole plan; saved as JSON by `plan --out` and run by `apply PLANFILE`.

    has_changes, counts, digest and people_affected are computed from the rest, so they
    always agree with it; reading a saved plan checks them, so a plan edited after it was
    made is refused.
    """

    # A number JSON cannot carry (a saved `1e400` reads as infinity) digests as itself,
    # not as the null pydantic writes by default: that would pass for a field cleared.
    model_config = ConfigDict(**FROZEN, ser_json_inf_nan="constants")

    format_version: int = PLAN_FORMAT_VERSION
    tool_version: str = __version__
    api_url: str
    workspace_id: str | None
    environment: str | None = Field(
        None,
        description="The environment of campaignsync.yaml it was made for; apply refuses it "
        "in any other (or with none chosen, if it has one).",
    )
    state_lineage: str | None
    state_serial: int
    targets: tuple[str, ...] = Field((), description="--target patterns; empty for everything.")
    warnings: tuple[str, ...] = Field((), description="What must be fixed before apply can run.")
    refreshed: bool = Field(
        False, description="Made with --refresh: each campaign records the remote it saw."
    )
    launches_held: tuple[str, ...] = Field(
        (), description="Campaigns whose launch `apply --no-launch` leaves for a later apply."
    )
    campaigns: tuple[CampaignPlan, ...]

    @computed_field(  # type: ignore[prop-decorator]
        description="Keys of the campaigns this plan launches (starts), in key order."
    )
    @property
    def launches(self) -> tuple[str, ...]:
        return tuple(campaign.key for campaign in self.campaigns if campaign.launches)

    @computed_field(  # type: ignore[prop-decorator]
        description="How many people Ontora starts contacting: the contacts that the files "
        "of the launched campaigns declare."
    )
    @property
    def people_contacted(self) -> int:
        return sum(campaign.people for campaign in self.campaigns if campaign.launches)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_changes(self) -> bool:
        return any(campaign.has_changes for campaign in self.campaigns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> Counts:
        actions = Counter(campaign.action for campaign in self.campaigns)
        return Counts.model_validate({action.value: actions[action] for action in Action})

    @computed_field(  # type: ignore[prop-decorator]
        description="sha256 of this document without the digest and what --refresh observed "
        "(refreshed, and each campaign's drift and overwrites)."
    )
    @property
    def digest(self) -> str:
        return content_digest(self)

    @computed_field(  # type: ignore[prop-decorator]
        description="The people this plan affects: the sum of its campaigns' "
        "audience.affected. Not in the digest, since --refresh moves it."
    )
    @property
    def people_affected(self) -> int:
        return sum(campaign.audience.affected for campaign in self.campaigns)

    @model_validator(mode="wrap")
    @classmethod
    def _derived_values_agree(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """A saved plan's derived values are checked against its content, then dropped."""
        saved = info.mode == "json" or bool(info.context and info.context.get(_SAVED))
        if isinstance(data, dict) and saved and "digest" not in data:
            # Read from a file: without its digest nothing shows it is unchanged.
            raise PydanticCustomError(
                "plan_digest_missing", "it has no digest, so it cannot be checked"
            )
        plan: Plan = checked_derived(data, handler, _DERIVED)
        return plan

    @classmethod
    def from_saved(cls, text: bytes) -> Plan:
        """A plan saved by `plan --out`, checked as `_derived_values_agree` says.
        ValidationError if it is not such a plan; ValueError if it is not `saved_json`."""
        # pydantic-core's JSON reader then a validation of Python values: about a third
        # faster on a large plan than validating the JSON in one pass.
        return cls.model_validate(saved_json(text), context={_SAVED: True})

    @property
    def partial(self) -> bool:
        return bool(self.targets)

    @property
    def overwrites_digest(self) -> str:
        """The remote edits this plan shows it overwrites, in short, so a reviewed plan and
        the merge's refreshed one can be compared: `unknown` without --refresh, `none`, or
        12 hex digits of sha256 of the sorted (key, field) pairs."""
        if not self.refreshed:
            return "unknown"
        pairs = sorted([item.key, name] for item in self.campaigns for name in item.overwrites)
        if not pairs:
            return "none"
        return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:12]

    @property
    def changed(self) -> tuple[CampaignPlan, ...]:
        return tuple(campaign for campaign in self.campaigns if campaign.has_changes)

    def without(self, keys: Iterable[str]) -> Plan:
        """The same plan minus some campaigns (apply's guard drops those edited remotely)."""
        dropped = set(keys)
        kept = tuple(item for item in self.campaigns if item.key not in dropped)
        return self.model_copy(update={"campaigns": kept})

    def without_launches(self) -> Plan:
        """The same plan with every start left out, for `apply --no-launch`: a campaign
        that only launched is a no-op, and `launches_held` names them all."""
        campaigns = tuple(_held(item) if item.launches else item for item in self.campaigns)
        return self.model_copy(update={"campaigns": campaigns, "launches_held": self.launches})

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


_SAVED = "saved"  # validation context: a plan read back from a file, which must hold its digest
_DERIVED = ("has_changes", "counts", "launches", "people_contacted", "people_affected", "digest")
_CAMPAIGN_DERIVED = ("launches", "edits_may_be_locked", "audience")


def _held(item: CampaignPlan) -> CampaignPlan:
    """A campaign as planned, but for its start: left for a later apply."""
    requests = tuple(request for request in item.requests if not request.starts)
    changes = tuple(change for change in item.changes if change.field != "status")
    # No proof of full apply: the file's status is not applied yet.
    update: dict[str, Any] = {"requests": requests, "changes": changes, "source_digest": None}
    if not requests:
        update |= {"action": Action.NO_OP, "reason": "launch left for later (--no-launch)"}
    return item.model_copy(update=update)


# What a --refresh observed in Ontora: shown to the reviewer and checked by apply's guard,
# never part of what was approved (an offline plan, as a fork's pull request makes, and a
# refreshed one of the same change must agree), nor people_affected, which counts it too.
_OBSERVED: dict[str, Any] = {
    "digest": True,
    "refreshed": True,
    "people_affected": True,
    "campaigns": {"__all__": {"drift", "overwrites", "status", "edits_may_be_locked", "audience"}},
}


def checked_derived(
    data: Any, handler: ValidatorFunctionWrapHandler, names: Collection[str]
) -> Any:
    """Validate `data` without its derived values `names`, then check the ones it held
    agree with what the result computes: a saved plan edited by hand is refused."""
    saved: dict[str, Any] = {}
    if isinstance(data, dict):
        saved = {name: data[name] for name in names if name in data}
        data = {name: value for name, value in data.items() if name not in names}
    model: BaseModel = handler(data)
    if saved and model.model_dump(mode="json", by_alias=True, include=set(saved)) != saved:
        raise PydanticCustomError(
            "plan_digest_mismatch", "it was changed after it was made (its digest does not match)"
        )
    return model


def saved_json(text: bytes) -> Any:
    """A saved plan's JSON, read faster than `jsontext.read_json` reads: `1e400` reads as
    infinity, which its digest (`Plan.model_config`) and `check_keepable` then refuse."""
    return from_json(text, allow_inf_nan=False)


def content_digest(plan: Plan) -> str:
    """sha256 of the plan's JSON but for its digest and what --refresh observed (requests,
    state lineage and serial, target, environment); the same after a save-and-load."""
    # A plan of no environment digests as it did before environments existed, so a plan
    # saved by an earlier version still reads as unchanged.
    exclude = _OBSERVED if plan.environment else {**_OBSERVED, "environment": True}
    body = plan.model_dump_json(by_alias=True, exclude=exclude)
    return hashlib.sha256(body.encode()).hexdigest()


def plan_json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(by_alias=True, mode="serialization")
    return published_schema("plan", schema, title="campaignsync plan")
