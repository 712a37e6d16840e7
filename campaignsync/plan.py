"""Action, Request, CampaignPlan and Plan, and `build_plan`, which is pure: no I/O at all.

A plan is a frozen value. The text, JSON and Markdown renderers and the applier all read
the same object, so what was reviewed is exactly what runs.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidatorFunctionWrapHandler,
    computed_field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from campaignsync import __version__
from campaignsync.api_schema import (
    CREATE_FIELDS,
    CREATE_ONLY_FIELDS,
    CREATE_PATH,
    DRAFT_FIELDS,
    FINALIZE_FIELDS,
    FINALIZE_ONLY_FIELDS,
    FROZEN,
    draft_path,
    finalize_path,
)
from campaignsync.diff import FieldChange, Kind, cleared, diff_fields
from campaignsync.errors import PlanError
from campaignsync.loader import CampaignFile
from campaignsync.remote import CampaignDrift, RemoteCampaign, classify
from campaignsync.spec import published_schema
from campaignsync.state import Entry, PendingCreate, State

PLAN_FORMAT_VERSION = 1

# Stands in a path for the id that the create request returns.
INTERVIEW_ID = "{interview_id}"


class Action(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"
    PATCH = "patch"
    FINALIZE = "finalize"
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

    @property
    def has_changes(self) -> bool:
        return bool(self.requests)

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
    no_op: int = Field(0, alias="no-op")
    orphan: int = 0


class Plan(BaseModel):
    """The whole plan; saved as JSON by `plan --out` and run by `apply PLANFILE`.

    has_changes, counts and digest are computed from the rest, so they always agree with
    it; reading a saved plan checks them, so a plan edited after it was made is refused.
    """

    model_config = FROZEN

    format_version: int = PLAN_FORMAT_VERSION
    tool_version: str = __version__
    api_url: str
    workspace_id: str | None
    state_lineage: str | None
    state_serial: int
    targets: tuple[str, ...] = Field((), description="--target patterns; empty for everything.")
    warnings: tuple[str, ...] = Field((), description="What must be fixed before apply can run.")
    refreshed: bool = Field(
        False, description="Made with --refresh: each campaign records the remote it saw."
    )
    campaigns: tuple[CampaignPlan, ...]

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

    @model_validator(mode="wrap")
    @classmethod
    def _derived_values_agree(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Plan:
        """A saved plan's derived values are checked against its content, then dropped."""
        saved: dict[str, Any] = {}
        if isinstance(data, dict):
            saved = {name: data[name] for name in _DERIVED if name in data}
            data = {name: value for name, value in data.items() if name not in _DERIVED}
        plan: Plan = handler(data)
        if saved and plan.model_dump(mode="json", by_alias=True, include=set(saved)) != saved:
            raise PydanticCustomError(
                "plan_digest_mismatch",
                "it was changed after it was made (its digest does not match)",
            )
        return plan

    @property
    def partial(self) -> bool:
        return bool(self.targets)

    @property
    def changed(self) -> tuple[CampaignPlan, ...]:
        return tuple(campaign for campaign in self.campaigns if campaign.has_changes)

    def without(self, keys: Iterable[str]) -> Plan:
        """The same plan minus some campaigns (apply's guard drops those edited remotely)."""
        dropped = set(keys)
        kept = tuple(item for item in self.campaigns if item.key not in dropped)
        return self.model_copy(update={"campaigns": kept})

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


_DERIVED = ("has_changes", "counts", "digest")

# What a --refresh observed in Ontora. Shown to the reviewer and checked by apply's
# remote-change guard, it is never part of what was approved: an offline plan (a pull
# request from a fork has no credentials) and a refreshed plan of one change must agree.
_OBSERVED: dict[str, Any] = {
    "digest": True,
    "refreshed": True,
    "campaigns": {"__all__": {"drift", "overwrites"}},
}


def content_digest(plan: Plan) -> str:
    """sha256 of the plan's JSON but for its digest and what --refresh observed: the
    requests, the state lineage and serial, and the target. The same after a save-and-load."""
    body = plan.model_dump_json(by_alias=True, exclude=_OBSERVED)
    return hashlib.sha256(body.encode()).hexdigest()


def build_plan(
    campaigns: Sequence[CampaignFile],
    state: State,
    *,
    api_url: str,
    workspace_id: str | None,
    targets: Iterable[str] = (),
    remote: Mapping[str, RemoteCampaign] | None = None,
) -> Plan:
    """Compare every campaign file with its last-applied copy and decide what to send.

    With `remote` (the campaign list read from Ontora), each campaign also carries how
    Ontora drifted, and which remote edits its requests would overwrite.
    """
    patterns = tuple(targets)

    def wanted(key: str) -> bool:
        return not patterns or any(fnmatchcase(key, pattern) for pattern in patterns)

    planned: list[CampaignPlan] = []
    refusals: list[str] = []
    managed_ids = {
        entry.interview_id: key for key, entry in state.campaigns.items() if entry.interview_id
    }
    for campaign in campaigns:
        if not wanted(campaign.key):
            continue
        entry = state.campaigns.get(campaign.key)
        try:
            planned.append(_plan_campaign(campaign, entry, workspace_id, managed_ids))
        except PlanError as exc:
            refusals.append(str(exc))
    if refusals:
        raise PlanError("\n".join(refusals))

    present = {campaign.key for campaign in campaigns}
    gone = {key: entry for key, entry in state.campaigns.items() if key not in present}
    names = {campaign.key: campaign.managed.get("name") for campaign in campaigns}
    planned = _with_orphans(planned, {key: gone[key] for key in gone if wanted(key)}, names)
    if remote is not None:
        desired = {campaign.key: campaign.managed for campaign in campaigns}
        planned = [
            _with_drift(item, state.campaigns.get(item.key), desired.get(item.key), remote)
            for item in planned
        ]

    warnings = []
    if not workspace_id and any(item.action is Action.CREATE for item in planned):
        warnings.append(
            "Creating campaigns needs a workspace: set ONTORA_WORKSPACE_ID or pass "
            "--workspace-id before apply (or set interview_id to adopt existing campaigns)."
        )
    return Plan(
        api_url=api_url,
        workspace_id=workspace_id,
        state_lineage=state.lineage,
        state_serial=state.serial,
        targets=patterns,
        warnings=tuple(warnings),
        refreshed=remote is not None,
        campaigns=tuple(planned),
    )


def _plan_campaign(
    campaign: CampaignFile,
    entry: Entry | None,
    workspace_id: str | None,
    managed_ids: dict[str, str],
) -> CampaignPlan:
    desired = campaign.managed
    common: dict[str, Any] = {
        "key": campaign.key,
        "source": campaign.source,
        "source_digest": campaign.source_digest,
        "contacts_file": campaign.contacts_file,
    }
    if entry is None or entry.interview_id is None:
        pending = entry.pending_create if entry else None
        if campaign.interview_id is not None:
            return _adopt(campaign, common, managed_ids)
        return _create(campaign, desired, workspace_id, pending, common)

    if campaign.interview_id is not None and campaign.interview_id != entry.interview_id:
        raise PlanError(
            f"{campaign.key}: the file adopts campaign {campaign.interview_id}, but state links "
            f"this key to {entry.interview_id}. To switch, run `campaignsync state rm "
            f"{campaign.key}` first; to keep the current link, fix interview_id in the file."
        )

    interview_id = entry.interview_id
    changes = _changes(entry, desired)
    frozen = [change.field for change in changes if change.field in CREATE_ONLY_FIELDS]
    if frozen:
        raise PlanError(
            f"{campaign.key}: {', '.join(frozen)} can only be set when a campaign is created, "
            "and Ontora has no call to change it. Restore the previous value in "
            f"{campaign.source}, or create a new campaign: remove the state entry "
            f"with `campaignsync state rm {campaign.key}` and plan again."
        )
    cleared = tuple(change.field for change in changes if change.kind is Kind.REMOVE)
    common |= {"interview_id": interview_id, "changes": tuple(changes), "cleared": cleared}
    if not changes:
        return CampaignPlan(action=Action.NO_OP, reason="no changes", **common)

    # Only draft fields go into a PATCH, and none of them is a list, so `new` is the value.
    changed = {change.field: change.new for change in changes}
    finalize_only = [change.field for change in changes if change.field in FINALIZE_ONLY_FIELDS]
    again = ""
    if entry.unconfirmed:
        again = f" (sent again: {', '.join(sorted(entry.unconfirmed))}: its answer never came)"
    if not finalize_only:
        return CampaignPlan(
            action=Action.PATCH,
            reason=f"patch: {', '.join(changed)} changed{again}",
            requests=(Request(method="PATCH", path=draft_path(interview_id), body=changed),),
            **common,
        )

    requests = []
    if "project_context" in changed:
        # Finalize does not take project_context; only the draft call can change it.
        body = {"project_context": changed["project_context"]}
        requests.append(Request(method="PATCH", path=draft_path(interview_id), body=body))
    # A field only an unconfirmed request sent may be in Ontora too: clear it like the rest.
    finalize_body = _finalize_body(desired, entry.last_applied | entry.unconfirmed)
    requests.append(Request(method="PUT", path=finalize_path(interview_id), body=finalize_body))
    return CampaignPlan(
        action=Action.FINALIZE,
        reason=f"finalize: {', '.join(finalize_only)} changed{again}",
        requests=tuple(requests),
        **common,
    )


def _changes(entry: Entry, desired: dict[str, Any]) -> list[FieldChange]:
    """Field changes from last applied to the file, and every unconfirmed field again:
    Ontora may hold its last-applied value or the one sent, so it is sent whatever the
    file says (its value, or a clearing one if the file dropped it)."""
    known = {k: v for k, v in entry.last_applied.items() if k not in entry.unconfirmed}
    changes = diff_fields(known, desired)
    for field in sorted(entry.unconfirmed.keys() - desired.keys() - {c.field for c in changes}):
        sent = entry.unconfirmed[field]
        old = entry.last_applied.get(field, sent)
        clearing = FieldChange(field=field, kind=Kind.REMOVE, old=old, new=cleared(sent))
        changes += diff_fields({field: old}, {}) or [clearing]  # with list items if it can
    return changes


def _create(
    campaign: CampaignFile,
    desired: dict[str, Any],
    workspace_id: str | None,
    pending: PendingCreate | None,
    common: dict[str, Any],
) -> CampaignPlan:
    # Without a workspace the plan still shows the create; apply refuses to send it.
    create_body = {"workspace_id": workspace_id} | _pick(desired, CREATE_FIELDS)
    reason = "create: new campaign"
    if pending is not None:
        reason = "create: resume an interrupted create with its Idempotency-Key"
        if pending.body is not None and pending.body != create_body:
            # Ontora may have made the campaign already: only that exact body with that
            # key is answered with it. The edits since are requests against the campaign.
            _refuse_create_only_edits(campaign, pending.body, desired)
            create_body = pending.body
            reason += ", exactly as first sent; then the file's edits since"
    created = {name: value for name, value in create_body.items() if name != "workspace_id"}
    dropped = {name: value for name, value in created.items() if name not in desired}
    requests = [
        Request(
            method="POST",
            path=CREATE_PATH,
            body=create_body,
            creates=True,
            idempotency_key=pending.idempotency_key if pending else None,
        ),
        Request(
            method="PUT", path=finalize_path(INTERVIEW_ID), body=_finalize_body(desired, created)
        ),
    ]
    leftover = _draft_leftover(desired, created)
    if leftover:
        requests.append(Request(method="PATCH", path=draft_path(INTERVIEW_ID), body=leftover))
    return CampaignPlan(
        action=Action.CREATE,
        reason=reason,
        changes=tuple(diff_fields(dropped, desired)),
        requests=tuple(requests),
        cleared=tuple(sorted(dropped)),
        **common,
    )


def _draft_leftover(desired: dict[str, Any], created: dict[str, Any]) -> dict[str, Any]:
    """Draft fields finalize does not take whose value differs from what the create set:
    the file's value, or a clearing one for a field the file no longer has."""
    body = {}
    for name in sorted(DRAFT_FIELDS - FINALIZE_FIELDS):
        if name in desired and (name not in created or created[name] != desired[name]):
            body[name] = desired[name]
        elif name in created and name not in desired:
            body[name] = cleared(created[name])
    return body


def _refuse_create_only_edits(
    campaign: CampaignFile, sent: dict[str, Any], desired: dict[str, Any]
) -> None:
    edited = [
        name
        for name in sorted(CREATE_ONLY_FIELDS)
        if (name in sent, sent.get(name)) != (name in desired, desired.get(name))
    ]
    if edited:
        raise PlanError(
            f"{campaign.key}: {', '.join(edited)} changed since its create was sent, and only "
            "a create sets them; Ontora may already have made the campaign with the earlier "
            f"values. Restore them in {campaign.source} so the create can finish. For a "
            "campaign with the new values, first look for the earlier one in Ontora: if it "
            f"exists, `campaignsync state rm {campaign.key}`, move the file aside and adopt it "
            f"with `campaignsync import INTERVIEW_ID {campaign.key}`; if not, `campaignsync "
            f"state rm {campaign.key}` and plan again."
        )


def _adopt(
    campaign: CampaignFile, common: dict[str, Any], managed_ids: dict[str, str]
) -> CampaignPlan:
    desired = campaign.managed
    interview_id = campaign.interview_id
    assert interview_id is not None
    if interview_id in managed_ids:
        owner = managed_ids[interview_id]
        raise PlanError(
            f"{campaign.key}: campaign {interview_id} is already managed as {owner!r}. One "
            f"campaign can have one file: remove interview_id from {campaign.source}, or "
            f"`campaignsync state mv {owner} {campaign.key}` if the file was renamed."
        )
    frozen = sorted(CREATE_ONLY_FIELDS & desired.keys())
    if frozen:
        raise PlanError(
            f"{campaign.key}: adopting campaign {interview_id}, but {', '.join(frozen)} can "
            "only be set when a campaign is created. Remove them from "
            f"{campaign.source} (Ontora keeps its values), or remove interview_id "
            "to create a new campaign instead."
        )
    requests = [
        Request(method="PATCH", path=draft_path(interview_id), body=_pick(desired, DRAFT_FIELDS)),
        Request(
            method="PUT", path=finalize_path(interview_id), body=_pick(desired, FINALIZE_FIELDS)
        ),
    ]
    return CampaignPlan(
        action=Action.ADOPT,
        reason=f"adopt: interview_id {interview_id} is in the file but not yet in state",
        interview_id=interview_id,
        changes=tuple(diff_fields({}, desired)),
        requests=tuple(request for request in requests if request.body),
        **common,
    )


def _with_orphans(
    planned: list[CampaignPlan], gone: Mapping[str, Entry], names: Mapping[str, Any]
) -> list[CampaignPlan]:
    """The planned campaigns and the orphans, in key order; a create that looks like an
    orphan renamed without `state mv` says so, and so does the orphan."""
    created = [item.key for item in planned if item.action is Action.CREATE]
    moves = _likely_renames(gone, created, names)
    moved_to = {old: new for new, old in sorted(moves.items(), reverse=True)}
    kept = [
        item.model_copy(update={"moved_from": moves[item.key]}) if item.key in moves else item
        for item in planned
    ]
    kept += [_orphan(key, entry, moved_to.get(key)) for key, entry in gone.items()]
    return sorted(kept, key=lambda item: item.key)


def _likely_renames(
    gone: Mapping[str, Entry], created: Sequence[str], names: Mapping[str, Any]
) -> dict[str, str]:
    """New key -> the one orphaned key it was probably renamed from without `state mv`:
    the same campaign name as last applied, or else the same file name."""

    moves = {}
    for key in created:
        name = names.get(key)
        by_name = [old for old in gone if name is not None and _applied_name(gone[old]) == name]
        by_file = [old for old in gone if old.rsplit("/", 1)[-1] == key.rsplit("/", 1)[-1]]
        unique = next((found for found in (by_name, by_file) if len(found) == 1), None)
        if unique is not None:
            moves[key] = unique[0]
    return moves


def _applied_name(entry: Entry) -> Any:
    pending = entry.pending_create
    sent = (pending.body or {}) if pending else {}
    return entry.last_applied.get("name", sent.get("name"))


def _orphan(key: str, entry: Entry, moved_to: str | None) -> CampaignPlan:
    reason = (
        f"the file is gone; Ontora has no delete endpoint, so the campaign stays. "
        f"Run `campaignsync state rm {key}` to forget it."
    )
    if entry.interview_id is None:
        reason = (
            "the file is gone while its create was pending; a campaign may exist in Ontora "
            f"without an id in state. Run `campaignsync state rm {key}` to forget it."
        )
    if moved_to is not None:
        reason = (
            f"the file is gone, and {moved_to} looks like it under a new name: run "
            f"`campaignsync state mv {key} {moved_to}` to follow it, so that its campaign is "
            f"kept instead of a new one created. If it is no longer wanted, `campaignsync "
            f"state rm {key}` forgets it."
        )
    return CampaignPlan(
        key=key, action=Action.ORPHAN, reason=reason, interview_id=entry.interview_id
    )


def _with_drift(
    item: CampaignPlan,
    entry: Entry | None,
    desired: dict[str, Any] | None,
    remote: Mapping[str, RemoteCampaign],
) -> CampaignPlan:
    if item.interview_id is None:
        return item  # not created yet: nothing in Ontora to compare
    last_applied = entry.last_applied if entry else {}
    drift = classify(
        item.key, item.interview_id, last_applied, desired, remote.get(item.interview_id)
    )
    sent = [name for request in item.requests for name in request.body]
    return item.model_copy(update={"drift": drift, "overwrites": drift.overwritten_by(sent)})


def _finalize_body(desired: dict[str, Any], last_applied: dict[str, Any]) -> dict[str, Any]:
    """The full managed finalize body, with fields removed from the file cleared."""
    body = _pick(desired, FINALIZE_FIELDS)
    for field in sorted(FINALIZE_FIELDS & last_applied.keys() - desired.keys()):
        body[field] = cleared(last_applied[field])
    return body


def _pick(fields: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    allowed = set(names)
    return {name: value for name, value in fields.items() if name in allowed}


def plan_json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(by_alias=True, mode="serialization")
    return published_schema("plan", schema, title="campaignsync plan")
