"""Field and keyed-list differences: each reported change is real, and none is missed."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from campaignsync.diff import Kind, diff_fields, diff_keyed_list

_ABSENT = object()

# Topics drawn from few names and values, so that the two sides share and differ often.
topic = st.fixed_dictionaries(
    {"name": st.sampled_from(["Pay", "Tools", "Teams", "Travel"])},
    optional={
        "goal": st.none() | st.sampled_from(["a", "b"]),
        "priority": st.integers(0, 2),
        "subtopics": st.lists(st.sampled_from(["x", "y"]), max_size=2),
    },
)
topics = st.lists(topic, max_size=4, unique_by=lambda item: str(item["name"]))


@given(topics, topics)
def test_a_keyed_list_diff_accounts_for_every_item_and_field(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    result = diff_keyed_list("topics", old, new)
    before = {item["name"]: item for item in old}
    after = {item["name"]: item for item in new}
    assert set(result.added) == after.keys() - before.keys()
    assert set(result.removed) == before.keys() - after.keys()
    changed = {item.identity: item for item in result.changed}
    for name in before.keys() & after.keys():
        listed = {change.field for change in changed[name].fields} if name in changed else set()
        assert (name in changed) == (before[name] != after[name])
        for field in before[name].keys() | after[name].keys():
            differs = before[name].get(field, _ABSENT) != after[name].get(field, _ABSENT)
            assert (field in listed) == differs, (name, field)
    kept = [name for name in after if name in before]
    assert result.reordered == ([name for name in before if name in after] != kept)
    assert [item.identity for item in result.changed] == [name for name in kept if name in changed]


def test_a_field_set_to_null_in_an_item_is_a_change_of_that_field() -> None:
    result = diff_keyed_list("topics", [{"name": "Pay"}], [{"name": "Pay", "goal": None}])
    ((item,),) = [result.changed]
    assert [(f.field, f.old, f.new) for f in item.fields] == [("goal", None, None)]


def test_fields_are_added_changed_and_cleared_in_file_order() -> None:
    changes = diff_fields({"goal": "g", "name": "a", "topics": [{"name": "Pay"}]}, {"name": "b"})
    assert [(c.field, c.kind) for c in changes] == [
        ("name", Kind.CHANGE),
        ("goal", Kind.REMOVE),
        ("topics", Kind.REMOVE),
    ]
    assert changes[1].new is None
    assert changes[2].items is not None
    assert changes[2].items.removed == ("Pay",)
