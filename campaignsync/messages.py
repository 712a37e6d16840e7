"""Validation errors as sentences a person can act on, and field paths as people write them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from campaignsync.ontora_models import Contact, Question, Topic
from campaignsync.spec import Campaign


def format_loc(loc: Sequence[str | int]) -> str:
    """`("topics", 1, "name")` -> `topics[1].name`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_MODELS_AT: dict[str, type[BaseModel]] = {
    "topics": Topic,
    "questions": Question,
    "contacts": Contact,
}

_KINDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean (true or false)",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def unknown_field(name: object, known: Iterable[str]) -> str:
    message = f"unknown field {str(name)!r}"
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def error_message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        model: type[BaseModel] = Campaign
        if len(loc) == 3 and isinstance(loc[0], str):
            model = _MODELS_AT.get(loc[0], Campaign)
        return unknown_field(loc[-1], model.model_fields)
    if kind == "missing":
        return f"missing required field {str(loc[-1])!r}"
    if kind in _KINDS:
        hint = ""
        if kind == "string_type" and isinstance(error["input"], int | float | bool):
            hint = "; put it in quotes to make it text"
        return f"expected {_KINDS[kind]}, got {describe(error['input'])}{hint}"
    if kind.startswith("datetime_") and isinstance(error["input"], str):
        detail = error.get("ctx", {}).get("error")
        reason = f": {detail}" if detail else ""
        return (
            f"{error['input']!r} is not a date-time{reason}; "
            "write it like 2026-03-01T09:00:00Z or 2026-03-01T10:00:00+01:00"
        )
    if kind == "timezone_aware":
        return "the date-time needs a time zone, like 2026-03-01T09:00:00Z or +01:00"
    if kind == "greater_than_equal":
        return f"must be {error.get('ctx', {}).get('ge')} or more, got {error['input']}"
    if kind == "less_than_equal":
        return f"must be {error.get('ctx', {}).get('le')} or less, got {error['input']}"
    if kind == "string_too_short":
        return "must not be empty"
    return error["msg"].removeprefix("Value error, ")
