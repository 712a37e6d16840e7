"""Keyed fingerprints of contacts: what they tell apart, and what they do not keep."""

from __future__ import annotations

import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignsync.fingerprint import (
    Fingerprinter,
    contacts_problem,
    from_format_2,
    marked_contacts,
    new_key,
    stored_contacts,
)

DANA = {"name": "Dana Whitfield", "email": "Dana.Whitfield@example.org", "job_title": "Lead"}
MAREK = {"name": "Marek Kowalski", "phone": "+48 61 555 0199"}


def test_fingerprints_follow_identity_and_fields_and_differ_between_keys() -> None:
    one, other = Fingerprinter(new_key()), Fingerprinter(new_key())
    assert one.identity(DANA) == one.identity(DANA | {"email": "dana.whitfield@EXAMPLE.org"})
    assert one.identity(DANA) != one.identity(MAREK)
    assert one.fields(DANA)["name"] == one.fields({"name": "Dana Whitfield"})["name"]
    # The field's name is hashed in: equal values of two fields do not look equal.
    assert one.fields(DANA)["name"] != one.fields({"job_title": "Dana Whitfield"})["job_title"]
    assert one.fields({"seniority_level": 1}) != one.fields({"seniority_level": "1"})
    assert one.identity(DANA) != other.identity(DANA)  # a key per state: no shared tables


def test_a_list_fingerprint_covers_every_field_and_the_order() -> None:
    printer = Fingerprinter(new_key())
    both = printer.of_contacts([DANA, MAREK])
    assert printer.same(both, [dict(reversed(DANA.items())), MAREK])  # key order is no change
    assert not printer.same(both, [MAREK, DANA])
    assert not printer.same(both, [DANA | {"job_title": "Head"}, MAREK])
    assert both["items"] == [
        " ".join([printer.identity(contact), *map(":".join, printer.fields(contact).items())])
        for contact in (DANA, MAREK)
    ]
    assert stored_contacts(both) == {
        printer.identity(DANA): printer.fields(DANA),
        printer.identity(MAREK): printer.fields(MAREK),
    }
    text = repr(both)
    for value in ("Dana", "Whitfield", "example.org", "Lead", "Marek", "+48 61 555 0199"):
        assert value not in text


class _Text(str):
    """Text of a type of its own, as another JSON decoder might hand it over."""


_ITEM = "cd name:ef email:01"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, None),
        ([DANA, MAREK], None),
        (["dana@example.org"], "contacts must be a list of objects"),
        ("dana@example.org", "neither contacts nor the fingerprints"),
        ({"fingerprint": "ab", "items": ["cd name:Dana"]}, "neither"),
        ({"fingerprint": "ab", "items": [], "extra": 1}, "neither"),
        ({"fingerprint": 1, "items": []}, "neither"),
        ({"fingerprint": "dana@example.org", "items": []}, "neither"),
        ({"fingerprint": "ab", "items": {}}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, 12]}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd name:"]}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd  name:ef"]}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd name:ef\n"]}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd full name:ef"]}, "neither"),
        ({"fingerprint": "ab", "items": [{"identity": "cd", "fields": {"a": "ef"}}]}, "neither"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd"]}, None),
        ({"fingerprint": "ab", "items": [_Text(_ITEM)]}, None),
        ({"fingerprint": "ab"}, "neither"),
        ({"count": 2}, None),  # a contact list apply marked as sent
        ({"count": -1}, "neither"),
        ({"count": True}, "neither"),
        ({"count": 2, "items": []}, "neither"),
    ],
)
def test_what_a_stored_contacts_value_may_be(value: object, problem: str | None) -> None:
    found = contacts_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_stored_fingerprints_are_a_valid_stored_value() -> None:
    printer = Fingerprinter(new_key())
    assert contacts_problem(printer.of_contacts([DANA, MAREK])) is None
    assert contacts_problem(marked_contacts([DANA, MAREK])) is None


def test_format_2_fingerprints_become_a_line_per_contact_with_the_same_fingerprints() -> None:
    printer = Fingerprinter(new_key())
    kept = printer.of_contacts([DANA, MAREK])
    format_2 = {
        "fingerprint": kept["fingerprint"],
        "items": [
            {"identity": printer.identity(contact), "fields": printer.fields(contact)}
            for contact in (DANA, MAREK)
        ],
    }
    assert from_format_2(format_2) == kept
    damaged = {"fingerprint": "ab", "items": [{"identity": "cd", "fields": {"a": 1}}]}
    assert from_format_2(damaged) is damaged  # left for the checks to refuse


_SCALARS = st.one_of(
    st.text(),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(
    key=st.binary(min_size=1, max_size=100),
    name=st.text(min_size=1),
    value=st.one_of(
        _SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(), _SCALARS, max_size=3)
    ),
)
def test_a_field_fingerprint_is_hmac_sha256_of_its_name_and_value(
    key: bytes, name: str, value: object
) -> None:
    # What state format 2 defines: states written by any version must keep matching.
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hmac.digest(key, f"{name}\0{text}".encode(), "sha256")[:8].hex()
    assert Fingerprinter(key.hex()).fields({name: value}) == {name: expected}
