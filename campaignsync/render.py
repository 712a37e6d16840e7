"""Plan -> text, JSON or Markdown. Formats only: every decision was made by the planner."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from campaignsync.diff import FieldChange, Kind, ListDiff
from campaignsync.drift import CampaignDrift, DriftKind, DriftReport, FieldDrift
from campaignsync.plan import Action, CampaignPlan, Plan, Request
from campaignsync.scrub import untrusted

MARKDOWN_BUDGET = 65_000
# The smallest --max-chars, and the room per changed campaign above it that guarantees
# every changed campaign its section header (keys and reasons are bounded when shown).
MARKDOWN_MIN_CHARS = 2_000
MARKDOWN_PER_CAMPAIGN = 400

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
    source = f" ({untrusted(item.source)})" if item.source else ""
    lines = [paint(symbol, f"{symbol} {untrusted(item.key)}{source}"), f"    {item.reason}"]
    if item.rename_hint:
        lines.append(paint("!", f"    ! {untrusted(item.rename_hint)}"))
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


def _short(text: str, limit: int = _TEXT_VALUE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} chars)"


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
            f"deleted. `campaignsync state rm {untrusted(drift.key)}` forgets it."
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
        title = f"{symbol} {untrusted(drift.key)} (campaign {drift.interview_id}{status})"
        lines.append(paint(symbol, title))
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
            f"<details><summary><code>{html.escape(untrusted(drift.key))}</code></summary>",
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

    Never longer than `max_chars`. Room goes first to every section's header (kept for
    every changed campaign while there are MARKDOWN_PER_CAMPAIGN characters for each),
    then to the table rows, then to the diffs: the smallest whole, the others cut to an
    equal share of what is left. Whatever is left out is said, with how to see it.
    """
    show: Show = _plain if show_sensitive else _masked
    head = _markdown_head(plan)
    shown = [item for item in plan.campaigns if item.action is not Action.NO_OP]
    if not shown:
        head.append("No changes. Ontora matches the campaign files.")
        return "\n".join(head) + "\n"

    sections = [_Section(item, show) for item in shown]
    table = [
        "| Campaign | Action | Requests | Topics | Questions | Contacts |",
        "|---|---|---|---|---|---|",
    ]
    # Reserve room for the closing notes, which are short and always fit.
    budget = max_chars - _size(head) - _size(table) - _NOTES_RESERVE
    kept = _fit([section.smallest for section in sections], budget)
    sections = sections[: len(kept)]
    budget -= _size(kept)
    rows = _fit([_table_row(item) for item in shown], budget)
    budget -= _size(rows)

    body = head + table + rows
    if len(rows) < len(shown):
        body.append(f"\n_{len(shown) - len(rows)} more campaign(s) not listed in the table._")
    body.append("")
    body += _fill(sections, budget)
    left_out = len(shown) - len(sections)
    if left_out:
        body.append(
            f"_{left_out} campaign section(s) left out to stay within {max_chars:,} characters. "
            "Run `campaignsync plan` locally, or download the JSON plan artifact, to see them._"
        )
    if not show_sensitive:
        body.append("_Contact names, emails and phone numbers are masked._")
    return "\n".join(body) + "\n"


_NOTES_RESERVE = 400  # the closing notes: at most three lines of under 200
_HEAD_TARGETS_CHARS = 300
_HEAD_WARNINGS_CHARS = 600
_HEAD_RENAMES_CHARS = 1_200
_SUMMARY_REASON_CHARS = 150


def _markdown_head(plan: Plan) -> list[str]:
    """The marker, title, summary, targets and warnings: bounded whatever the plan holds."""
    head = [
        f"<!-- campaignsync-plan digest={plan.digest} overwrites={plan.overwrites_digest} -->",
        "### campaignsync plan",
        "",
        f"**{summary_line(plan)}**",
        "",
    ]
    if plan.partial:
        shown = _fit([f"`{_cell(target)}`" for target in plan.targets], _HEAD_TARGETS_CHARS)
        more = len(plan.targets) - len(shown)
        targets = ", ".join(shown) + (f" and {more} more target(s)" if more else "")
        head += [f"> Partial plan: only {targets}; other campaigns were not compared.", ""]
    warnings = _fit(
        [
            f"> **Warning:** {_short(warning, _HEAD_WARNINGS_CHARS // 2)}\n"
            for warning in plan.warnings
        ],
        _HEAD_WARNINGS_CHARS,
    )
    head += warnings
    if len(warnings) < len(plan.warnings):
        more = len(plan.warnings) - len(warnings)
        head += [f"> {more} more warning(s); run `campaignsync plan` to see them.", ""]
    # Above the sections, which the budget may cut: a rename is cheaper to fix before apply.
    hints = [item.rename_hint for item in plan.campaigns if item.rename_hint]
    renames = _fit(
        [f"> **Renamed?** {_inline_code(hint)}\n" for hint in hints], _HEAD_RENAMES_CHARS
    )
    head += renames
    if len(renames) < len(hints):
        more = len(hints) - len(renames)
        head += [f"> {more} more likely rename(s); run `campaignsync plan` to see them.", ""]
    return head


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _fit(parts: list[str], budget: int) -> list[str]:
    """The longest prefix of `parts` that fits in `budget` characters, joined by newlines."""
    kept: list[str] = []
    used = 0
    for part in parts:
        if used + len(part) + 1 > budget:
            break
        kept.append(part)
        used += len(part) + 1
    return kept


def _fill(sections: list[_Section], budget: int) -> list[str]:
    """Each section whole if it fits, smallest first; the rest cut to what is left, in order.

    `budget` already holds every section's smallest form.
    """
    whole: set[int] = set()
    for index in sorted(range(len(sections)), key=lambda i: sections[i].extra):
        extra = sections[index].extra
        if extra > budget:
            break
        whole.add(index)
        budget -= extra
    texts = []
    cut = len(sections) - len(whole)
    for index, section in enumerate(sections):
        if index in whole:
            texts.append(section.whole)
            continue
        # An equal share of what is left; what one section does not use goes to the next.
        text = section.cut_to(len(section.smallest) + budget // cut)
        budget -= len(text) - len(section.smallest)
        cut -= 1
        texts.append(text)
    return texts


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
    return untrusted(text).replace("|", "\\|").replace("`", "'")


class _Section:
    """One campaign's collapsible section, whole or cut to a size; its header always kept."""

    def __init__(self, item: CampaignPlan, show: Show) -> None:
        self.lines = [line for _, line in _markdown_changes(item, show)]
        if item.requests:
            self.lines += ["", "requests:"]
            self.lines += [f"  {_request_line(request)}" for request in item.requests]
        self.fence = "`" * max(3, _longest_backtick_run("\n".join(self.lines)) + 1)
        reason = _short_reason(item.reason)
        summary = f"<code>{html.escape(untrusted(item.key))}</code> — {reason}"
        self.header = f"<details><summary>{_SYMBOL[item.action]} {summary}</summary>"
        self.whole = self._render(len(self.lines))
        self.smallest = self._render(0)
        self.extra = len(self.whole) - len(self.smallest)

    def cut_to(self, limit: int) -> str:
        """The section with as many diff lines as fit in `limit` characters."""
        low, high = 0, len(self.lines)
        while low < high:  # the largest count of lines whose rendering fits
            middle = (low + high + 1) // 2
            if len(self._render(middle)) <= limit:
                low = middle
            else:
                high = middle - 1
        return self._render(low)

    def _render(self, count: int) -> str:
        parts = [self.header, ""]
        left = len(self.lines) - count
        if self.lines:
            parts += [f"{self.fence}diff", *self.lines[:count]]
            if left:
                more = "more " if count else ""
                parts.append(f"… {left} {more}line(s) of this diff left out to fit the size limit")
            parts.append(self.fence)
        parts += ["", "</details>", ""]
        return "\n".join(parts)


def _short_reason(reason: str) -> str:
    if len(reason) > _SUMMARY_REASON_CHARS:
        reason = reason[: _SUMMARY_REASON_CHARS - 1] + "…"
    return _inline_code(reason)


def _inline_code(text: str) -> str:
    """Plan prose as HTML-safe Markdown, its `commands` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(untrusted(text)))


def _markdown_changes(item: CampaignPlan, show: Show) -> Iterator[tuple[str, str]]:
    if item.rename_hint:
        yield "!", f"! {item.rename_hint}"
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
