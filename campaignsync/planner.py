"""`build_plan(desired, state)`: what each campaign file needs, decided without any I/O.

Before state knows a campaign's id, its file is a create (or, with interview_id, an
adopt); after, an update: nothing, a draft PATCH, or a full finalize PUT. A campaign in
state without a file is an orphan. Every refusal is collected and reported together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from campaignsync.campaign import CampaignFile
from campaignsync.diff import FieldChange, Kind, cleared, diff_applied, diff_fields
from campaignsync.drift import RemoteCampaign, classify
from campaignsync.errors import PlanError, StateError
from campaignsync.fingerprint import Fingerprinter
from campaignsync.launch import STATUS, with_launch
from campaignsync.ontora_models import (
    CREATE_FIELDS,
    CREATE_ONLY_FIELDS,
    CREATE_PATH,
    DRAFT_FIELDS,
    FINALIZE_FIELDS,
    FINALIZE_ONLY_FIELDS,
    draft_path,
    finalize_path,
)
from campaignsync.orphans import with_orphans
from campaignsync.plan import INTERVIEW_ID, Action, CampaignPlan, Plan, Request
from campaignsync.state import Entry, PendingCreate, State


def build_plan(
    campaigns: Sequence[CampaignFile],
    state: State,
    *,
    api_url: str,
    workspace_id: str | None,
    environment: str | None = None,
    targets: Iterable[str] = (),
    remote: Mapping[str, RemoteCampaign] | None = None,
) -> Plan:
    """Compare every campaign file with its last-applied copy and decide what to send.

    With `remote` (the campaign list read from Ontora), each campaign also carries how
    Ontora drifted, and which remote edits its requests would overwrite.
    """
    patterns = tuple(targets)
    targeted = [campaign for campaign in campaigns if _targeted(campaign.key, patterns)]
    listed = {id_: seen.status for id_, seen in (remote or {}).items() if seen.status}
    planned = _plan_files(targeted, state, workspace_id, listed)
    names = {campaign.key: campaign.managed.get("name") for campaign in campaigns}
    gone = {k: v for k, v in state.campaigns.items() if k not in names and _targeted(k, patterns)}
    planned = with_orphans(planned, gone, names)
    if remote is not None:
        desired = {campaign.key: campaign.managed for campaign in campaigns}
        planned = [_with_drift(item, state, desired, remote) for item in planned]
    return Plan(
        api_url=api_url,
        workspace_id=workspace_id,
        environment=environment,
        state_lineage=state.lineage,
        state_serial=state.serial,
        targets=patterns,
        warnings=_warnings(planned, workspace_id),
        refreshed=remote is not None,
        campaigns=tuple(planned),
    )


def _targeted(key: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatchcase(key, pattern) for pattern in patterns)


def _plan_files(
    campaigns: Sequence[CampaignFile],
    state: State,
    workspace_id: str | None,
    listed: Mapping[str, str],
) -> list[CampaignPlan]:
    """Each file's campaign plan, launched if it says so (`listed`: the statuses a --refresh
    read, by interview id); the refusals of all of them are raised together."""
    managed_ids = {
        entry.interview_id: key for key, entry in state.campaigns.items() if entry.interview_id
    }
    printer = state.printer
    planned: list[CampaignPlan] = []
    refusals: list[str] = []
    for campaign in campaigns:
        entry = state.campaigns.get(campaign.key)
        try:
            item = _plan_campaign(campaign, entry, workspace_id, managed_ids, printer)
            status = listed.get(item.interview_id) if item.interview_id else None
            planned.append(with_launch(item, campaign, entry, status))
        except PlanError as exc:
            refusals.append(str(exc))
    if refusals:
        raise PlanError("\n".join(refusals))
    return planned


def _warnings(planned: Sequence[CampaignPlan], workspace_id: str | None) -> tuple[str, ...]:
    """What must be fixed before apply can run this plan."""
    if workspace_id or not any(item.action is Action.CREATE for item in planned):
        return ()
    return (
        "Creating campaigns needs a workspace: set ONTORA_WORKSPACE_ID or pass "
        "--workspace-id before apply (or set interview_id to adopt existing campaigns).",
    )


def _plan_campaign(
    campaign: CampaignFile,
    entry: Entry | None,
    workspace_id: str | None,
    managed_ids: dict[str, str],
    printer: Fingerprinter,
) -> CampaignPlan:
    """A create or an adopt until state knows the campaign's id; an update after."""
    common: dict[str, Any] = {
        "key": campaign.key,
        "source": campaign.source,
        "source_digest": campaign.source_digest,
        "contacts_file": campaign.contacts_file,
    }
    if entry is not None and entry.interview_id is not None:
        try:
            changes = diff_applied(entry.last_applied, entry.unconfirmed, campaign.managed, printer)
        except StateError as exc:  # what state keeps of its contacts, read only here
            raise StateError(f"{campaign.key}: {exc}") from exc
        # The status is not a field any edit sends: `with_launch` plans it.
        return _update(campaign, entry, [c for c in changes if c.field != STATUS], common)
    if campaign.interview_id is not None:
        return _adopt(campaign, common, managed_ids)
    return _create(campaign, workspace_id, entry.pending_create if entry else None, common)


def _update(
    campaign: CampaignFile, entry: Entry, changes: list[FieldChange], common: dict[str, Any]
) -> CampaignPlan:
    """A campaign state links to an id: no-op, a draft PATCH, or a finalize PUT."""
    interview_id = str(entry.interview_id)  # set: the caller checked
    _refuse_relink(campaign, interview_id)
    _refuse_create_only_changes(campaign, changes)
    cleared = tuple(change.field for change in changes if change.kind is Kind.REMOVE)
    common |= {"interview_id": interview_id, "changes": tuple(changes), "cleared": cleared}
    if not changes:
        return CampaignPlan(action=Action.NO_OP, reason="no changes", **common)
    # Only draft fields go into a PATCH, and none of them is a list, so `new` is the value.
    changed = {change.field: change.new for change in changes}
    finalize_only = [name for name in changed if name in FINALIZE_ONLY_FIELDS]
    notes = campaign.from_defaults(changed)
    if entry.unconfirmed:
        notes += f" (sent again: {', '.join(sorted(entry.unconfirmed))}: its answer never came)"
    if not finalize_only:
        return CampaignPlan(
            action=Action.PATCH,
            reason=f"patch: {', '.join(changed)} changed{notes}",
            requests=(Request(method="PATCH", path=draft_path(interview_id), body=changed),),
            **common,
        )
    return CampaignPlan(
        action=Action.FINALIZE,
        reason=f"finalize: {', '.join(finalize_only)} changed{notes}",
        requests=_finalize_requests(campaign.managed, entry, interview_id, changed),
        **common,
    )


def _finalize_requests(
    desired: dict[str, Any], entry: Entry, interview_id: str, changed: dict[str, Any]
) -> tuple[Request, ...]:
    """The full finalize PUT, after a draft PATCH if project_context changed too."""
    requests = []
    if "project_context" in changed:
        # Finalize does not take project_context; only the draft call can change it.
        body = {"project_context": changed["project_context"]}
        requests.append(Request(method="PATCH", path=draft_path(interview_id), body=body))
    # A field only an unconfirmed request sent may be in Ontora too: clear it like the rest.
    finalize_body = _finalize_body(desired, entry.last_applied | entry.unconfirmed)
    requests.append(Request(method="PUT", path=finalize_path(interview_id), body=finalize_body))
    return tuple(requests)


def _refuse_relink(campaign: CampaignFile, interview_id: str) -> None:
    if campaign.interview_id is not None and campaign.interview_id != interview_id:
        raise PlanError(
            f"{campaign.key}: the file adopts campaign {campaign.interview_id}, but state links "
            f"this key to {interview_id}. To switch, run `campaignsync state rm "
            f"{campaign.key}` first; to keep the current link, fix interview_id in the file."
        )


def _refuse_create_only_changes(campaign: CampaignFile, changes: Sequence[FieldChange]) -> None:
    frozen = [change.field for change in changes if change.field in CREATE_ONLY_FIELDS]
    if frozen:
        raise PlanError(
            f"{campaign.key}: {', '.join(frozen)} can only be set when a campaign is created, "
            "and Ontora has no call to change it. Restore the previous value in "
            f"{campaign.source}, or create a new campaign: remove the state entry "
            f"with `campaignsync state rm {campaign.key}` and plan again."
        )


def _create(
    campaign: CampaignFile,
    workspace_id: str | None,
    pending: PendingCreate | None,
    common: dict[str, Any],
) -> CampaignPlan:
    """POST the create (resent exactly if one is pending), then finalize, then the rest."""
    desired = campaign.managed
    # Without a workspace the plan still shows the create; apply refuses to send it.
    body = {"workspace_id": workspace_id} | _pick(desired, CREATE_FIELDS)
    reason = "create: new campaign"
    if pending is not None:
        reason = "create: resume an interrupted create with its Idempotency-Key"
        if pending.body is not None and pending.body != body:
            # Ontora may have made the campaign already: only that exact body with that
            # key is answered with it. The edits since are requests against the campaign.
            _refuse_create_only_edits(campaign, pending.body, desired)
            body = pending.body
            reason += ", exactly as first sent; then the file's edits since"
    created = {name: value for name, value in body.items() if name != "workspace_id"}
    dropped = {name: value for name, value in created.items() if name not in desired}
    key = pending.idempotency_key if pending else None
    finalize = _finalize_body(desired, created)
    requests = [
        Request(method="POST", path=CREATE_PATH, body=body, creates=True, idempotency_key=key),
        Request(method="PUT", path=finalize_path(INTERVIEW_ID), body=finalize),
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
    """Take over an existing campaign: every draft field PATCHed, then a full finalize."""
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


def _with_drift(
    item: CampaignPlan,
    state: State,
    desired: Mapping[str, dict[str, Any]],
    remote: Mapping[str, RemoteCampaign],
) -> CampaignPlan:
    """The campaign as planned, with how Ontora drifted and what its requests overwrite."""
    if item.interview_id is None:
        return item  # not created yet: nothing in Ontora to compare
    entry = state.campaigns.get(item.key)
    last_applied = entry.last_applied if entry else {}
    seen = remote.get(item.interview_id)
    drift = classify(item.key, item.interview_id, last_applied, desired.get(item.key), seen)
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
