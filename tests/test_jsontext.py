"""The one JSON reader for documents campaignsync did not just write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignsync.jsontext import MAX_DEPTH, read_json

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
    assert read_json(json.dumps(value)) == value  # escaped: surrogate pairs make one character


NOT_FINITE = "holds a number that is not finite"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": NaN}', NOT_FINITE),
        ("[Infinity]", NOT_FINITE),
        ("-Infinity", NOT_FINITE),
        ('{"a": [1, {"b": 1e400}]}', NOT_FINITE),
        ("-1" + "0" * 400 + ".5", NOT_FINITE),
        ("9" * 5000, "holds a number too long to read"),
        ('["\\ud800"]', "holds text that is not Unicode"),  # a lone surrogate, escaped
        ('{"\\udc00": 1}', "holds text that is not Unicode"),
        ('["\ud800"]', "holds text that is not Unicode"),  # the same, as it is
        (b'["\xed\xa0\x80"]', "holds text that is not Unicode"),
        (b"\xff\xfe\xff", "not valid JSON"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nests values deeper than {MAX_DEPTH}"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
        ("[" * 100_000 + "]" * 100_000, f"nests values deeper than {MAX_DEPTH} levels"),
        ('{"a": ', "not valid JSON (EOF while parsing a value at line 1 column 6); it may be"),
        ('{"a" 1}', "not valid JSON (expected `:` at line 1 column 6)"),
        ("", "not valid JSON"),
    ],
)
def test_what_json_cannot_hold_is_a_value_error_saying_what(text: str | bytes, says: str) -> None:
    with pytest.raises(ValueError, match=r"^it ") as caught:
        read_json(text)
    assert says in str(caught.value)


def test_values_nest_as_deep_as_the_limit() -> None:
    assert read_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert read_json('{"a":' * (MAX_DEPTH - 1) + "[1.5]" + "}" * (MAX_DEPTH - 1)) is not None
