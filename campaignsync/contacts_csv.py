"""A campaign's contacts: inline ones, then those of its `contacts_file`, a CSV whose
header row names contact fields, read relative to the file that set it."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from campaignsync.errors import Problem
from campaignsync.layers import Layered
from campaignsync.messages import error_message, format_loc, unknown_field
from campaignsync.ontora_models import Contact
from campaignsync.textfile import NotReadable, decode, display_path, read_regular_file

_CONTACT_COLUMNS = tuple(Contact.model_fields)
_INTEGER_COLUMNS = frozenset({"seniority_level"})
_BOOLEAN_COLUMNS = frozenset({"is_required"})
_BOOLEANS = {"true": True, "false": False}
# ASCII digits only (`²` is a digit to str.isdigit, not to int), and no more than fit a
# 64-bit integer: longer ones are no seniority level and cost int() quadratic time.
_INTEGER = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def read_contacts_csv(
    csv_path: Path, repository_root: Path | None
) -> tuple[bytes, list[Contact], list[int], list[Problem]] | Problem:
    """The CSV's bytes, its contacts and the line of each, and its problems; or why the
    file cannot be read at all. With `repository_root`, the file must lie inside it."""
    shown = display_path(csv_path)
    try:
        raw = read_regular_file(csv_path, repository_root, what="a contacts file")
    except NotReadable as exc:
        return Problem(shown, None, None, f"{shown} {exc.reason}")
    text = decode(raw, shown)
    if isinstance(text, Problem):
        return Problem(shown, None, None, f"{shown}: {text.message}")

    problems: list[Problem] = []
    contacts: list[Contact] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader, [])]
        if not header:
            return raw, [], [], [Problem(shown, 1, None, "the CSV is empty; it needs a header row")]
        for column in header:
            if column not in _CONTACT_COLUMNS:
                problems.append(Problem(shown, 1, None, unknown_field(column, _CONTACT_COLUMNS)))
        if "name" not in header:
            problems.append(Problem(shown, 1, None, "the header has no 'name' column"))
        if len(set(header)) != len(header):
            problems.append(Problem(shown, 1, None, "the header names a column twice"))
        if problems:
            return raw, [], [], problems
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(
                    Problem(shown, line, None, f"expected {len(header)} cells, found {len(row)}")
                )
                continue
            contact = _csv_contact(dict(zip(header, row, strict=True)), shown, line, problems)
            if contact is not None:
                contacts.append(contact)
                lines.append(line)
    except csv.Error as exc:
        problems.append(Problem(shown, reader.line_num, None, f"CSV syntax: {exc}"))
    return raw, contacts, lines, problems


def _csv_contact(
    cells: dict[str, str], shown: str, line: int, problems: list[Problem]
) -> Contact | None:
    values: dict[str, Any] = {}
    for column, cell in cells.items():
        cell = cell.strip()
        if not cell:
            continue
        if column in _INTEGER_COLUMNS:
            if not _INTEGER.fullmatch(cell):
                problems.append(
                    Problem(shown, line, None, f"{column}: {_cell(cell)!r} is not an integer")
                )
                continue
            values[column] = int(cell)
        elif column in _BOOLEAN_COLUMNS:
            if cell.lower() not in _BOOLEANS:
                problems.append(
                    Problem(shown, line, None, f"{column}: {_cell(cell)!r} is not true or false")
                )
                continue
            values[column] = _BOOLEANS[cell.lower()]
        else:
            values[column] = cell
    try:
        return Contact.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            prefix = "" if error["type"] == "missing" else f"{format_loc(error['loc'])}: "
            problems.append(Problem(shown, line, None, prefix + error_message(error)))
        return None


def _cell(cell: str) -> str:
    """A cell short enough to quote in a message."""
    return cell if len(cell) <= 20 else cell[:20] + "…"


@dataclass
class CampaignContacts:
    """A campaign's contacts as read: the inline ones, and its CSV's bytes, contacts, the
    line of each, and its problems."""

    path: Path | None = None
    raw: bytes = b""
    contacts: list[Contact] | None = None
    lines: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inline: list[Any] = field(default_factory=list)
    unreadable: str | None = None  # why the CSV cannot be read at all

    def problem_at(self, index: int, message: str) -> Problem:
        assert self.path is not None
        return Problem(display_path(self.path), self.lines[index], None, message)

    def merged(self) -> list[Any]:
        """Inline contacts first, then the CSV's, as the rules see them."""
        return self.inline + [c.model_dump(exclude_unset=True) for c in self.contacts or []]


def campaign_contacts(layered: Layered, repository_root: Path) -> CampaignContacts:
    """The inline contacts, and the `contacts_file` read relative to the file that set it."""
    contacts = CampaignContacts()
    contacts_file = layered.data.get("contacts_file")
    if isinstance(contacts_file, str) and contacts_file:
        origin = layered.origin(("contacts_file",))
        csv_path = origin.document.path.parent / contacts_file
        result = read_contacts_csv(csv_path, repository_root)
        if isinstance(result, Problem):
            contacts = CampaignContacts(csv_path, unreadable=result.message)
        else:
            raw, read, lines, csv_problems = result
            contacts = CampaignContacts(csv_path, raw, read, lines, csv_problems)
    inline = layered.data.get("contacts")
    contacts.inline = inline if isinstance(inline, list) else []
    return contacts


def contacts_file_from_campaign(layered: Layered) -> str | None:
    """The contacts_file as a path from the campaign file's folder, wherever it was set."""
    value = layered.data.get("contacts_file")
    if not isinstance(value, str):
        return None
    document = layered.origin(("contacts_file",)).document
    if document is layered.own:
        return value
    return os.path.relpath(document.path.parent / value, layered.own.path.parent)
