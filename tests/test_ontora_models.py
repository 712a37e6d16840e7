"""What Ontora takes: scalar types, nested shapes and the endpoint field sets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from campaignsync.ontora_models import (
    CREATE_FIELDS,
    CREATE_ONLY_FIELDS,
    CREATE_REQUIRED,
    DRAFT_FIELDS,
    FINALIZE_FIELDS,
    FINALIZE_ONLY_FIELDS,
    INTERVIEW_OUT_FIELDS,
    READABLE_FIELDS,
    UNREADABLE_FIELDS,
    Contact,
    DateTime,
    Topic,
    Uuid,
    canonical_uuid,
    draft_path,
    finalize_path,
    start_path,
)

ID = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"
DATETIME: TypeAdapter[Any] = TypeAdapter(DateTime)


@given(st.uuids())
def test_every_spelling_of_a_uuid_has_one_canonical_form(value: Any) -> None:
    spellings = [str(value), str(value).upper(), value.hex, "{" + str(value) + "}"]
    assert {canonical_uuid(spelling) for spelling in spellings} == {str(value)}


def test_a_uuid_that_is_not_one_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="'nope' is not a UUID"):
        canonical_uuid("nope")
    assert TypeAdapter(Uuid).validate_python(ID.upper()) == ID


@pytest.mark.parametrize(
    "written",
    ["2026-03-01T09:00:00Z", "2026-03-01T10:00:00+01:00", "2026-03-01T09:00:00.000000+00:00"],
)
def test_equal_instants_written_differently_serialise_the_same(written: str) -> None:
    assert DATETIME.dump_python(DATETIME.validate_python(written)) == "2026-03-01T09:00:00Z"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1767225600, "expected a date-time with a time zone"),
        ("2026-03-01T09:00:00.1234567Z", "more precise than a microsecond"),
        ("2026-03-01T09:00:00", "timezone"),
    ],
)
def test_a_datetime_must_be_exact_and_aware(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DATETIME.validate_python(value)


def test_what_a_user_writes_is_strict_frozen_and_closed() -> None:
    with pytest.raises(ValidationError, match="valid integer"):
        Topic.model_validate({"name": "Pay", "priority": "1"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Topic.model_validate({"name": "Pay", "weight": 1})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Topic.model_validate({"name": "Pay", "success_threshold": 1.5})
    topic = Topic.model_validate({"name": "Pay"})
    with pytest.raises(ValidationError, match="frozen"):
        topic.name = "Tools"


@pytest.mark.parametrize("email", ["ana@example.com", "a.b+c@sub.example.co"])
def test_a_well_formed_email_is_kept(email: str) -> None:
    assert Contact.model_validate({"name": "Ana", "email": email}).email == email


@pytest.mark.parametrize("email", ["ana", "ana@", "ana@example", "a na@example.com", "ana@-x.com"])
def test_a_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(ValidationError, match="not a well-formed email address"):
        Contact.model_validate({"name": "Ana", "email": email})


def test_the_field_sets_partition_as_the_endpoints_document() -> None:
    assert FINALIZE_ONLY_FIELDS == FINALIZE_FIELDS - DRAFT_FIELDS
    assert {"topics", "questions", "contacts"} <= FINALIZE_ONLY_FIELDS
    assert not CREATE_ONLY_FIELDS & DRAFT_FIELDS
    assert CREATE_ONLY_FIELDS <= CREATE_FIELDS
    assert "voice_id" not in CREATE_FIELDS
    assert set(CREATE_REQUIRED) == {"workspace_id", "name"}


def test_readable_and_unreadable_fields_do_not_overlap_and_follow_the_list_endpoint() -> None:
    assert not set(READABLE_FIELDS) & set(UNREADABLE_FIELDS)
    assert set(READABLE_FIELDS) <= set(INTERVIEW_OUT_FIELDS)
    assert {"voice_id", "topics", "questions", "contacts"} <= set(UNREADABLE_FIELDS)


def test_paths_are_the_documented_ones() -> None:
    assert draft_path(ID) == f"/v1/campaign-creation/{ID}/draft"
    assert finalize_path(ID) == f"/v1/campaign-creation/{ID}/finalize"
    assert start_path(ID) == f"/v1/interviews/{ID}/start"


def test_every_model_here_is_a_frozen_closed_value() -> None:
    for model in (Topic, Contact):
        assert issubclass(model, BaseModel)
        assert model.model_config.get("frozen") is True
        assert model.model_config.get("extra") == "forbid"
