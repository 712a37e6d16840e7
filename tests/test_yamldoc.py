"""Positions of YAML nodes for messages; campaign files written for import."""

from __future__ import annotations

import pytest

from campaignsync.yamldoc import locator, node_position, parse_yaml, render_campaign_yaml

TEXT = """\
name: Pulse
topics:
  - name: Pay
    goal: Learn
  - name: Tools
start: 2027-02-31
"""


@pytest.mark.parametrize(
    ("loc", "at_key", "position"),
    [
        (("name",), False, (1, 7)),
        (("name",), True, (1, 1)),
        (("topics", 1, "name"), False, (5, 11)),
        (("topics", 0, "goal"), True, (4, 5)),
        # as near as it exists: the list item, then its missing field
        (("topics", 1, "goal"), False, (5, 5)),
        # a date ruamel cannot build still has its position
        (("start",), False, (6, 8)),
    ],
)
def test_a_node_is_found_at_its_line_and_column(
    loc: tuple[str | int, ...], at_key: bool, position: tuple[int, int]
) -> None:
    assert node_position(locator(TEXT), loc, at_key=at_key) == position


def test_tabs_allowed_by_yaml_1_2_keep_their_columns() -> None:
    assert node_position(locator("name:\tPulse\ngoal: x\n"), ("goal",)) == (2, 7)


def test_text_that_cannot_be_parsed_has_no_locator() -> None:
    assert locator("name: [unclosed\n") is None


def test_keys_from_a_merge_fall_back_to_the_mapping_that_merges() -> None:
    text = "base: &b {goal: x}\ncampaign:\n  <<: *b\n  name: y\n"
    assert node_position(locator(text), ("campaign", "goal")) == (3, 3)


def test_an_imported_file_starts_with_its_comments_and_keeps_multiline_text_literal() -> None:
    text = render_campaign_yaml(
        {"name": "Pulse", "goal": "line one\nline two\n"}, comments=["Imported.", "", "Edit me."]
    )
    assert text.startswith("# Imported.\n#\n# Edit me.\n\n")
    assert "goal: |" in text
    assert parse_yaml(text) == {"name": "Pulse", "goal": "line one\nline two\n"}
