"""The one JSON reader for documents campaignsync did not just write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignsync.jsontext import read_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


@given(json_values)
def test_any_json_document_reads_back_as_written(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    assert read_json(text) == value
    assert read_json(text.encode()) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": NaN}', "NaN is not a finite number"),
        ("[Infinity]", "Infinity is not a finite number"),
        ("-Infinity", "-Infinity is not a finite number"),
        ('{"a": 1e400}', "1e400 is too large for a number"),
        ("-1" + "0" * 400 + ".5", "is too large for a number"),
        ("9" * 5000, "holds a number it cannot"),
        ("[" * 100_000 + "]" * 100_000, "nests values too deep to read"),
        ('{"a": ', "not valid JSON (line 1, column 7: Expecting value); it may be truncated"),
        (b"\xff\xfe\xff", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_what_json_cannot_hold_is_a_value_error_saying_what(text: str | bytes, says: str) -> None:
    with pytest.raises(ValueError, match=r"^it ") as caught:
        read_json(text)
    assert says in str(caught.value)


def test_a_long_number_is_shown_cut_short_and_safe() -> None:
    with pytest.raises(ValueError, match="is too large for a number") as caught:
        read_json("1" * 500 + "e999")
    assert len(str(caught.value)) < 120
