"""A plan's effect on people, in words: each changed campaign's people line, a warning for
edits to an active campaign with interviews completed, and the plan's total line.

Text and Markdown say the same sentences, so they are made once, here.
"""

from __future__ import annotations

from campaignsync.people import People
from campaignsync.plan import CampaignPlan, Plan


def people_lines(item: CampaignPlan) -> list[tuple[str, str]]:
    """(symbol, line) pairs for a campaign the plan changes: its people line, and the
    warning (`!`) when it edits a campaign with interviews completed."""
    if not item.has_changes:
        return []
    lines = [(" ", f"people: {people_line(item)}")]
    warning = completed_warning(item)
    if warning is not None:
        lines.append(("!", f"! {warning}"))
    return lines


def people_line(item: CampaignPlan) -> str:
    """`affects 4 (contacts: 1 added, 1 removed, 2 changed)`, with what Ontora reports for a
    campaign --refresh saw active."""
    audience = item.audience
    details = [f"contacts: {_contact_entries(audience)}"]
    reported = _reported(audience)
    if reported:
        details.append(f"active in Ontora: {reported}")
    return f"affects {_people(audience.affected)} ({'; '.join(details)})"


def completed_warning(item: CampaignPlan) -> str | None:
    """`changes questions on a campaign with 57 completed interviews`, when it has any."""
    completed = item.audience.completed_count
    if not completed or not item.has_changes:
        return None
    fields = [change.field for change in item.changes] or ["it"]
    return (
        f"changes {', '.join(fields)} on a campaign with {_count(completed, 'completed interview')}"
    )


def total_line(plan: Plan) -> str:
    """`Affects 412 people; launches 2 campaigns.`: every changed campaign's people, summed."""
    launches = len(plan.launches)
    if not launches:
        return f"Affects {_people(plan.people_affected)}."
    campaigns = "campaign" if launches == 1 else "campaigns"
    return f"Affects {_people(plan.people_affected)}; launches {launches} {campaigns}."


def counted(added: int, removed: int, changed: int) -> list[str]:
    """`["2 added", "1 changed"]`: the non-zero counts of a list's items, in this order."""
    counts = ((added, "added"), (removed, "removed"), (changed, "changed"))
    return [f"{count} {label}" for count, label in counts if count]


def _contact_entries(audience: People) -> str:
    return ", ".join(counted(audience.added, audience.removed, audience.changed)) or "unchanged"


def _reported(audience: People) -> str:
    numbers = (
        (audience.contact_count, "contact"),
        (audience.scheduled_count, "scheduled"),
        (audience.completed_count, "completed"),
    )
    parts = [
        _count(count, label) if label == "contact" else f"{count} {label}"
        for count, label in numbers
        if count is not None
    ]
    return ", ".join(parts)


def _people(count: int) -> str:
    if count == 0:
        return "no one"
    return "1 person" if count == 1 else f"{count:,} people"


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
