"""Checking a campaign's fields: the spec model, the rules across fields, and each problem
placed at the file and line that supplied the value.

A value's own problem (a wrong type, an unknown field) is told in the file that wrote it;
a defaults file is checked once on its own, so its problems are told once, however many
campaigns inherit from it. A rule broken only by how the layers combine (a question from
the defaults naming a topic the campaign lacks) is the campaign file's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from campaignsync.contacts_csv import CampaignContacts
from campaignsync.errors import Problem
from campaignsync.layers import (
    Document,
    Layered,
    Origin,
    environment_problems,
    misplaced_in_defaults,
)
from campaignsync.locate import csv_position, located_problems
from campaignsync.messages import error_message, format_loc
from campaignsync.spec import Defaults, Loc, rule_violations
from campaignsync.textfile import display_path

# A problem found in a file's values: where, what, and whether it is about the key itself.
Found = tuple[Loc, str, bool]


def check_model(
    data: dict[Any, Any],
    model: type[BaseModel],
    found: Sequence[Found] = (),
    *,
    layered_from: Sequence[Document] | None = None,
) -> tuple[BaseModel | None, list[Found]]:
    """The model of the mapping, and every problem in its values not already in `found`.

    `layered_from` are the documents `data` was made of, if known: when reading them found
    no unusual value and no deep nesting, `unusable_values` has nothing to find there."""
    unusable = [] if _all_usable(layered_from) else unusable_values(data)
    problems: list[Found] = [(loc, message, False) for loc, message in unusable]
    try:
        return model.model_validate(data), problems
    except ValidationError as exc:
        reported = {loc for loc, _, _ in [*found, *problems]}
        return None, problems + _validation_problems(exc, reported)


def _all_usable(documents: Sequence[Document] | None) -> bool:
    """Whether reading showed every value of the documents usable (see yamlread.Parsed)."""
    if documents is None:
        return False
    return all(
        not document.unusual and document.depth is not None and document.depth <= MAX_DEPTH
        for document in documents
    )


def _validation_problems(exc: ValidationError, reported: set[Loc]) -> list[Found]:
    """The model's errors, less those `unusable_values` already reported better: keys
    that are not text, and values at a location already reported."""
    problems: list[Found] = []
    for error in exc.errors():
        loc = error["loc"]
        if error["type"] == "invalid_key" or loc[-1:] == ("[key]",) or loc in reported:
            continue
        if error["type"] == "missing":
            # Point at the mapping the field is missing from, not at nothing.
            problems.append((loc[:-1], error_message(error), False))
        else:
            problems.append((loc, error_message(error), error["type"] == "extra_forbidden"))
    return problems


def undeclared_environments(document: Document, declared: Sequence[str]) -> list[Found]:
    """Each environment the file's `environments` block names that is not declared."""
    return [(loc, message, True) for loc, message in environment_problems(document, declared)]


def rule_problems(data: dict[Any, Any], contacts: CampaignContacts) -> list[Found]:
    """Rules across fields; a broken rule about a CSV contact is told at its CSV row."""
    problems: list[Found] = []
    for loc, message in rule_violations(data, contacts.merged()):
        row = csv_position(loc, len(contacts.inline))
        if row is None:
            problems.append((loc, message, False))
        else:
            contacts.problems.append(contacts.problem_at(row, f"{loc[-1]}: {message}"))
    return problems


def defaults_problems(document: Document, declared: Sequence[str]) -> list[Problem]:
    """Every problem of a defaults file on its own."""
    found = [(loc, message, True) for loc, message in misplaced_in_defaults(document)]
    found += undeclared_environments(document, declared)
    _, problems = check_model(document.data, Defaults, found, layered_from=[document])
    rules = [(loc, message, False) for loc, message in _rules_alone(document)]
    return located_problems(document.path, document.text, found + problems + rules)


def _rules_alone(document: Document) -> list[tuple[Loc, str]]:
    """The rules a defaults file breaks on its own, which its own check reports: not those
    across two fields, which a campaign may complete (its topics for the defaults' questions)."""
    inline = document.data.get("contacts")
    violations = rule_violations(document.data, inline if isinstance(inline, list) else [])
    return [(loc, message) for loc, message in violations if (loc[0], loc[-1]) not in _ACROSS]


_ACROSS = {("questions", "topic"), ("timeframe_end", "timeframe_end")}


def placed(
    layered: Layered, problems: list[Found], rules: list[Found], contacts: CampaignContacts
) -> list[Problem]:
    """Each problem of a campaign at the file that supplied the value (see the module);
    a contacts file that cannot be read at the `contacts_file` field that names it."""
    by_document: dict[int, tuple[Document, list[Found]]] = {}

    def tell(document: Document, problem: Found) -> None:
        by_document.setdefault(id(document), (document, []))[1].append(problem)

    if contacts.unreadable is not None:
        origin = layered.origin(("contacts_file",))
        tell(origin.document, ((*origin.prefix, "contacts_file"), contacts.unreadable, False))
    for loc, message, at_key in [*problems, *rules]:
        origin = layered.origin(loc)
        if origin.document is layered.own:
            tell(layered.own, ((*origin.prefix, *loc), message, at_key))
        elif (loc, message, at_key) in rules and not _told_there(origin, loc, message):
            shown = display_path(origin.document.path)
            tell(
                layered.own, (loc, f"{message} ({format_loc(loc[:1])} comes from {shown})", at_key)
            )
    located: list[Problem] = []
    for document, found in by_document.values():
        located += located_problems(document.path, document.text, found)
    return located + contacts.problems


def _told_there(origin: Origin, loc: Loc, message: str) -> bool:
    """Whether a defaults file breaks this rule on its own, so its own check told it."""
    return origin.prefix == () and (loc, message) in _rules_alone(origin.document)


MAX_DEPTH = 32  # no campaign field nests deeper than a few levels


def unusable_values(data: Mapping[Any, Any]) -> Iterator[tuple[Loc, str]]:
    """Yield (location, message) for every value a parser accepts but a campaign cannot use.

    NaN and infinity (JSON has no such numbers: they would be sent as null), keys that are
    not text (lists, mappings, numbers: every key in a campaign is a name), and nesting
    past MAX_DEPTH. Each container is visited once, however many aliases share it.
    """
    seen: set[int] = set()
    stack: list[tuple[object, Loc]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield loc, "NaN and infinity are not numbers a campaign can use; write a finite number"
        if not isinstance(value, dict | list) or id(value) in seen:
            continue
        seen.add(id(value))
        if len(loc) >= MAX_DEPTH:
            message = f"values are nested more than {MAX_DEPTH} levels deep; no campaign field is"
            yield loc[:1], f"{message} that deep"
            continue
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, item in reversed(items):
            if isinstance(value, list) or isinstance(key, str):
                stack.append((item, (*loc, key)))
            else:
                yield loc, _key_problem(key)


def _key_problem(key: object) -> str:
    if isinstance(key, tuple | list | dict | frozenset | set):
        kind = "a mapping" if isinstance(key, dict) else "a list"
        return f"a key must be text, not {kind}"
    written = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
    return f"a key must be text, not {written}; write it in quotes: '{written}'"
