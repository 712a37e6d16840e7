"""Plan -> text or JSON, and the pieces every renderer shares. Formats only: every decision
was made by the planner."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from campaignsync.diff import FieldChange, Kind, ListDiff
from campaignsync.drift import CampaignDrift, DriftKind, FieldDrift
from campaignsync.plan import Action, CampaignPlan, Plan, Request
from campaignsync.render_people import counted, people_lines, total_line
from campaignsync.scrub import untrusted

SYMBOL = {
    Action.CREATE: "+",
    Action.ADOPT: "~",
    Action.PATCH: "~",
    Action.FINALIZE: "~",
    Action.START: "~",
    Action.NO_OP: " ",
    Action.ORPHAN: "-",
}
_KIND_SYMBOL = {Kind.ADD: "+", Kind.CHANGE: "~", Kind.REMOVE: "-"}
_COLOURS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m", "!": "\x1b[1;33m"}
_RESET = "\x1b[0m"
_SENSITIVE_CONTACT_FIELDS = frozenset({"name", "email", "phone"})
_TEXT_VALUE_LIMIT = 120
# json.dumps(value, ensure_ascii=False), without building an encoder for every value shown;
# text, most of what a plan shows, goes straight to the encoder's own string function.
_JSON_VALUE = json.JSONEncoder(ensure_ascii=False).encode
_JSON_TEXT = json.encoder.encode_basestring


def summary_line(plan: Plan) -> str:
    counts = plan.counts
    parts = [f"{counts.create} to create"]
    if counts.adopt:
        parts.append(f"{counts.adopt} to adopt")
    parts += [
        f"{counts.patch} to patch",
        f"{counts.finalize} to finalize",
    ]
    if counts.start:
        parts.append(f"{counts.start} to start")
    parts += [
        f"{counts.no_op} unchanged",
        f"{counts.orphan} orphaned",
    ]
    return f"Plan: {', '.join(parts)}."


def launch_banner(plan: Plan) -> str | None:
    """The sentence every format opens with when the plan launches campaigns."""
    if not plan.launches:
        return None
    campaigns = _counted(len(plan.launches), "campaign", "campaigns")
    people = _counted(plan.people_contacted, "person", "people")
    return f"Launching {campaigns}: Ontora will start contacting {people}"


def launched(plan: Plan) -> list[tuple[str, str]]:
    """Each launched campaign's key, and the people its file declares, in key order."""
    return [
        (item.key, _counted(item.people, "person", "people"))
        for item in plan.campaigns
        if item.launches
    ]


def held_note(plan: Plan) -> str | None:
    if not plan.launches_held:
        return None
    keys = ", ".join(untrusted(key) for key in plan.launches_held)
    return f"Not launching (--no-launch): {keys}. A later apply launches them."


def locked_warning(item: CampaignPlan) -> str | None:
    if not item.edits_may_be_locked:
        return None
    return (
        f"{untrusted(item.key)} is {untrusted(item.status or '')} in Ontora: it may refuse "
        "these edits (409 campaign_locked)."
    )


def _counted(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def launches_first(items: list[CampaignPlan]) -> list[CampaignPlan]:
    return sorted(items, key=lambda item: not item.launches)  # stable: keys stay in order


def render_json(plan: Plan) -> str:
    """The plan document, its launches first."""
    document = plan.document()
    first = {name: document.pop(name) for name in ("launches", "people_contacted")}
    return json.dumps(first | document, indent=2, ensure_ascii=False) + "\n"


# --- Text -------------------------------------------------------------------------------


def render_text(plan: Plan, *, colour: bool = False) -> str:
    """Terraform-like: one block per campaign that needs attention, then a summary line."""
    paint = painter(colour)
    lines: list[str] = []
    banner = launch_banner(plan)
    if banner is not None:
        lines += [paint("!", f"{banner}.")]
        lines += [paint("!", f"  ! {untrusted(key)} ({people})") for key, people in launched(plan)]
        lines.append("")
    if plan.environment:
        lines += [f"Environment: {plan.environment}", ""]
    held = held_note(plan)
    if held is not None:
        lines += [held, ""]
    if plan.partial:
        lines += [
            f"Note: partial plan (--target {' '.join(plan.targets)}); campaigns outside it "
            "were not compared.",
            "",
        ]
    lines += [f"Warning: {warning}" for warning in plan.warnings]
    shown = launches_first([item for item in plan.campaigns if item.action is not Action.NO_OP])
    if not shown:
        lines += [no_changes_line(plan), ""]
    else:
        lines += [
            "campaignsync will perform these actions "
            "(+ create, ~ update in place, - orphaned: not deleted):",
            "",
        ]
    for item in shown:
        lines += _text_block(item, paint)
        lines.append("")
    edited = edited_in_ontora(plan)
    if edited:
        lines += [f"{EDITED_IN_ONTORA}.", ""]
    for item in edited:
        source = f" ({untrusted(item.source)})" if item.source else ""
        lines += [f"  {untrusted(item.key)}{source}"]
        lines += [paint("!", text) for text in plan_drift_lines(item, "    ")]
        lines.append("")
    lines.append(summary_line(plan))
    if plan.has_changes:
        lines.append(total_line(plan))
    return "\n".join(lines) + "\n"


EDITED_IN_ONTORA = (
    "Edited in Ontora, nothing to send: their files hold what was last applied (change a "
    "file to send it again, or to keep the edit)"
)


def no_changes_line(plan: Plan) -> str:
    """What a plan with nothing to send says: never that Ontora matches unless it was read,
    nor where --refresh found it differs."""
    if edited_in_ontora(plan):
        return (
            "No changes to apply, but Ontora differs from the campaign files where it was "
            'edited since the last apply: see "Edited in Ontora, nothing to send".'
        )
    if plan.refreshed:
        return "No changes. Ontora matches the campaign files."
    return (
        "No changes. The campaign files match what was last applied; Ontora was not read "
        "(`plan --refresh` compares with it)."
    )


def edited_in_ontora(plan: Plan) -> list[CampaignPlan]:
    """Campaigns the plan sends nothing to, where --refresh found Ontora differs."""
    return [
        item
        for item in plan.campaigns
        if item.action is Action.NO_OP and item.drift is not None and item.drift.differs
    ]


def _text_block(item: CampaignPlan, paint: Callable[[str, str], str]) -> list[str]:
    symbol = SYMBOL[item.action]
    source = f" ({untrusted(item.source)})" if item.source else ""
    lines = [paint(symbol, f"{symbol} {untrusted(item.key)}{source}"), f"    {item.reason}"]
    if item.rename_hint:
        lines.append(paint("!", f"    ! {untrusted(item.rename_hint)}"))
    locked = locked_warning(item)
    if locked is not None:
        lines.append(paint("!", f"    ! {locked}"))
    lines += [paint(mark, f"    {text}") for mark, text in people_lines(item)]
    for change in item.changes:
        lines += [paint(s, text) for s, text in change_lines(change, plain, "    ")]
    lines += [paint("!", text) for text in plan_drift_lines(item, "    ")]
    if item.requests:
        lines.append("    requests:")
        lines += [f"      {request_line(request)}" for request in item.requests]
    return lines


def painter(colour: bool) -> Callable[[str, str], str]:
    def paint(symbol: str, text: str) -> str:
        code = _COLOURS.get(symbol)
        return f"{code}{text}{_RESET}" if colour and code else text

    return paint


def request_line(request: Request) -> str:
    count = len(request.body)
    fields = ", ".join(request.body) if count <= 4 else f"{count} fields"
    if request.starts:
        return f"{request.method} {request.path} (no body: launches the campaign)"
    line = f"{request.method} {request.path} ({fields or 'empty body'}"
    if request.creates:
        line += f"; Idempotency-Key {request.idempotency_key or 'minted at apply'}"
    return line + ")"


def plain(field: str, value: Any) -> str:
    del field
    return short(json_value(value))


def json_value(value: Any) -> str:
    """A value as one line of JSON, non-ASCII text kept as it is."""
    return _JSON_TEXT(value) if isinstance(value, str) else _JSON_VALUE(value)


def short(text: str, limit: int = _TEXT_VALUE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} chars)"


Show = Callable[[str, Any], str]


def change_lines(change: FieldChange, show: Show, indent: str) -> Iterator[tuple[str, str]]:
    """(symbol, line) pairs describing one field change."""
    symbol = _KIND_SYMBOL[change.kind]
    if change.items is not None:
        yield symbol, f"{indent}{symbol} {change.field}: {_list_summary(change.items)}"
        yield from _item_lines(change.field, change.items, show, indent + "    ")
    elif change.kind is Kind.ADD:
        yield symbol, f"{indent}+ {change.field}: {show(change.field, change.new)}"
    else:
        old, new = show(change.field, change.old), show(change.field, change.new)
        yield symbol, f"{indent}{symbol} {change.field}: {old} -> {new}"


def _list_summary(items: ListDiff) -> str:
    parts = counted(len(items.added), items.removed_count, len(items.changed))
    if items.reordered:
        parts.append("reordered")
    return ", ".join(parts) or "no item changes"


def _item_lines(field: str, items: ListDiff, show: Show, indent: str) -> Iterator[tuple[str, str]]:
    identity = _identity_shower(field, show)
    for key in items.added:
        yield "+", f"{indent}+ {identity(key)}"
    for key in items.removed:
        # Only state knew a removed contact, and it keeps a fingerprint, not the contact.
        shown = f"contact {key[:12]}" if items.fingerprinted else identity(key)
        yield "-", f"{indent}- {shown}"
    if items.removed_unknown:
        sent = "1 contact" if items.removed_unknown == 1 else f"{items.removed_unknown} contacts"
        yield "-", f"{indent}- {sent} sent by a request whose answer never came"
    value_show = _contact_shower(show) if field == "contacts" else show
    for item in items.changed:
        yield "~", f"{indent}~ {identity(item.identity)}"
        for value in item.fields:
            old = value_show(value.field, value.old)
            if items.fingerprinted and value.old is not None:
                old = "(not kept)"
            new = value_show(value.field, value.new)
            marker = "+" if value.old is None else "-" if value.new is None else "~"
            yield "~", f"{indent}    {marker} {value.field}: {old} -> {new}"
    if items.reordered:
        yield "~", f"{indent}~ order changed"


def _identity_shower(field: str, show: Show) -> Callable[[str], str]:
    if field != "contacts":
        return lambda identity: short(json_value(identity))
    return lambda identity: show("contact", identity)


def _contact_shower(show: Show) -> Show:
    def contact_value(name: str, value: Any) -> str:
        return show(f"contact.{name}" if name in _SENSITIVE_CONTACT_FIELDS else name, value)

    return contact_value


# --- Drift found by plan --refresh ----------------------------------------------------


def plan_drift_lines(item: CampaignPlan, indent: str) -> list[str]:
    """What --refresh found in Ontora that the reviewer should see: never `ours` changes,
    which are the plan itself."""
    if item.drift is None:
        return []
    lines = drift_status(item.drift, indent)
    lines += [
        field_drift(entry, indent)
        for entry in item.drift.fields
        if entry.kind is not DriftKind.OURS
    ]
    if item.overwrites:
        lines.append(
            f"{indent}! applying overwrites what was edited in Ontora: {', '.join(item.overwrites)}"
        )
    return lines


def drift_status(drift: CampaignDrift, indent: str) -> list[str]:
    if drift.missing:
        return [
            f"{indent}! Ontora no longer lists campaign {drift.interview_id}; it may have been "
            f"deleted. `campaignsync state rm {untrusted(drift.key)}` forgets it."
        ]
    if drift.not_draft:
        return [f"{indent}! status is {drift.status} in Ontora; edits may be refused"]
    return []


def field_drift(entry: FieldDrift, indent: str) -> str:
    old, now, new = (
        plain("", value) for value in (entry.last_applied, entry.remote, entry.desired)
    )
    if entry.kind is DriftKind.THEIRS:
        return f"{indent}! theirs   {entry.field}: Ontora has {now} (last applied {old})"
    if entry.kind is DriftKind.OURS:
        return f"{indent}  ours     {entry.field}: the file has {new} (last applied {old})"
    return (
        f"{indent}! conflict {entry.field}: Ontora has {now}, the file has {new} "
        f"(last applied {old})"
    )


def cell(text: str) -> str:
    return untrusted(text).replace("|", "\\|").replace("`", "'")


def longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
