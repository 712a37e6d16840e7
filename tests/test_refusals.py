"""Refusals: which failed requests may have taken effect, and how a refusal reads."""

from __future__ import annotations

import pytest

from campaignsync.errors import ApiError, NotSent
from campaignsync.plan import Action, CampaignPlan, Request
from campaignsync.refusals import located_error, made_nothing, outcome_unknown

INVALID = [{"type": "value_error", "loc": ["body", "goal"], "msg": "bad"}]


def _create(idempotency_key: str | None = None) -> Request:
    return Request(
        method="POST",
        path="/v1/interviews",
        body={"name": "a"},
        creates=True,
        idempotency_key=idempotency_key,
    )


@pytest.mark.parametrize(
    ("status", "unknown"), [(None, True), (500, True), (503, True), (422, False), (409, False)]
)
def test_only_no_answer_or_a_server_error_may_have_taken_effect(
    status: int | None, unknown: bool
) -> None:
    assert outcome_unknown(ApiError("failed", status=status)) is unknown


def test_a_create_made_nothing_only_when_first_sent_now_and_refused_as_invalid() -> None:
    invalid = ApiError("refused", status=422, detail=INVALID)
    reused = ApiError("refused", status=422, detail="Idempotency-Key was already used")
    assert made_nothing(invalid, _create())
    assert not made_nothing(invalid, _create("key-of-an-interrupted-apply"))
    assert not made_nothing(reused, _create())
    assert not made_nothing(ApiError("unavailable", status=503), _create())


def test_a_request_never_sent_took_no_effect_and_a_create_never_sent_made_nothing() -> None:
    never = NotSent("POST /v1/interviews was not sent: its body cannot be JSON")
    assert not outcome_unknown(never)
    assert made_nothing(never, _create())
    # The interrupted attempt with that key may still have made one.
    assert not made_nothing(never, _create("key-of-an-interrupted-apply"))


def test_a_resumed_create_refused_as_invalid_says_how_to_find_or_forget_it() -> None:
    item = CampaignPlan(
        key="hr/a", source="campaigns/hr/a.yaml", action=Action.CREATE, reason="create"
    )
    error = ApiError("refused", status=422, detail=INVALID)
    fresh = located_error(item, _create(), error, "/v1/interviews")
    resumed = located_error(item, _create("key-1"), error, "/v1/interviews")
    assert "hr/a: POST /v1/interviews answered 422" in fresh
    assert "state rm" not in fresh
    assert "campaignsync import INTERVIEW_ID hr/a" in resumed
    assert "campaignsync state rm hr/a" in resumed
