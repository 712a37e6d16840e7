"""Find campaign files, parse them, validate them into spec models, and locate every problem.

The happy path never looks at positions. Only a file with a problem is parsed again by
ruamel's round-trip loader (see `yamldoc`), whose nodes know their line and column, so
that each problem points at `path:line:column`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from campaignsync import __version__
from campaignsync.contacts_csv import read_contacts_csv
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.messages import describe, error_message, format_loc
from campaignsync.ontora_models import Contact
from campaignsync.spec import (
    Campaign,
    Loc,
    check_key,
    managed_fields,
    rule_violations,
    unusable_values,
)
from campaignsync.textfile import NotReadable, decode, display_path, escaped, read_regular_file
from campaignsync.yamldoc import YamlSyntaxError, locator, node_position, parse_yaml

SUFFIXES = (".yaml", ".yml")
Warn = Callable[[Problem], None]


class Applied(Protocol):
    """What state remembers of a campaign as last applied (a state Entry fits)."""

    @property
    def source_digest(self) -> str | None: ...

    @property
    def contacts_file(self) -> str | None: ...

    @property
    def last_applied(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CampaignFile:
    """A valid campaign file: its key, where it lives, and the fields it manages."""

    key: str
    path: Path
    source: str  # the path as users see it, fixed at load time
    managed: dict[str, Any]
    source_digest: str
    interview_id: str | None = None
    contacts_file: str | None = None


@functools.cache
def _digest_scheme(version: str) -> bytes:
    # A new campaignsync version or a changed schema may read the same bytes differently,
    # so either one makes every recorded digest stale.
    schema = json.dumps(Campaign.model_json_schema(), sort_keys=True).encode()
    return f"campaignsync-source/1 {version} {hashlib.sha256(schema).hexdigest()}".encode()


def source_digest(yaml_bytes: bytes, csv_bytes: bytes = b"", *, version: str = __version__) -> str:
    """The digest of a campaign's inputs, its file and its contacts CSV if any, as read by
    campaignsync `version`."""
    scheme = _digest_scheme(version)
    return hashlib.sha256(scheme + b"\0" + yaml_bytes + b"\0" + csv_bytes).hexdigest()


def campaign_key(campaigns_dir: Path, path: Path) -> str:
    return path.relative_to(campaigns_dir).with_suffix("").as_posix()


@dataclass(frozen=True)
class Survey:
    """What a walk of the campaigns folder found: campaign files, files and folders it
    must not leave out without an error, and hidden files it skips with a warning."""

    paths: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)


def discover(campaigns_dir: Path) -> list[Path]:
    """Every campaign file under the folder, in a stable order."""
    return survey(campaigns_dir).paths


def survey(campaigns_dir: Path) -> Survey:
    """Walk the campaigns folder; nothing that looks like a campaign is passed over silently.

    Hidden folders (`.git`) are not searched. Hidden `*.yaml` files are skipped with a
    warning. Unreadable folders, linked folders and other-case suffixes (`*.YAML`) are
    problems: their campaigns would otherwise be missing from the plan without a word.
    """
    if not campaigns_dir.is_dir():
        problem = "is not a folder" if campaigns_dir.exists() else "does not exist"
        raise ConfigError(
            f"The campaigns folder {display_path(campaigns_dir)} {problem}. "
            "Create it, or point --dir (or CAMPAIGNSYNC_DIR) at your campaigns."
        )
    found = Survey()

    def unreadable(error: OSError) -> None:
        reason = error.strerror or str(error)
        found.problems.append(
            Problem(
                display_path(error.filename or campaigns_dir),
                None,
                None,
                f"cannot read this folder ({reason}), so its campaigns would be left out; "
                "fix its permissions or move it out of the campaigns folder",
            )
        )

    for directory, subdirs, files in os.walk(campaigns_dir, onerror=unreadable):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in list(subdirs):
            try:
                linked = Path(directory, name).is_symlink()
            except OSError as error:  # e.g. a path longer than the system allows
                subdirs.remove(name)
                unreadable(error)
                continue
            if linked:
                subdirs.remove(name)
                found.problems.append(_linked_folder(Path(directory, name)))
        for name in files:
            _sort_file(Path(directory, name), found)
    found.paths.sort()
    return found


def _sort_file(path: Path, found: Survey) -> None:
    name = path.name
    if not name.lower().endswith(SUFFIXES):
        return
    if name.startswith("."):
        found.skipped.append(
            Problem(
                display_path(path),
                None,
                None,
                "skipped: a hidden file is not a campaign; remove the leading '.' to load it",
            )
        )
    elif name.endswith(SUFFIXES):
        found.paths.append(path)
    else:
        suffix = escaped(path.suffix)
        found.problems.append(
            Problem(
                display_path(path),
                None,
                None,
                f"the suffix {suffix!r} is not lower case, so this file would be left out; "
                f"rename it to end in {suffix.lower()!r} (only .yaml and .yml files are "
                "campaigns)",
            )
        )


def _linked_folder(path: Path) -> Problem:
    return Problem(
        display_path(path),
        None,
        None,
        "is a link to a folder, and linked folders are not followed (their campaigns would "
        "have a second key, or lie outside the repository); move the folder here instead",
    )


def load_campaigns(
    campaigns_dir: Path,
    repository_root: Path,
    *,
    applied: Mapping[str, Applied] | None = None,
    warn: Warn | None = None,
) -> list[CampaignFile]:
    """Load and validate every campaign; raise ValidationFailed with all problems at once.

    With `applied` (from state), a file whose bytes, and CSV, still hash to the digest
    recorded when it was applied is neither parsed nor validated again: its fields are
    exactly the ones last applied. Files skipped on purpose are passed to `warn`.
    """
    found = survey(campaigns_dir)
    for skipped in found.skipped:
        if warn is not None:
            warn(skipped)
    problems = list(found.problems)
    loaded: list[CampaignFile] = []
    owners: dict[str, Path] = {}
    for path in found.paths:
        key = campaign_key(campaigns_dir, path)
        refused = _refused_key(key, path, owners)
        if refused is not None:
            problems.append(refused)
            continue
        owners[key] = path
        record = applied.get(key) if applied else None
        unchanged = _unchanged(path, key, record, repository_root) if record else None
        result = unchanged or load_file(path, key, repository_root)
        if isinstance(result, CampaignFile):
            loaded.append(result)
        else:
            problems.extend(result)
    problems.extend(_adopted_twice(loaded))
    if problems:
        raise ValidationFailed(problems)
    return loaded


def _refused_key(key: str, path: Path, owners: Mapping[str, Path]) -> Problem | None:
    """Why the file's key cannot be used: unsafe characters, or already another file's."""
    unsafe = check_key(key)
    if unsafe is not None:
        message = f"this file's name gives the campaign key '{escaped(key)}': {unsafe}"
        return Problem(display_path(path), None, None, f"{message}; rename the file")
    if key in owners:
        return Problem(
            display_path(path),
            None,
            None,
            f"campaign key {key!r} is already taken by {display_path(owners[key])}; "
            "rename one of the files",
        )
    return None


def _adopted_twice(loaded: list[CampaignFile]) -> list[Problem]:
    problems = []
    adopted: dict[str, str] = {}
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
    return problems


def load_file(path: Path, key: str, repository_root: Path) -> CampaignFile | list[Problem]:
    """Read one campaign file; return it, or every problem found in it."""
    shown = display_path(path)
    document = _read_document(path, repository_root)
    if isinstance(document, Problem):
        return [document]
    raw, text, data = document

    problems: list[tuple[Loc, str, bool]] = [
        (loc, message, False) for loc, message in unusable_values(data)
    ]
    campaign: Campaign | None = None
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        reported = {loc for loc, _, _ in problems}
        problems.extend(_validation_problems(exc, reported))

    contacts = _ContactsFile()
    contacts_file = data.get("contacts_file")
    if isinstance(contacts_file, str) and contacts_file:
        contacts = _read_contacts(path.parent / contacts_file, repository_root, problems)

    raw_contacts = data.get("contacts")
    inline: list[Any] = raw_contacts if isinstance(raw_contacts, list) else []
    merged = inline + [c.model_dump(exclude_unset=True) for c in contacts.contacts or []]
    for loc, message in rule_violations(data, merged):
        row = _csv_position(loc, len(inline))
        if row is None:
            problems.append((loc, message, False))
        else:
            contacts.problems.append(contacts.problem_at(row, f"{loc[-1]}: {message}"))

    if problems or contacts.problems or campaign is None:
        return _located(path, text, problems) + contacts.problems
    return CampaignFile(
        key=key,
        path=path,
        source=shown,
        managed=managed_fields(campaign, contacts.contacts),
        source_digest=source_digest(raw, contacts.raw),
        interview_id=campaign.interview_id,
        contacts_file=campaign.contacts_file,
    )


def _csv_position(loc: Loc, inline: int) -> int | None:
    """The index among the CSV's contacts of the merged contact at `loc`, if from the CSV."""
    if loc[:1] == ("contacts",) and len(loc) > 1 and isinstance(loc[1], int) and loc[1] >= inline:
        return loc[1] - inline
    return None


def _read_document(
    path: Path, repository_root: Path
) -> tuple[bytes, str, dict[Any, Any]] | Problem:
    """The file's bytes, text and top-level mapping, or the one problem that stops there."""
    shown = display_path(path)
    try:
        raw = read_regular_file(path, repository_root)
    except NotReadable as exc:
        return Problem(shown, None, None, f"the file {exc.reason}")
    text = decode(raw, shown)
    if isinstance(text, Problem):
        return text
    try:
        data = parse_yaml(text)
    except YamlSyntaxError as exc:
        return Problem(shown, exc.line, exc.column, exc.message)
    if data is None:
        return Problem(shown, 1, 1, "the file is empty; a campaign needs at least a name")
    if not isinstance(data, dict):
        kind = describe(data)
        return Problem(shown, 1, 1, f"a campaign file must be a mapping of fields, not {kind}")
    return raw, text, data


def _validation_problems(exc: ValidationError, reported: set[Loc]) -> list[tuple[Loc, str, bool]]:
    """The model's errors, less those `unusable_values` already reported better: keys
    that are not text, and values at a location already reported."""
    problems: list[tuple[Loc, str, bool]] = []
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


@dataclass
class _ContactsFile:
    """A campaign's contacts CSV as read: its bytes, contacts, their lines, its problems."""

    path: Path | None = None
    raw: bytes = b""
    contacts: list[Contact] | None = None
    lines: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem_at(self, index: int, message: str) -> Problem:
        assert self.path is not None
        return Problem(display_path(self.path), self.lines[index], None, message)


def _read_contacts(
    csv_path: Path, repository_root: Path, problems: list[tuple[Loc, str, bool]]
) -> _ContactsFile:
    result = read_contacts_csv(csv_path, repository_root)
    if isinstance(result, Problem):
        problems.append((("contacts_file",), result.message, False))
        return _ContactsFile(csv_path)
    raw, contacts, lines, csv_problems = result
    return _ContactsFile(csv_path, raw, contacts, lines, csv_problems)


def _unchanged(path: Path, key: str, record: Applied, repository_root: Path) -> CampaignFile | None:
    """The campaign as last applied, if its inputs are byte for byte what was applied."""
    if not record.source_digest:
        return None
    try:
        yaml_bytes = read_regular_file(path, repository_root)
        csv_bytes = b""
        if record.contacts_file:
            csv_path = path.parent / record.contacts_file
            csv_bytes = read_regular_file(csv_path, repository_root, what="a contacts file")
    except NotReadable:
        return None  # the full load says what is wrong
    if source_digest(yaml_bytes, csv_bytes) != record.source_digest:
        return None
    return CampaignFile(
        key=key,
        path=path,
        source=display_path(path),
        managed=record.last_applied,
        source_digest=record.source_digest,
        contacts_file=record.contacts_file,
    )


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
    position = _csv_position(("contacts", index), len(inline) if isinstance(inline, list) else 0)
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


def read_yaml_mapping(path: Path) -> dict[Any, Any]:
    """A small YAML settings file as a mapping; any problem is a ConfigError."""
    shown = display_path(path)
    try:
        raw = read_regular_file(path, what="a settings file")
    except NotReadable as exc:
        raise ConfigError(f"{shown} {exc.reason}.") from None
    text = decode(raw, shown)
    if isinstance(text, Problem):
        raise ConfigError(str(text))
    try:
        data = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError(str(Problem(shown, exc.line, exc.column, exc.message))) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown} must be a mapping of settings.")
    return data


def _located(path: Path, text: str, problems: list[tuple[Loc, str, bool]]) -> list[Problem]:
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
