"""`contacts_file`: contacts read from a CSV whose header row names contact fields."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from campaignsync.errors import Problem
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
