"""The Markdown budget: never over --max-chars, and every changed campaign keeps its header."""

from __future__ import annotations

import re
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignsync.plan import Action, Plan
from campaignsync.planner import build_plan
from campaignsync.render import MARKDOWN_MIN_CHARS, MARKDOWN_PER_CAMPAIGN, render_markdown
from tests.factories import API_URL, WORKSPACE, applied, campaign, state


def _headers(output: str) -> list[str]:
    return re.findall(r"<details><summary>. <code>([^<]+)</code>", output)


def _changed(plan: Plan) -> list[str]:
    return [item.key for item in plan.campaigns if item.action is not Action.NO_OP]


def test_one_huge_section_leaves_every_later_header_in_place() -> None:
    contacts = [{"name": f"P {i}", "email": f"p{i}@example.org"} for i in range(2_000)]
    files = [campaign("a/huge", contacts=contacts)] + [
        campaign(f"b/small{n}", goal="Learn") for n in range(5)
    ]
    plan = build_plan(files, state(), api_url=API_URL, workspace_id=WORKSPACE)
    output = render_markdown(plan, max_chars=20_000)
    assert len(output) <= 20_000
    assert _headers(output) == _changed(plan)
    assert "more line(s) of this diff left out to fit the size limit" in output
    # The small sections fit whole: their goal line is there.
    assert output.count('+ goal: "Learn"') == 5


def test_a_long_target_list_fits_the_budget() -> None:
    targets = [f"team{n:05d}/campaign-with-a-long-name" for n in range(3_000)]
    files = [campaign("team00001/campaign-with-a-long-name", goal="x")]
    plan = build_plan(files, state(), api_url=API_URL, workspace_id=WORKSPACE, targets=targets)
    output = render_markdown(plan, max_chars=MARKDOWN_MIN_CHARS)
    assert len(output) <= MARKDOWN_MIN_CHARS
    assert "`team00000/campaign-with-a-long-name`" in output
    assert "more target(s)" in output
    assert _headers(output) == ["team00001/campaign-with-a-long-name"]


_KEYS = st.from_regex(r"[a-z][a-z0-9_-]{0,12}(/[a-z0-9][a-z0-9._-]{0,12}){0,2}", fullmatch=True)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@st.composite
def _contacts(draw: st.DrawFn) -> list[dict[str, str]]:
    """Up to a few hundred contacts, some without email (identified by name and phone)."""
    name = draw(st.text(min_size=1, max_size=30).filter(str.strip))
    phone = draw(st.text(max_size=20))
    count = draw(st.integers(0, 300))
    return [
        {"name": f"{name} {i}", "phone": phone}
        if i % 3 == 0
        else {"name": f"{name} {i}", "email": f"c{i}@ex.org"}
        for i in range(count)
    ]


@st.composite
def _plans(draw: st.DrawFn) -> Plan:
    keys = draw(st.lists(_KEYS, min_size=1, max_size=12, unique=True))
    files, entries = [], {}
    for key in keys:
        fields = {"goal": draw(_TEXT), "contacts": draw(_contacts())}
        files.append(campaign(key, **fields))
        if draw(st.booleans()):
            interview_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
            entries[key.replace("/", "__")] = applied(interview_id, campaign(key, goal=draw(_TEXT)))
    targets = draw(st.lists(_KEYS, max_size=30)) if draw(st.booleans()) else []
    return build_plan(
        files, state(**entries), api_url=API_URL, workspace_id=WORKSPACE, targets=targets
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=_plans(), extra=st.integers(0, 3_000) | st.integers(0, 60_000), sensitive=st.booleans())
def test_markdown_fits_any_budget_and_keeps_every_header(
    plan: Plan, extra: int, sensitive: bool
) -> None:
    changed = _changed(plan)
    limit = MARKDOWN_MIN_CHARS + MARKDOWN_PER_CAMPAIGN * len(changed) + extra
    output = render_markdown(plan, max_chars=limit, show_sensitive=sensitive)
    assert len(output) <= limit
    assert _headers(output) == changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=_plans(), limit=st.integers(MARKDOWN_MIN_CHARS, 8_000))
def test_markdown_never_exceeds_any_budget_from_the_minimum(plan: Plan, limit: int) -> None:
    assert len(render_markdown(plan, max_chars=limit)) <= limit
