"""The pull-request comment: its golden file, contact masking, and the budget: never over
--max-chars, and every changed campaign keeps its header."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignsync.drift import read_remote
from campaignsync.plan import Action, Plan
from campaignsync.planner import build_plan
from campaignsync.render_markdown import (
    MARKDOWN_MIN_CHARS,
    MARKDOWN_PER_CAMPAIGN,
    mask_contact,
    mask_email,
    mask_name,
    mask_phone,
    render_markdown,
)
from tests.factories import API_URL, ID_A, WORKSPACE, applied, campaign, state
from tests.test_cli_validate import assert_golden
from tests.test_render import mixed_plan


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


@pytest.mark.parametrize("changed", [False, True])
def test_many_campaigns_edited_in_ontora_and_many_targets_fit_the_smallest_budget(
    changed: bool,
) -> None:
    keys = [f"team{n:05d}/campaign-with-a-rather-long-name-{'x' * 40}" for n in range(80)]
    ids = [str(uuid.UUID(int=n + 1, version=4)) for n in range(80)]
    current = state(
        **{key: applied(id_, campaign(key)) for key, id_ in zip(keys, ids, strict=True)}
    )
    remote = read_remote([{"id": id_, "name": "Edited"} for id_ in ids])
    files = [campaign(key) for key in keys]
    if changed:
        files[0] = campaign(keys[0], goal="New")
    plan = build_plan(
        files,
        current,
        api_url=API_URL,
        workspace_id=WORKSPACE,
        remote=remote,
        targets=[f"{key[:30]}*" for key in keys[:40]],
    )
    output = render_markdown(plan, max_chars=MARKDOWN_MIN_CHARS)
    assert len(output) <= MARKDOWN_MIN_CHARS
    assert "Edited in Ontora, nothing to send" in output
    assert "more\n" in output  # the list is cut, and says so


def test_a_long_target_list_fits_the_budget() -> None:
    targets = [f"team{n:05d}/campaign-with-a-long-name" for n in range(3_000)]
    files = [campaign("team00001/campaign-with-a-long-name", goal="x")]
    plan = build_plan(files, state(), api_url=API_URL, workspace_id=WORKSPACE, targets=targets)
    output = render_markdown(plan, max_chars=MARKDOWN_MIN_CHARS)
    assert len(output) <= MARKDOWN_MIN_CHARS
    assert "`team00000/campaign-with-a-long-name`" in output
    assert "more target(s)" in output
    assert _headers(output) == ["team00001/campaign-with-a-long-name"]


# Keys travel through `state(**entries)` with "/" spelled "__", so no key holds "__" itself.
_KEYS = st.from_regex(
    r"[a-z][a-z0-9_-]{0,12}(/[a-z0-9][a-z0-9._-]{0,12}){0,2}", fullmatch=True
).filter(lambda key: "__" not in key)
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


def test_markdown() -> None:
    assert_golden("plan.md", render_markdown(mixed_plan()))


def test_markdown_show_sensitive() -> None:
    output = render_markdown(mixed_plan(), show_sensitive=True)
    assert "dana.whitfield@example.org" in output
    assert '~ job_title: (not kept) -> "Shift Lead"' in output
    # A removed contact is known to state only by its fingerprint: nothing to show.
    assert "Marek" not in output


def test_markdown_masks_every_contact_detail() -> None:
    output = render_markdown(mixed_plan())
    for secret in ("dana.whitfield", "Marek", "Kowalski", "555 0199", "aisha.bello", "Jonas"):
        assert secret not in output


def test_a_very_large_plan_stays_within_budget_and_shows_no_raw_email() -> None:
    campaigns = [
        campaign(
            f"team{n:04d}/survey",
            goal="x" * 200,
            contacts=[
                {"name": f"Person {n} {i}", "email": f"person.{n}.{i}@example.org"}
                for i in range(200)
            ],
        )
        for n in range(300)
    ]
    plan = build_plan(campaigns, state(), api_url=API_URL, workspace_id=WORKSPACE)
    for limit in (65_000, 5_000):
        output = render_markdown(plan, max_chars=limit)
        assert len(output) <= limit
        assert not re.search(r"person\.\d+\.\d+@", output)
    # Room for every header: the diffs are cut, no campaign is left out.
    output = render_markdown(plan, max_chars=65_000)
    assert output.count("<details>") == 300
    assert "line(s) of this diff left out to fit the size limit" in output
    assert "section(s) left out" not in output
    # No room for every header: later sections are left out whole, and say so.
    assert "section(s) left out" in render_markdown(plan, max_chars=5_000)
    assert "campaign(s) not listed in the table" in render_markdown(plan, max_chars=5_000)


@pytest.mark.parametrize(
    ("masker", "text", "masked"),
    [
        (mask_email, "dana@example.org", "d***@example.org"),
        (mask_name, "Dana Whitfield", "D*** W***"),
        (mask_name, "Dana @home", "D*** @***"),
        (mask_phone, "+48 61 555 0199", "***99"),
        (mask_phone, "110", "***"),
        (mask_contact, "dana@example.org", "d***@example.org"),
        (mask_contact, "Marek Kowalski <+48 61 555 0199>", "M*** K*** <***99>"),
        (mask_contact, "Marek <no phone>", "M*** <no phone>"),
        (mask_contact, "Marek @ home <+48 61 555 0199>", "M*** @*** h*** <***99>"),
    ],
)
def test_mask(masker: Callable[[str], str], text: str, masked: str) -> None:
    assert masker(text) == masked


def test_masking_is_per_field_so_an_at_sign_in_a_name_leaks_no_phone() -> None:
    before = {"name": "Dana @home", "phone": "+49 170 1234567", "job_title": "Picker"}
    after = {"name": "Dana @home", "phone": "+49 170 1234567", "job_title": "Lead"}
    added = {"name": "Ola @ work", "phone": "+47 22 9876543"}
    old = campaign("ops/x", contacts=[before])
    plan = build_plan(
        [campaign("ops/x", contacts=[after, added])],
        state(ops__x=applied(ID_A, old)),
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    output = render_markdown(plan)
    for secret in ("1234567", "9876543", "170", "home", "work"):
        assert secret not in output, secret
    assert "D*** @*** <***67>" in output
    assert "O*** @*** w*** <***43>" in output
