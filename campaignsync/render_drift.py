"""Drift report -> text, JSON or Markdown: what `campaignsync drift` found, as found."""

from __future__ import annotations

import html
import json

from campaignsync.drift import DriftKind, DriftReport
from campaignsync.render import (
    cell,
    drift_status,
    field_drift,
    longest_backtick_run,
    painter,
)
from campaignsync.scrub import untrusted


def drift_summary(report: DriftReport) -> str:
    counts = report.counts
    if report.in_sync:
        return f"In sync: Ontora, state and files agree for {len(report.campaigns)} campaign(s)."
    return (
        f"Drift: {counts.theirs} theirs, {counts.ours} ours, {counts.conflict} conflict; "
        f"{counts.missing} missing in Ontora; {counts.not_draft} not in draft."
    )


def render_drift_text(report: DriftReport, *, colour: bool = False) -> str:
    paint = painter(colour)
    lines: list[str] = []
    for drift in report.campaigns:
        if not (drift.differs or drift.not_draft):
            continue
        symbol = "-" if drift.missing else "~"
        status = f", status {drift.status}" if drift.status else ""
        title = f"{symbol} {untrusted(drift.key)} (campaign {drift.interview_id}{status})"
        lines.append(paint(symbol, title))
        lines += [paint("!", line) for line in drift_status(drift, "    ")]
        lines += [
            paint("~" if entry.kind is DriftKind.OURS else "!", field_drift(entry, "    "))
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
            f"| `{cell(drift.key)}` | {status} | {kinds.count(DriftKind.THEIRS)} | "
            f"{kinds.count(DriftKind.OURS)} | {kinds.count(DriftKind.CONFLICT)} |"
        )
    lines.append("")
    for drift in drifted:
        body = drift_status(drift, "") + [field_drift(entry, "") for entry in drift.fields]
        content = "\n".join(body)
        fence = "`" * max(3, longest_backtick_run(content) + 1)
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
