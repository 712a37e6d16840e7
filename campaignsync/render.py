"""Plan -> text, JSON or Markdown. Formats only: every decision was made by the planner."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from campaignsync.diff import FieldChange, Kind, ListDiff
from campaignsync.plan import Action, CampaignPlan, Plan, Request
from campaignsync.remote import CampaignDrift, DriftKind, DriftReport, FieldDrift

MARKDOWN_BUDGET = 65_000

_SYMBOL = {
    Action.CREATE: "+",
    Action.ADOPT: "~",
    Action.PATCH: "~",
    Action.FINALIZE: "~",
    Action.NO_OP: " ",
    Action.ORPHAN: "-",
}
_KIND_SYMBOL = {Kind.ADD: "+", Kind.CHANGE: "~", Kind.REMOVE: "-"}
_COLOURS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m", "!": "\x1b[1;33m"}
_RESET = "\x1b[0m"
_SENSITIVE_CONTACT_FIELDS = frozenset({"name", "email", "phone"})
_TEXT_VALUE_LIMIT = 120


def summary_line(plan: Plan) -> str:
    counts = plan.counts
    parts = [f"{counts.create} to create"]
    if counts.adopt:
        parts.append(f"{counts.adopt} to adopt")
    parts += [
        f"{counts.patch} to patch",
        f"{counts.finalize} to finalize",
        f"{counts.no_op} unchanged",
        f"{counts.orphan} orphaned",
    ]
    return f"Plan: {', '.join(parts)}."


def render_json(plan: Plan) -> str:
    return json.dumps(plan.document(), indent=2, ensure_ascii=False) + "\n"


# --- Text -------------------------------------------------------------------------------


def render_text(plan: Plan, *, colour: bool = False) -> str:
    """Terraform-like: one block per campaign that needs attention, then a summary line."""
    paint = _painter(colour)
    lines: list[str] = []
    if plan.partial:
        lines += [
            f"Note: partial plan (--target {' '.join(plan.targets)}); campaigns outside it "
            "were not compared.",
            "",
        ]
    lines += [f"Warning: {warning}" for warning in plan.warnings]
    shown = [item for item in plan.campaigns if item.action is not Action.NO_OP]
    if not shown:
        lines += ["No changes. Ontora matches the campaign files.", ""]
    else:
        lines += [
            "campaignsync will perform these actions "
            "(+ create, ~ update in place, - orphaned: not deleted):",
            "",
        ]
    for item in shown:
        lines += _text_block(item, paint)
        lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def _text_block(item: CampaignPlan, paint: Callable[[str, str], str]) -> list[str]:
    symbol = _SYMBOL[item.action]
    source = f" ({item.source})" if item.source else ""
    lines = [paint(symbol, f"{symbol} {item.key}{source}"), f"    {item.reason}"]
    for change in item.changes:
        lines += [paint(s, text) for s, text in _change_lines(change, _plain, "    ")]
    lines += [paint("!", text) for text in plan_drift_lines(item, "    ")]
    if item.requests:
        lines.append("    requests:")
        lines += [f"      {_request_line(request)}" for request in item.requests]
    return lines


def _painter(colour: bool) -> Callable[[str, str], str]:
    def paint(symbol: str, text: str) -> str:
        code = _COLOURS.get(symbol)
        return f"{code}{text}{_RESET}" if colour and code else text

    return paint


def _request_line(request: Request) -> str:
    count = len(request.body)
    fields = ", ".join(request.body) if count <= 4 else f"{count} fields"
    line = f"{request.method} {request.path} ({fields or 'empty body'}"
    if request.creates:
        line += f"; Idempotency-Key {request.idempotency_key or 'minted at apply'}"
    return line + ")"


def _plain(field: str, value: Any) -> str:
    del field
    return _short(json.dumps(value, ensure_ascii=False))


def _short(text: str) -> str:
    if len(text) <= _TEXT_VALUE_LIMIT:
        return text
    return f"{text[: _TEXT_VALUE_LIMIT - 1]}… ({len(text)} chars)"


Show = Callable[[str, Any], str]


def _change_lines(change: FieldChange, show: Show, indent: str) -> Iterator[tuple[str, str]]:
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
    parts = [
        f"{len(group)} {label}"
        for group, label in (
            (items.added, "added"),
            (items.removed, "removed"),
            (items.changed, "changed"),
        )
        if group
    ]
    if items.reordered:
        parts.append("reordered")
    return ", ".join(parts) or "no item changes"


def _item_lines(field: str, items: ListDiff, show: Show, indent: str) -> Iterator[tuple[str, str]]:
    identity = _identity_shower(field, show)
    for key in items.added:
        yield "+", f"{indent}+ {identity(key)}"
    for key in items.removed:
        yield "-", f"{indent}- {identity(key)}"
    value_show = _contact_shower(show) if field == "contacts" else show
    for item in items.changed:
        yield "~", f"{indent}~ {identity(item.identity)}"
        for value in item.fields:
            old, new = value_show(value.field, value.old), value_show(value.field, value.new)
            marker = "+" if value.old is None else "-" if value.new is None else "~"
            yield "~", f"{indent}    {marker} {value.field}: {old} -> {new}"
    if items.reordered:
        yield "~", f"{indent}~ order changed"


def _identity_shower(field: str, show: Show) -> Callable[[str], str]:
    if field != "contacts":
        return lambda identity: _short(json.dumps(identity, ensure_ascii=False))
    return lambda identity: show("contact", identity)


def _contact_shower(show: Show) -> Show:
    def contact_value(name: str, value: Any) -> str:
        return show(f"contact.{name}" if name in _SENSITIVE_CONTACT_FIELDS else name, value)

    return contact_value


# --- Drift ---------------------------------------------------------------------------


def plan_drift_lines(item: CampaignPlan, indent: str) -> list[str]:
    """What --refresh found in Ontora that the reviewer should see: never `ours` changes,
    which are the plan itself."""
    if item.drift is None:
        return []
    lines = _drift_status(item.drift, indent)
    lines += [
        _field_drift(entry, indent)
        for entry in item.drift.fields
        if entry.kind is not DriftKind.OURS
    ]
    if item.overwrites:
        lines.append(
            f"{indent}! applying overwrites what was edited in Ontora: {', '.join(item.overwrites)}"
        )
    return lines


def _drift_status(drift: CampaignDrift, indent: str) -> list[str]:
    if drift.missing:
        return [
            f"{indent}! Ontora no longer lists campaign {drift.interview_id}; it may have been "
            f"deleted. `campaignsync state rm {drift.key}` forgets it."
        ]
    if drift.not_draft:
        return [f"{indent}! status is {drift.status} in Ontora; edits may be refused"]
    return []


def _field_drift(entry: FieldDrift, indent: str) -> str:
    old, now, new = (
        _plain("", value) for value in (entry.last_applied, entry.remote, entry.desired)
    )
    if entry.kind is DriftKind.THEIRS:
        return f"{indent}! theirs   {entry.field}: Ontora has {now} (last applied {old})"
    if entry.kind is DriftKind.OURS:
        return f"{indent}  ours     {entry.field}: the file has {new} (last applied {old})"
    return (
        f"{indent}! conflict {entry.field}: Ontora has {now}, the file has {new} "
        f"(last applied {old})"
    )


def drift_summary(report: DriftReport) -> str:
    counts = report.counts
    if report.in_sync:
        return f"In sync: Ontora, state and files agree for {len(report.campaigns)} campaign(s)."
    return (
        f"Drift: {counts.theirs} theirs, {counts.ours} ours, {counts.conflict} conflict; "
        f"{counts.missing} missing in Ontora; {counts.not_draft} not in draft."
    )


def render_drift_text(report: DriftReport, *, colour: bool = False) -> str:
    paint = _painter(colour)
    lines: list[str] = []
    for drift in report.campaigns:
        if not (drift.differs or drift.not_draft):
            continue
        symbol = "-" if drift.missing else "~"
        status = f", status {drift.status}" if drift.status else ""
        lines.append(paint(symbol, f"{symbol} {drift.key} (campaign {drift.interview_id}{status})"))
        lines += [paint("!", line) for line in _drift_status(drift, "    ")]
        lines += [
            paint("~" if entry.kind is DriftKind.OURS else "!", _field_drift(entry, "    "))
            for entry in drift.fields
        ]
        lines.append("")
    lines.append(drift_summary(report))
    return "\n".join(lines) + "\n"


def render_drift_json(report: DriftReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_drift_markdown(report: DriftReport) -> str:
    lines = ["### campaignsync drift", "", f"**{drift_summary(report)}**", ""]
    drifted = [d for d in report.campaigns if d.differs or d.not_draft]
    if not drifted:
        return "\n".join(lines) + "\n"
    lines += [
        "| Campaign | Status | Theirs | Ours | Conflict |",
        "|---|---|---|---|---|",
    ]
    for drift in drifted:
        kinds = [entry.kind for entry in drift.fields]
        status = "missing" if drift.missing else drift.status or "?"
        lines.append(
            f"| `{_cell(drift.key)}` | {status} | {kinds.count(DriftKind.THEIRS)} | "
            f"{kinds.count(DriftKind.OURS)} | {kinds.count(DriftKind.CONFLICT)} |"
        )
    lines.append("")
    for drift in drifted:
        body = _drift_status(drift, "") + [_field_drift(entry, "") for entry in drift.fields]
        content = "\n".join(body)
        fence = "`" * max(3, _longest_backtick_run(content) + 1)
        lines += [
            f"<details><summary><code>{html.escape(drift.key)}</code></summary>",
            "",
            f"{fence}diff",
            content,
            fence,
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines) + "\n"


# --- Markdown ---------------------------------------------------------------------------


def render_markdown(
    plan: Plan, *, max_chars: int = MARKDOWN_BUDGET, show_sensitive: bool = False
) -> str:
    """A pull-request comment: summary table, then one collapsible section per campaign.

    Never longer than `max_chars`: table rows and sections past the budget are left out
    whole, with a line saying how many and how to see them.
    """
    show: Show = _plain if show_sensitive else _masked
    head = [
        f"<!-- campaignsync-plan digest={plan.digest} -->",
        "### campaignsync plan",
        "",
        f"**{summary_line(plan)}**",
        "",
    ]
    if plan.partial:
        targets = ", ".join(f"`{target}`" for target in plan.targets)
        head += [f"> Partial plan: only {targets}; other campaigns were not compared.", ""]
    for warning in plan.warnings:
        head += [f"> **Warning:** {warning}", ""]
    shown = [item for item in plan.campaigns if item.action is not Action.NO_OP]
    if not shown:
        head.append("No changes. Ontora matches the campaign files.")
        return "\n".join(head) + "\n"

    rows = [_table_row(item) for item in shown]
    sections = [_section(item, show) for item in shown]
    # Reserve room for the closing notes, which are short and always fit.
    budget = max_chars - sum(len(line) + 1 for line in head) - 600
    table = [
        "| Campaign | Action | Requests | Topics | Questions | Contacts |",
        "|---|---|---|---|---|---|",
    ]
    budget -= sum(len(line) + 1 for line in table)
    kept_rows = _fit(rows, budget)
    budget -= sum(len(row) + 1 for row in kept_rows)
    kept_sections = _fit(sections, budget - 1)

    body = head + table + kept_rows
    if len(kept_rows) < len(rows):
        body.append(f"\n_{len(rows) - len(kept_rows)} more campaign(s) not listed in the table._")
    body.append("")
    body += kept_sections
    left_out = len(sections) - len(kept_sections)
    if left_out:
        body.append(
            f"_{left_out} campaign section(s) left out to stay within {max_chars:,} characters. "
            "Run `campaignsync plan` locally, or download the JSON plan artifact, to see them._"
        )
    if not show_sensitive:
        body.append("_Contact names, emails and phone numbers are masked._")
    return "\n".join(body) + "\n"


def _fit(parts: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    used = 0
    for part in parts:
        if used + len(part) + 1 > budget:
            break
        kept.append(part)
        used += len(part) + 1
    return kept


def _table_row(item: CampaignPlan) -> str:
    by_field = {change.field: change for change in item.changes}
    cells = [
        f"`{_cell(item.key)}`",
        f"{_SYMBOL[item.action]} {item.action.value}".strip(),
        ", ".join(request.method for request in item.requests) or "—",
    ]
    for field in ("topics", "questions", "contacts"):
        change = by_field.get(field)
        cells.append(_list_counts(change.items) if change and change.items else "—")
    return "| " + " | ".join(cells) + " |"


def _list_counts(items: ListDiff) -> str:
    parts = [
        f"{symbol}{len(group)}"
        for symbol, group in (("+", items.added), ("-", items.removed), ("~", items.changed))
        if group
    ]
    if items.reordered:
        parts.append("↕")
    return " ".join(parts) or "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def _section(item: CampaignPlan, show: Show) -> str:
    lines = [f"{symbol_line}" for _, symbol_line in _markdown_changes(item, show)]
    if item.requests:
        lines += ["", "requests:"]
        lines += [f"  {_request_line(request)}" for request in item.requests]
    content = "\n".join(lines)
    fence = "`" * max(3, _longest_backtick_run(content) + 1)
    reason = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(item.reason))
    summary = f"<code>{html.escape(item.key)}</code> — {reason}"
    parts = [f"<details><summary>{_SYMBOL[item.action]} {summary}</summary>", ""]
    if content:
        parts += [f"{fence}diff", content, fence]
    parts += ["", "</details>", ""]
    return "\n".join(parts)


def _markdown_changes(item: CampaignPlan, show: Show) -> Iterator[tuple[str, str]]:
    for change in item.changes:
        yield from _change_lines(change, show, "")
    for line in plan_drift_lines(item, ""):
        yield "!", line


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _masked(field: str, value: Any) -> str:
    masker = _MASKERS.get(field)
    if masker is not None and isinstance(value, str):
        return json.dumps(masker(value), ensure_ascii=False)
    return _plain(field, value)


def mask_contact(identity: str) -> str:
    """A contact's identity (see `spec.contact_identity`): `name <phone>` without an email.

    Read by its form, never by what the text holds: a name with `@` in it is still a name.
    """
    if identity.endswith(">") and " <" in identity:
        name, _, phone = identity[:-1].rpartition(" <")
        return f"{mask_name(name)} <{phone if phone == 'no phone' else mask_phone(phone)}>"
    return mask_email(identity)


def mask_email(text: str) -> str:
    """`dana@example.org` -> `d***@example.org`."""
    local, at, domain = text.rpartition("@")
    return f"{local[:1]}***@{domain}" if at else mask_name(text)


def mask_name(text: str) -> str:
    """`Dana Whitfield` -> `D*** W***`."""
    return " ".join(f"{word[:1]}***" for word in text.split()) or "***"


def mask_phone(text: str) -> str:
    """`+48 61 555 0199` -> `***99`; a short one shows nothing."""
    return f"***{text[-2:]}" if len(text) > 4 else "***"


_MASKERS: dict[str, Callable[[str], str]] = {
    "contact": mask_contact,
    "contact.name": mask_name,
    "contact.email": mask_email,
    "contact.phone": mask_phone,
}
