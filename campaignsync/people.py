"""A campaign's effect on people: contact entries added, removed and changed by its plan,
and the numbers Ontora reports for a campaign it lists active (--refresh)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from campaignsync.diff import FieldChange, ListDiff
from campaignsync.drift import (
    REPORTED,
    CampaignDrift,
    CompletedCount,
    ContactCount,
    ScheduledCount,
)
from campaignsync.ontora_models import FROZEN


class People(BaseModel):
    """One campaign's effect on people, derived from its plan: never sent to Ontora.

    `added`, `removed` and `changed` count its contact entries by identity (a contact
    with several changed fields is one changed). With --refresh, for a campaign Ontora
    reports active, the counts are the list endpoint's numbers for it.
    """

    model_config = FROZEN

    added: int = Field(0, description="Contacts the plan adds.")
    removed: int = Field(0, description="Contacts the plan removes.")
    changed: int = Field(0, description="Contacts the plan changes, each counted once.")
    affected: int = Field(
        0,
        description="The people this campaign's requests affect: none without requests; "
        "for a launch, every contact it declares; for a campaign Ontora reports active "
        "(--refresh), its contact_count plus the contacts added; otherwise the contacts "
        "added, removed or changed.",
    )
    contact_count: ContactCount = None
    scheduled_count: ScheduledCount = None
    completed_count: CompletedCount = None


def people_of(
    changes: Sequence[FieldChange],
    drift: CampaignDrift | None,
    *,
    launches: bool,
    people: int,
    has_changes: bool,
) -> People:
    """Contact entries from the campaign's contacts diff; Ontora's numbers, and everyone
    it contacts as affected, when --refresh saw it active; everyone it declares when it
    launches."""
    contacts = next(
        (change.items for change in changes if change.field == "contacts" and change.items),
        ListDiff(),
    )
    added, removed, changed = len(contacts.added), contacts.removed_count, len(contacts.changed)
    active = drift is not None and drift.status == "active"
    reported = drift.model_dump(include=set(REPORTED)) if drift and active else {}
    contacted = reported.get("contact_count")
    affected = 0
    if launches:  # everyone it declares is contacted from now on
        affected = people
    elif has_changes:
        affected = added + removed + changed if contacted is None else contacted + added
    return People(added=added, removed=removed, changed=changed, affected=affected, **reported)
