"""Find campaign files, parse them, validate them into spec models, and locate every problem.

The happy path parses with ruamel's safe loader and never looks at positions. Only a file
that fails is parsed again with the round-trip loader, whose nodes know their line and
column, so that each problem points at `path:line:column`.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from campaignsync import __version__
from campaignsync.api_schema import Contact, Question, Topic
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.spec import Campaign, Loc, managed_fields, rule_violations

MAX_CAMPAIGN_BYTES = 5 * 1024 * 1024
MAX_CSV_BYTES = 20 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")

# Bumped when what a file means changes, so digests recorded by older versions stop matching.
DIGEST_SCHEME = f"campaignsync-source/1 {__version__}"


@dataclass(frozen=True)
class CampaignFile:
    """A valid campaign file: its key, where it lives, and the fields it manages."""

    key: str
    path: Path
    source: str  # the path as users see it, fixed at load time
    campaign: Campaign
    managed: dict[str, Any]
    source_digest: str

    @property
    def interview_id(self) -> str | None:
        return self.campaign.interview_id


def display_path(path: Path) -> str:
    """A path as users should see it: relative to the working directory."""
    return os.path.relpath(path)


def campaign_key(campaigns_dir: Path, path: Path) -> str:
    return path.relative_to(campaigns_dir).with_suffix("").as_posix()


def discover(campaigns_dir: Path) -> list[Path]:
    """Every campaign file under the folder, in a stable order; dot-files are skipped."""
    if not campaigns_dir.is_dir():
        raise ConfigError(
            f"The campaigns folder {display_path(campaigns_dir)} does not exist. "
            "Create it, or point --dir (or CAMPAIGNSYNC_DIR) at your campaigns."
        )
    found: list[Path] = []
    for directory, subdirs, files in os.walk(campaigns_dir):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(
            Path(directory, name)
            for name in files
            if name.endswith(SUFFIXES) and not name.startswith(".")
        )
    return sorted(found)


def load_campaigns(campaigns_dir: Path, repository_root: Path) -> list[CampaignFile]:
    """Load and validate every campaign; raise ValidationFailed with all problems at once."""
    problems: list[Problem] = []
    loaded: list[CampaignFile] = []
    owners: dict[str, Path] = {}
    adopted: dict[str, str] = {}
    for path in discover(campaigns_dir):
        key = campaign_key(campaigns_dir, path)
        if key in owners:
            problems.append(
                Problem(
                    display_path(path),
                    None,
                    None,
                    f"campaign key {key!r} is already taken by {display_path(owners[key])}; "
                    "rename one of the files",
                )
            )
            continue
        owners[key] = path
        result = load_file(path, key, repository_root)
        if isinstance(result, CampaignFile):
            loaded.append(result)
        else:
            problems.extend(result)
    for item in loaded:
        if item.interview_id is None:
            continue
        if item.interview_id in adopted:
            line, column = locate(item.path, ("interview_id",))
            problems.append(
                Problem(
                    display_path(item.path),
                    line,
                    column,
                    f"interview_id: campaign {item.interview_id} is already adopted by "
                    f"{adopted[item.interview_id]!r}; one campaign can have one file",
                )
            )
        adopted.setdefault(item.interview_id, item.key)
    if problems:
        raise ValidationFailed(problems)
    return loaded


def load_file(path: Path, key: str, repository_root: Path) -> CampaignFile | list[Problem]:
    """Read one campaign file; return it, or every problem found in it."""
    shown = display_path(path)
    raw = _read_bounded(path, MAX_CAMPAIGN_BYTES)
    if isinstance(raw, Problem):
        return [raw]
    text = _decode(raw, shown)
    if isinstance(text, Problem):
        return [text]
    data = _parse(text, shown)
    if isinstance(data, Problem):
        return [data]
    if data is None:
        return [Problem(shown, 1, 1, "the file is empty; a campaign needs at least a name")]
    if not isinstance(data, dict):
        kind = _describe(data)
        return [Problem(shown, 1, 1, f"a campaign file must be a mapping of fields, not {kind}")]

    problems: list[tuple[Loc, str, bool]] = []
    campaign: Campaign | None = None
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] == "missing":
                # Point at the mapping the field is missing from, not at nothing.
                problems.append((loc[:-1], _message(error), False))
            else:
                problems.append((loc, _message(error), error["type"] == "extra_forbidden"))

    csv_problems: list[Problem] = []
    csv_contacts: list[Contact] | None = None
    csv_lines: list[int] = []
    csv_bytes = b""
    contacts_file = data.get("contacts_file")
    csv_path = path.parent / contacts_file if isinstance(contacts_file, str) else None
    if csv_path is not None and contacts_file:
        outside = _outside(csv_path, repository_root)
        if outside:
            problems.append((("contacts_file",), outside, False))
        else:
            result = _read_contacts_csv(csv_path)
            if isinstance(result, Problem):
                problems.append((("contacts_file",), result.message, False))
            else:
                csv_bytes, csv_contacts, csv_lines, csv_problems = result

    raw_contacts = data.get("contacts")
    inline: list[Any] = raw_contacts if isinstance(raw_contacts, list) else []
    merged = inline + [c.model_dump(exclude_unset=True) for c in csv_contacts or []]
    for loc, message in rule_violations(data, merged):
        if loc[0] == "contacts" and isinstance(loc[1], int) and loc[1] >= len(inline):
            assert csv_path is not None
            line = csv_lines[loc[1] - len(inline)]
            problem = Problem(display_path(csv_path), line, None, f"{loc[-1]}: {message}")
            csv_problems.append(problem)
        else:
            problems.append((loc, message, False))

    if problems or csv_problems or campaign is None:
        return _located(path, text, problems) + csv_problems
    digest = hashlib.sha256(DIGEST_SCHEME.encode() + b"\0" + raw + b"\0" + csv_bytes).hexdigest()
    return CampaignFile(
        key=key,
        path=path,
        source=shown,
        campaign=campaign,
        managed=managed_fields(campaign, csv_contacts),
        source_digest=digest,
    )


def locate(path: Path, loc: Loc, *, at_key: bool = False) -> tuple[int | None, int | None]:
    """1-based line and column of the node at `loc` in a YAML file, as near as it exists."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        root = _round_trip().load(text)
    except (OSError, UnicodeDecodeError, YAMLError, RecursionError):
        return None, None
    return _position(root, loc, at_key=at_key)


def read_yaml_mapping(path: Path) -> dict[Any, Any]:
    """A small YAML settings file as a mapping; any problem is a ConfigError."""
    raw = _read_bounded(path, MAX_CAMPAIGN_BYTES)
    text = raw if isinstance(raw, Problem) else _decode(raw, display_path(path))
    data = text if isinstance(text, Problem) else _parse(text, display_path(path))
    if isinstance(data, Problem):
        raise ConfigError(f"{data}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{display_path(path)} must be a mapping of settings.")
    return data


def render_campaign_yaml(fields: dict[str, Any], *, comments: Sequence[str]) -> str:
    """A campaign file people can read and edit: comment lines, then the fields in order."""
    data = CommentedMap()
    for name, value in fields.items():
        data[name] = (
            LiteralScalarString(value) if isinstance(value, str) and "\n" in value else value
        )
    writer = YAML(typ="rt")
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 100
    stream = io.StringIO()
    writer.dump(data, stream)
    header = "".join(f"# {line}\n" if line else "#\n" for line in comments)
    return header + "\n" + stream.getvalue()


def format_loc(loc: Sequence[str | int]) -> str:
    """`("topics", 1, "name")` -> `topics[1].name`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --- Reading and parsing ----------------------------------------------------------------


def _read_bounded(path: Path, limit: int) -> bytes | Problem:
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            return Problem(
                shown,
                None,
                None,
                f"the file is {size / 1_048_576:.1f} MiB, over the {limit // 1_048_576} MiB "
                "limit for one file; split it, or move contacts to a contacts_file CSV",
            )
        return path.read_bytes()
    except OSError as exc:
        return Problem(shown, None, None, f"cannot read the file: {exc.strerror or exc}")


def _decode(raw: bytes, shown: str) -> str | Problem:
    if b"\0" in raw:
        return Problem(shown, None, None, "the file is binary, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Problem(shown, line, None, "the file is not UTF-8 text")


_SAFE: YAML | None = None


def _safe() -> YAML:
    global _SAFE
    if _SAFE is None:
        _SAFE = YAML(typ="safe")
    return _SAFE


def _round_trip() -> YAML:
    return YAML(typ="rt")


def _parse(text: str, shown: str) -> Any | Problem:
    try:
        return _safe().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        return Problem(shown, line, column, _yaml_message(exc))
    except YAMLError as exc:
        return Problem(shown, None, None, f"not valid YAML: {exc}")
    except RecursionError:
        return Problem(shown, None, None, "the YAML is nested too deeply to be a campaign")


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = (exc.problem or exc.context or "not valid YAML").strip()
    if problem.startswith("found duplicate key"):
        key = problem.split('"')[1] if '"' in problem else "?"
        return f"duplicate key {key!r}: each field may appear only once"
    return f"YAML syntax: {problem}"


# --- contacts_file ----------------------------------------------------------------------

_CONTACT_COLUMNS = tuple(Contact.model_fields)
_INTEGER_COLUMNS = frozenset({"seniority_level"})
_BOOLEAN_COLUMNS = frozenset({"is_required"})
_BOOLEANS = {"true": True, "false": False}


def _outside(csv_path: Path, repository_root: Path) -> str | None:
    """Why a contacts file may not be read, or None when it is inside the repository."""
    resolved = csv_path.resolve()
    if not resolved.is_relative_to(repository_root.resolve()):
        return (
            f"{display_path(csv_path)} resolves outside the repository "
            f"({repository_root.resolve()}); keep contact lists inside it"
        )
    return None


def _read_contacts_csv(
    csv_path: Path,
) -> tuple[bytes, list[Contact], list[int], list[Problem]] | Problem:
    shown = display_path(csv_path)
    if not csv_path.is_file():
        return Problem(shown, None, None, f"{shown} does not exist")
    raw = _read_bounded(csv_path, MAX_CSV_BYTES)
    if isinstance(raw, Problem):
        return Problem(shown, None, None, f"{shown}: {raw.message}")
    text = _decode(raw, shown)
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
                problems.append(Problem(shown, 1, None, _unknown_field(column, _CONTACT_COLUMNS)))
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
            if not cell.lstrip("-").isdigit():
                problems.append(Problem(shown, line, None, f"{column}: {cell!r} is not an integer"))
                continue
            values[column] = int(cell)
        elif column in _BOOLEAN_COLUMNS:
            if cell.lower() not in _BOOLEANS:
                problems.append(
                    Problem(shown, line, None, f"{column}: {cell!r} is not true or false")
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
            problems.append(Problem(shown, line, None, prefix + _message(error)))
        return None


# --- Messages and locations -------------------------------------------------------------

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


def _describe(value: object) -> str:
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


def _unknown_field(name: object, known: Iterable[str]) -> str:
    message = f"unknown field {str(name)!r}"
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        model: type[BaseModel] = Campaign
        if len(loc) == 3 and isinstance(loc[0], str):
            model = _MODELS_AT.get(loc[0], Campaign)
        return _unknown_field(loc[-1], model.model_fields)
    if kind == "missing":
        return f"missing required field {str(loc[-1])!r}"
    if kind in _KINDS:
        hint = ""
        if kind == "string_type" and isinstance(error["input"], int | float | bool):
            hint = "; put it in quotes to make it text"
        return f"expected {_KINDS[kind]}, got {_describe(error['input'])}{hint}"
    if kind == "timezone_aware":
        return "the date-time needs a time zone, like 2026-03-01T09:00:00Z or +01:00"
    if kind == "greater_than_equal":
        return f"must be {error.get('ctx', {}).get('ge')} or more, got {error['input']}"
    if kind == "less_than_equal":
        return f"must be {error.get('ctx', {}).get('le')} or less, got {error['input']}"
    if kind == "string_too_short":
        return "must not be empty"
    return error["msg"].removeprefix("Value error, ")


def _located(path: Path, text: str, problems: list[tuple[Loc, str, bool]]) -> list[Problem]:
    shown = display_path(path)
    try:
        root = _round_trip().load(text)
    except (YAMLError, RecursionError):
        root = None
    located = []
    for loc, message, at_key in problems:
        line, column = _position(root, loc, at_key=at_key) if root is not None else (None, None)
        prefix = f"{format_loc(loc)}: " if loc and not at_key else ""
        if at_key and len(loc) > 1:
            prefix = f"{format_loc(loc[:-1])}: "
        located.append(Problem(shown, line, column, prefix + message))
    return located


def _position(root: Any, loc: Loc, *, at_key: bool) -> tuple[int | None, int | None]:
    node = root
    line, column = _own_position(root)
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        try:
            if isinstance(node, CommentedMap) and part in node:
                line, column = node.lc.key(part) if last and at_key else node.lc.value(part)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, column = node.lc.item(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            # Keys brought in by a merge (`<<: *base`) carry no position of their own.
            break
    if line is None or column is None:
        return None, None
    return line + 1, column + 1


def _own_position(node: Any) -> tuple[int | None, int | None]:
    lc = getattr(node, "lc", None)
    if lc is None:
        return 0, 0
    return lc.line, lc.col
