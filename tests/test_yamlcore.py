"""YAML 1.2 core scalars: what a plain or tagged scalar means."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignsync.yamlcore import INT, NULL, STR, Unreadable, is_plain_text, plain, tagged


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("~", None),
        ("NULL", None),
        ("True", True),
        ("FALSE", False),
        ("010", 10),
        ("0o10", 8),
        ("0x1F", 31),
        ("1e3", 1000.0),
        ("-.inf", -math.inf),
        ("yes", "yes"),
        ("on", "on"),
        ("1_000", "1_000"),
        ("2026-12-01", "2026-12-01"),
        ("name", "name"),
        ("nulls", "nulls"),
        ("n", "n"),
        ("true_north", "true_north"),
        ("Fa1se", "Fa1se"),
        ("~x", "~x"),
        ("+1", 1),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("+.inf", math.inf),
        ("-", "-"),
        (".", "."),
    ],
)
def test_a_plain_scalar_means_its_core_schema_value(text: str, value: Any) -> None:
    assert plain(text) == value
    assert type(plain(text)) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(plain(".nan"))


def test_an_integer_longer_than_python_reads_is_refused_with_advice() -> None:
    with pytest.raises(Unreadable, match="put it in quotes"):
        plain("9" * 5000)


def test_a_tag_decides_the_type_or_is_an_error() -> None:
    assert tagged(INT, "7") == 7
    assert tagged(NULL, "~") is None
    with pytest.raises(Unreadable, match="needs an integer"):
        tagged(INT, "seven")
    with pytest.raises(Unreadable, match="not one campaignsync reads"):
        tagged("!custom", "x")
    assert STR.endswith(":str")


@given(st.text())
def test_text_said_to_be_plain_reads_back_as_itself(text: str) -> None:
    if is_plain_text(text):
        assert plain(text) == text
