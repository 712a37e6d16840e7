"""Plan -> a pull-request comment in Markdown, kept within a size budget, contacts masked."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

from campaignsync.diff import ListDiff
from campaignsync.plan import Action, CampaignPlan, Plan
from campaignsync.render import (
    EDITED_IN_ONTORA,
    SYMBOL,
    Show,
    cell,
    change_lines,
    edited_in_ontora,
    held_note,
    json_value,
    launch_banner,
    launched,
    launches_first,
    locked_warning,
    longest_backtick_run,
    no_changes_line,
    plain,
    plan_drift_lines,
    request_line,
    short,
    summary_line,
)
from campaignsync.render_people import people_lines, total_line
from campaignsync.scrub import untrusted

MARKDOWN_BUDGET = 65_000
# The smallest --max-chars, and the room per changed campaign above it that guarantees
# every changed campaign its section header (keys and reasons are bounded when shown).
MARKDOWN_MIN_CHARS = 2_000
MARKDOWN_PER_CAMPAIGN = 400


def render_markdown(
    plan: Plan, *, max_chars: int = MARKDOWN_BUDGET, show_sensitive: bool = False
) -> str:
    """A pull-request comment: summary table, then one collapsible section per campaign.

    Never longer than `max_chars`. Room goes first to every section's header (kept for
    every changed campaign while there are MARKDOWN_PER_CAMPAIGN characters for each),
    then to the table rows, then to the diffs: the smallest whole, the others cut to an
    equal share of what is left. Whatever is left out is said, with how to see it.
    """
    show: Show = plain if show_sensitive else _masked
    head = _markdown_head(plan)
    shown = launches_first([item for item in plan.campaigns if item.action is not Action.NO_OP])
    if not shown:
        head.append(no_changes_line(plan))
        return "\n".join(head) + "\n"

    sections = [_Section(item, show) for item in shown]
    table = [
        "| Campaign | Action | Requests | Topics | Questions | Contacts | People |",
        "|---|---|---|---|---|---|---|",
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
_HEAD_LAUNCHES_CHARS = 1_200
_HEAD_LOCKED_CHARS = 600
_HEAD_EDITED_CHARS = 600
_SUMMARY_REASON_CHARS = 150


def _markdown_head(plan: Plan) -> list[str]:
    """The marker, title, summary, targets and warnings: bounded whatever the plan holds."""
    # The marker is what the workflows look for; environment names are [a-z0-9_-] only.
    environment = f"env={plan.environment} " if plan.environment else ""
    title = f": environment `{plan.environment}`" if plan.environment else ""
    head = [
        f"<!-- campaignsync-plan {environment}digest={plan.digest} "
        f"overwrites={plan.overwrites_digest} -->",
        *_launches(plan),
        f"### campaignsync plan{title}",
        "",
        f"**{summary_line(plan)}**",
        "",
    ]
    if plan.has_changes:
        head += [f"**{total_line(plan)}**", ""]
    held = held_note(plan)
    if held is not None:
        head += [f"> {cell(held)}", ""]
    if plan.partial:
        shown = _fit([f"`{cell(target)}`" for target in plan.targets], _HEAD_TARGETS_CHARS)
        more = len(plan.targets) - len(shown)
        targets = ", ".join(shown) + (f" and {more} more target(s)" if more else "")
        head += [f"> Partial plan: only {targets}; other campaigns were not compared.", ""]
    warnings = _fit(
        [
            f"> **Warning:** {short(warning, _HEAD_WARNINGS_CHARS // 2)}\n"
            for warning in plan.warnings
        ],
        _HEAD_WARNINGS_CHARS,
    )
    head += warnings
    if len(warnings) < len(plan.warnings):
        more = len(plan.warnings) - len(warnings)
        head += [f"> {more} more warning(s); run `campaignsync plan` to see them.", ""]
    head += _locked(plan)
    head += _edited(plan)
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


def _locked(plan: Plan) -> list[str]:
    """A warning for each campaign past draft whose edits Ontora may refuse, bounded."""
    locked = [text for text in map(locked_warning, plan.campaigns) if text is not None]
    shown = _fit(
        [f"> **Edits may be refused:** {cell(text)}\n" for text in locked], _HEAD_LOCKED_CHARS
    )
    if len(shown) < len(locked):
        shown += [f"> {len(locked) - len(shown)} more campaign(s) whose edits may be refused.", ""]
    return shown


def _edited(plan: Plan) -> list[str]:
    """The campaigns edited in Ontora that the plan sends nothing to, bounded."""
    edited = [f"> - `{cell(item.key)}` ({_drifted(item)})\n" for item in edited_in_ontora(plan)]
    if not edited:
        return []
    shown = _fit(edited, _HEAD_EDITED_CHARS)
    more = [f"> - and {len(edited) - len(shown)} more\n"] if len(shown) < len(edited) else []
    return [f"> **{cell(EDITED_IN_ONTORA)}:**", *shown, *more, ""]


def _drifted(item: CampaignPlan) -> str:
    drift = item.drift
    assert drift is not None, "only campaigns --refresh found edited"
    if drift.missing:
        return "no longer listed"
    return short(", ".join(entry.field for entry in drift.fields), _SUMMARY_REASON_CHARS)


def _launches(plan: Plan) -> list[str]:
    """The warning alert at the very top: how many campaigns launch and people are contacted."""
    banner = launch_banner(plan)
    if banner is None:
        return []
    names = [f"> - `{cell(key)}` ({people})" for key, people in launched(plan)]
    listed = _fit(names, _HEAD_LAUNCHES_CHARS)
    more = [f"> - and {len(names) - len(listed)} more"] if len(listed) < len(names) else []
    return ["> [!WARNING]", f"> **{banner}.**", ">", *listed, *more, ""]


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
        f"`{cell(item.key)}`",
        f"{SYMBOL[item.action]} {item.action.value}".strip()
        + (" + start" if item.launches and item.action is not Action.START else ""),
        ", ".join(request.method for request in item.requests) or "—",
    ]
    for field in ("topics", "questions", "contacts"):
        change = by_field.get(field)
        cells.append(_list_counts(change.items) if change and change.items else "—")
    cells.append(f"{item.audience.affected:,}" if item.has_changes else "—")
    return "| " + " | ".join(cells) + " |"


def _list_counts(items: ListDiff) -> str:
    counts = (("+", len(items.added)), ("-", items.removed_count), ("~", len(items.changed)))
    parts = [f"{symbol}{count}" for symbol, count in counts if count]
    if items.reordered:
        parts.append("↕")
    return " ".join(parts) or "—"


class _Section:
    """One campaign's collapsible section, whole or cut to a size; its header always kept."""

    def __init__(self, item: CampaignPlan, show: Show) -> None:
        self.lines = [line for _, line in _markdown_changes(item, show)]
        if item.requests:
            self.lines += ["", "requests:"]
            self.lines += [f"  {request_line(request)}" for request in item.requests]
        self.fence = "`" * max(3, longest_backtick_run("\n".join(self.lines)) + 1)
        reason = _short_reason(item.reason)
        summary = f"<code>{html.escape(untrusted(item.key))}</code> — {reason}"
        self.header = f"<details><summary>{SYMBOL[item.action]} {summary}</summary>"
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
    yield from people_lines(item)
    for change in item.changes:
        yield from change_lines(change, show, "")
    for line in plan_drift_lines(item, ""):
        yield "!", line


def _masked(field: str, value: Any) -> str:
    masker = _MASKERS.get(field)
    if masker is not None and isinstance(value, str):
        return json_value(masker(value))
    return plain(field, value)


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
