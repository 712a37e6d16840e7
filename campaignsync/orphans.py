"""Campaigns in state whose file is gone, and the new files that look like them renamed.

Ontora has no delete endpoint, so an orphan's campaign stays; the plan says how to forget
it, or how to follow a file renamed without `campaignsync state mv`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from campaignsync.plan import Action, CampaignPlan
from campaignsync.state import Entry


def with_orphans(
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
