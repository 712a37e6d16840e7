"""Checking a campaign's values: every unusable value is found, at its place, in order;
a document is passed over only when reading it vouched that there is none."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignsync.layers import Document
from campaignsync.spec import Loc
from campaignsync.validation import MAX_DEPTH, _all_usable, unusable_values
from campaignsync.yamlread import YamlSyntaxError, read_yaml

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=3),
)
keys = st.one_of(st.text(max_size=3), st.integers(), st.none(), st.booleans(), st.floats())
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


def expected(value: Any, loc: Loc = ()) -> list[Loc]:
    """Where each unusable value is, in the order of the file: the plain recursive walk."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [loc]
    if not isinstance(value, dict | list):
        return []
    found: list[Loc] = []
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    found += [loc for key, _ in reversed(items) if isinstance(value, dict) and type(key) is not str]
    for key, item in items:
        if isinstance(value, list) or type(key) is str:
            found += expected(item, (*loc, key))
    return found


@given(st.dictionaries(st.text(max_size=3), values, max_size=5))
def test_every_unusable_value_is_found_where_it_is(data: dict[str, Any]) -> None:
    assert [loc for loc, _ in unusable_values(data)] == expected(data)


def test_a_list_shared_by_aliases_is_reported_once() -> None:
    shared = [1, math.nan]
    found = list(unusable_values({"a": shared, "b": {"c": shared}}))
    assert found == [
        (("a", 1), "NaN and infinity are not numbers a campaign can use; write a finite number")
    ]


def test_nesting_past_the_limit_is_told_at_the_field() -> None:
    deep: list[Any] = []
    innermost = deep
    for _ in range(MAX_DEPTH + 5):
        innermost.append([])
        innermost = innermost[0]
    innermost.append(math.inf)
    ((loc, message),) = unusable_values({"weekly_availability": {"mon": deep}})
    assert loc == ("weekly_availability",)
    assert message.startswith(f"values are nested more than {MAX_DEPTH} levels deep")


yaml_pieces = st.sampled_from(
    [
        *"ab:-[]{},&*!'\n 01.",
        *["<<", ".inf", ".nan", "1e999", "!!float ", "null", "&a ", "*a", "- ", ": ", "? "],
        *["\n  ", "\n- ", "[[[[[[[[[[[[", "]]]]]]]]]]]]", "{a: {b: {c: {d: "],
    ]
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(yaml_pieces, max_size=40).map("".join))
def test_a_document_read_as_usable_has_no_unusable_value(text: str) -> None:
    try:
        parsed = read_yaml(text)
    except YamlSyntaxError:
        return
    # Wrapped in a mapping, as a campaign's values are: one level deeper.
    data = {"v": parsed.value}
    document = Document(Path("c.yaml"), b"", text, data, parsed.depth + 1, parsed.unusual)
    if _all_usable([document]):
        assert list(unusable_values(document.data)) == []


def test_usable_only_what_reading_vouched_for() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    read = [_document("a: 1\n"), _document(deep), _document("1: a\n"), _document("a: .nan\n")]
    assert [_all_usable([document]) for document in read] == [True, False, False, False]
    assert not _all_usable([read[0], Document(Path("c.yaml"), b"", "", {})])
    assert not _all_usable(None)


def _document(text: str) -> Document:
    parsed = read_yaml(text)
    return Document(Path("c.yaml"), text.encode(), text, parsed.value, parsed.depth, parsed.unusual)


@pytest.mark.parametrize("lists", range(MAX_DEPTH - 2, MAX_DEPTH + 3))
def test_usable_up_to_the_depth_the_walk_allows(lists: int) -> None:
    document = _document("a: " + "[" * lists + "]" * lists + "\n")
    assert _all_usable([document]) == (list(unusable_values(document.data)) == [])
