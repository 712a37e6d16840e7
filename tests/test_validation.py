"""Checking a campaign's values: every unusable value is found, at its place, in order."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from campaignsync.spec import Loc
from campaignsync.validation import MAX_DEPTH, unusable_values

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
