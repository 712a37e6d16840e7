"""Drift report renderers: golden files for text, JSON and Markdown, and what each leaves out."""

from __future__ import annotations

import json
from typing import Any

from campaignsync.drift import DriftReport, build_drift_report, read_remote
from campaignsync.render_drift import (
    drift_summary,
    render_drift_json,
    render_drift_markdown,
    render_drift_text,
)
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE
from tests.test_cli_validate import assert_golden

ID_C = "33333333-3333-4333-8333-333333333333"
ID_D = "55555555-5555-4555-8555-555555555555"


def _remote(interview_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": interview_id, "status": "draft", "name": "A"} | fields


def drifted_report() -> DriftReport:
    """One campaign of each kind of drift, one gone from Ontora, one paused, one in sync."""
    last = {"name": "A", "goal": "g", "channel": "phone", "description": "d"}
    return build_drift_report(
        {
            "ops/edited|x": {"name": "A", "goal": "g2", "channel": "meet", "description": "d"},
            "hr/gone": {"name": "A"},
            "hr/paused": {"name": "A"},
            "hr/`steady`": {"name": "A"},
        },
        {
            "ops/edited|x": (ID_A, last),
            "hr/gone": (ID_B, {"name": "A"}),
            "hr/paused": (ID_C, {"name": "A"}),
            "hr/`steady`": (ID_D, {"name": "A"}),
        },
        read_remote(
            [
                _remote(ID_A, goal="g", channel="web", description="Edited ```in``` the app"),
                _remote(ID_C, status="paused"),
                _remote(ID_D),
            ]
        ),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )


def in_sync_report() -> DriftReport:
    return build_drift_report(
        {"a": {"name": "A"}},
        {"a": (ID_A, {"name": "A"})},
        read_remote([_remote(ID_A)]),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )


def test_text() -> None:
    assert_golden("drift.txt", render_drift_text(drifted_report()))


def test_text_colour_only_adds_colour() -> None:
    coloured = render_drift_text(drifted_report(), colour=True)
    assert "\x1b[31m- hr/gone" in coloured
    assert "\x1b[1;33m    ! conflict channel" in coloured
    plain = render_drift_text(drifted_report())
    for code in ("\x1b[31m", "\x1b[33m", "\x1b[1;33m", "\x1b[0m"):
        coloured = coloured.replace(code, "")
    assert coloured == plain


def test_markdown() -> None:
    assert_golden("drift.md", render_drift_markdown(drifted_report()))


def test_json_holds_the_whole_report() -> None:
    output = render_drift_json(drifted_report())
    assert_golden("drift.json", output)
    assert DriftReport.model_validate(json.loads(output)) == drifted_report()


def test_in_sync() -> None:
    report = in_sync_report()
    summary = "In sync: Ontora, state and files agree for 1 campaign(s)."
    assert drift_summary(report) == summary
    assert render_drift_text(report) == summary + "\n"
    assert render_drift_markdown(report) == f"### campaignsync drift\n\n**{summary}**\n\n"
