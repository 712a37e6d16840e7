"""YAML 1.2 core schema scalars: what a plain or tagged scalar means, and nothing else.

`yamlread` reads libyaml's events and asks this module what each scalar is; `yamldoc`
asks it whether text written plain reads back as the same text. The rules are listed in
`yamlread`'s docstring.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DIGITS = 4300  # Python's own limit for reading a decimal integer


def is_plain_text(value: str) -> bool:
    """Whether `value`, written as a plain scalar, reads back as this same text."""
    try:
        return plain(value) is value
    except Unreadable:
        return False


class Unreadable(Exception):
    """A scalar that no YAML 1.2 core value fits; the reader adds its position."""


CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (CORE + name for name in ("str", "int", "float", "bool", "null"))
SEQ, MAP = CORE + "seq", CORE + "map"

_WORDS: dict[str, Any] = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
_WORDS |= dict.fromkeys(("true", "True", "TRUE"), True)
_WORDS |= dict.fromkeys(("false", "False", "FALSE"), False)
for _sign, _value in (("", math.inf), ("+", math.inf), ("-", -math.inf)):
    _WORDS |= dict.fromkeys((_sign + word for word in (".inf", ".Inf", ".INF")), _value)
_WORDS |= dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan)
# A plain scalar is text unless it starts like one of the words above or a number: a
# reader may take a scalar whose first character is not in here as its text, unasked.
NOT_TEXT_START = frozenset("0123456789+-.~nNtTfF") | {""}
_NUMBER_START = frozenset("0123456789+-.")
_TEXT = object()
_NUMBER = re.compile(
    r"(?P<int>[-+]?[0-9]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)"
    r"|0o(?P<oct>[0-7]+)"
    r"|0x(?P<hex>[0-9a-fA-F]+)"
)


def plain(value: str) -> Any:
    """The YAML 1.2 core value of an untagged plain scalar."""
    if value[:1] not in NOT_TEXT_START:
        return value
    word = _WORDS.get(value, _TEXT)
    if word is not _TEXT:
        return word
    if value[0] not in _NUMBER_START:  # `name`, `true_north`: like a word, but text
        return value
    number = _NUMBER.fullmatch(value)
    if number is None:
        return value
    kind = number.lastgroup
    if kind == "float":
        return float(value)
    if kind == "int":
        if len(value) > MAX_DIGITS:
            raise Unreadable(_too_long(f"an integer of {len(value):,} digits"))
        return int(value)
    integer = int(value[2:], 8 if kind == "oct" else 16)
    if integer.bit_length() > _MOST_BITS:  # no other base is limited when read, only shown
        raise Unreadable(_too_long(f"{value[:12]}... ({len(value):,} characters)"))
    return integer


# The most bits of an integer of MAX_DIGITS decimal digits or fewer: 2**14284 < 10**4300.
_MOST_BITS = int(MAX_DIGITS * math.log2(10))


def _too_long(what: str) -> str:
    return (
        f"{what} is more than the {MAX_DIGITS:,} digits campaignsync reads; put it in "
        "quotes if it is text"
    )


def tagged(tag: str, value: str) -> Any:
    """A scalar with an explicit core tag: the tag decides its type, or it is an error."""
    meant = plain(value)
    if tag == INT and type(meant) is int:
        return meant
    if tag == FLOAT and type(meant) in (int, float):
        try:
            return float(meant)
        except OverflowError:  # an integer beyond the largest number: like 1e400
            return math.inf if meant > 0 else -math.inf
    if tag == BOOL and type(meant) is bool:
        return meant
    if tag == NULL and meant is None:
        return None
    expected = {INT: "an integer", FLOAT: "a number", BOOL: "true or false", NULL: "null"}
    if tag in expected:
        raise Unreadable(f"{shown(tag)} needs {expected[tag]}, got {value!r}")
    if tag in (SEQ, MAP):
        raise Unreadable(f"{shown(tag)} marks a list or mapping, not the text {value!r}")
    raise Unreadable(unknown_tag(tag))


def shown(tag: str) -> str:
    return "!!" + tag.removeprefix(CORE) if tag.startswith(CORE) else tag


def unknown_tag(tag: str) -> str:
    return (
        f"the tag {shown(tag)} is not one campaignsync reads; write plain values "
        "(text, numbers, true or false, null, lists and mappings) without a tag"
    )
