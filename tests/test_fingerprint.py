"""Keyed fingerprints of contacts: what they tell apart, and what they do not keep."""

from __future__ import annotations

import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignsync.errors import StateError
from campaignsync.fingerprint import (
    MOST_CONTACTS,
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


_NEITHER = "neither contacts nor the fingerprints"
_LINE_2 = "contact 2 of the list is not an identity's fingerprint"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, None),
        ([DANA, MAREK], None),
        (["dana@example.org"], "contacts must be a list of objects"),
        ("dana@example.org", _NEITHER),
        ({"fingerprint": "ab", "items": ["cd name:Dana"]}, "contact 1 of the list is not"),
        ({"fingerprint": "ab", "items": [], "extra": 1}, _NEITHER),
        ({"fingerprint": 1, "items": []}, _NEITHER),
        ({"fingerprint": "dana@example.org", "items": []}, "fingerprint is not lower-case hex"),
        ({"fingerprint": "AB", "items": []}, "fingerprint is not lower-case hex"),
        ({"fingerprint": "ab", "items": {}}, _NEITHER),
        ({"fingerprint": "ab", "items": [_ITEM, 12]}, _LINE_2),
        ({"fingerprint": "ab", "items": [_ITEM, "cd name:"]}, _LINE_2),
        ({"fingerprint": "ab", "items": [_ITEM, "cd  name:ef"]}, _LINE_2),
        ({"fingerprint": "ab", "items": [_ITEM, "cd name:ef\n"]}, _LINE_2),
        ({"fingerprint": "ab", "items": [_ITEM, "cd full name:ef"]}, _LINE_2),
        ({"fingerprint": "ab", "items": [_ITEM, "CD name:ef"]}, _LINE_2),
        ({"fingerprint": "ab", "items": [{"identity": "cd", "fields": {"a": "ef"}}]}, "contact 1"),
        ({"fingerprint": "ab", "items": [_ITEM, "cd"]}, None),
        ({"fingerprint": "ab", "items": [_Text(_ITEM)]}, None),
        ({"fingerprint": "ab"}, _NEITHER),
        ({"count": 2}, "stands only for a list sent whose answer never came"),
    ],
)
def test_what_a_stored_contacts_value_may_be(value: object, problem: str | None) -> None:
    found = contacts_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("count", "problem"),
    [
        (0, None),
        (2, None),
        (MOST_CONTACTS, None),
        (MOST_CONTACTS + 1, "a whole number from 0 to"),
        (10**30, "a whole number from 0 to"),
        (-1, "a whole number from 0 to"),
        (True, "a whole number from 0 to"),
        (2.0, "a whole number from 0 to"),
        ("2", "a whole number from 0 to"),
    ],
)
def test_a_mark_keeps_a_contact_list_by_a_sane_count(count: object, problem: str | None) -> None:
    found = contacts_problem({"count": count}, marked=True)
    assert (found is None) if problem is None else (found is not None and problem in found)
    assert contacts_problem({"count": 2, "items": []}, marked=True) is not None


def test_stored_fingerprints_are_a_valid_stored_value() -> None:
    printer = Fingerprinter(new_key())
    assert contacts_problem(printer.of_contacts([DANA, MAREK])) is None
    assert contacts_problem(marked_contacts([DANA, MAREK]), marked=True) is None


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
    assert from_format_2(damaged) == damaged  # left for the checks to refuse


@pytest.mark.parametrize(
    ("identity", "fields"),
    [
        ("cd", {"name": "ef email:01"}),  # a fingerprint passing for two fields
        ("cd name:ef", {"email": "01"}),  # an identity passing for a field
        ("cd", {"full name": "ef"}),
        ("cd", {"name:x": "ef"}),
        ("CD", {"name": "ef"}),
    ],
)
def test_a_format_2_value_that_would_read_as_more_of_a_line_is_not_converted(
    identity: str, fields: dict[str, str]
) -> None:
    good = {"identity": "ab", "fields": {"name": "01"}}
    damaged = {"fingerprint": "ab", "items": [good, good, {"identity": identity, "fields": fields}]}
    converted = from_format_2(damaged)
    assert converted == {
        "fingerprint": "ab",
        "items": ["ab name:01", "ab name:01", damaged["items"][2]],
    }
    assert "contact 3 of the list" in str(contacts_problem(converted))


@pytest.mark.parametrize(
    ("items", "twice"),
    [
        (["cd name:ef", "cd name:01"], "a contact twice"),
        (["cd name:ef name:01"], "a contact with a field twice"),
    ],
)
def test_a_contact_or_a_field_kept_twice_is_a_state_error_where_it_is_read(
    items: list[str], twice: str
) -> None:
    stored = {"fingerprint": "ab", "items": items}
    assert contacts_problem(stored) is None  # each line is well formed
    with pytest.raises(StateError, match=f"holds {twice}.*restore the state file"):
        stored_contacts(stored)


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
