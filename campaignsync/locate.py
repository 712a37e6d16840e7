"""Positions in the user's files: where a value at a campaign location was written (the
YAML node, or the contacts CSV row it came from), for validation problems and for
Ontora's 422 refusals, so the user can act on each.

Only a file with a problem is parsed for positions (see `yamldoc`); apply imports this
only when a 422 comes back, so an apply of a saved plan never needs the YAML reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaignsync.contacts_csv import read_contacts_csv
from campaignsync.errors import Problem
from campaignsync.messages import format_loc
from campaignsync.spec import Loc
from campaignsync.textfile import NotReadable, display_path, read_regular_file
from campaignsync.yamldoc import locator, node_position


def refused_values(source: str, detail: list[Any]) -> list[str]:
    """One line per refused value in a FastAPI 422 `detail`: `file:line:column: field: why`,
    `source` being the campaign file as the plan names it."""
    lines = []
    for problem in detail:
        if not isinstance(problem, dict):
            continue
        loc = [part for part in problem.get("loc", []) if isinstance(part, str | int)]
        if loc and loc[0] == "body":
            loc = loc[1:]
        shown, line, column = (
            locate_in_sources(Path(source), tuple(loc)) if loc else (source, None, None)
        )
        where = ":".join(str(part) for part in (shown, line, column) if part is not None)
        field = f"{format_loc(loc)}: " if loc else ""
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{where}: {field}{message}")
    return lines


def csv_position(loc: Loc, inline: int) -> int | None:
    """The index among the CSV's contacts of the merged contact at `loc`, if from the CSV."""
    if loc[:1] == ("contacts",) and len(loc) > 1 and isinstance(loc[1], int) and loc[1] >= inline:
        return loc[1] - inline
    return None


def locate(path: Path, loc: Loc, *, at_key: bool = False) -> tuple[int | None, int | None]:
    """1-based line and column of the node at `loc` in a YAML file, as near as it exists."""
    root = _locator_for(path)
    return (None, None) if root is None else node_position(root, loc, at_key=at_key)


def locate_in_sources(path: Path, loc: Loc) -> tuple[str, int | None, int | None]:
    """Where the value at `loc` of a campaign's fields was written, as (file, line, column):
    a node of the YAML file or, for a contact read from its contacts_file, that CSV's row."""
    root = _locator_for(path)
    if root is None:
        return display_path(path), None, None
    if loc[:1] == ("contacts",) and len(loc) > 1 and isinstance(loc[1], int):
        row = _csv_row(path, root, loc[1])
        if row is not None:
            return row
    line, column = node_position(root, loc)
    return display_path(path), line, column


def _csv_row(path: Path, root: Any, index: int) -> tuple[str, int | None, int | None] | None:
    """The CSV file and line of contact `index` (inline contacts come first), if from a CSV."""
    inline = root.get("contacts") if isinstance(root, dict) else None
    position = csv_position(("contacts", index), len(inline) if isinstance(inline, list) else 0)
    contacts_file = root.get("contacts_file") if isinstance(root, dict) else None
    if position is None or not isinstance(contacts_file, str) or not contacts_file:
        return None
    csv_path = path.parent / contacts_file
    result = read_contacts_csv(csv_path, None)
    if isinstance(result, Problem):
        return None
    lines = result[2]
    return display_path(csv_path), lines[position] if position < len(lines) else None, None


def _locator_for(path: Path) -> Any:
    try:
        return locator(read_regular_file(path).decode("utf-8-sig"))
    except (NotReadable, UnicodeDecodeError):
        return None


def located_problems(path: Path, text: str, problems: list[tuple[Loc, str, bool]]) -> list[Problem]:
    shown = display_path(path)
    root = locator(text)
    located = []
    for loc, message, at_key in problems:
        line, column = node_position(root, loc, at_key=at_key) if root is not None else (None, None)
        prefix = f"{format_loc(loc)}: " if loc and not at_key else ""
        if at_key and len(loc) > 1:
            prefix = f"{format_loc(loc[:-1])}: "
        located.append(Problem(shown, line, column, prefix + message))
    return located
