"""Ontora's 422 refusals as places in the user's files: each refused value, at the YAML
node or the contacts CSV row it came from, so the user can act on it.

Apply imports this only when a 422 comes back: an apply of a saved plan otherwise never
needs the YAML reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaignsync.loader import locate_in_sources
from campaignsync.messages import format_loc


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
