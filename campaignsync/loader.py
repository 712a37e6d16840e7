"""Load campaigns: survey the folder, key each file, read, parse, validate, merge contacts,
and locate every problem at `path:line:column`.

The modules that take part, each for one reason:
- `survey`: which files under the campaigns folder are campaigns;
- `textfile`: safe reading (regular files inside the repository, under a size cap, UTF-8);
- `yamlread`: the one YAML 1.2 reader that decides what a file means;
- `spec`: the campaign model and the rules across its fields;
- `contacts_csv`: contacts read from a `contacts_file`;
- `yamldoc` and `locate`: positions only, asked for only when a file has a problem;
- `campaign`: the loaded result and the digest of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from campaignsync.campaign import CampaignFile, source_digest
from campaignsync.contacts_csv import read_contacts_csv
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.locate import csv_position, locate, located_problems
from campaignsync.messages import describe, error_message
from campaignsync.ontora_models import Contact
from campaignsync.spec import (
    Campaign,
    Loc,
    check_key,
    managed_fields,
    rule_violations,
    unusable_values,
)
from campaignsync.survey import survey
from campaignsync.textfile import NotReadable, decode, display_path, escaped, read_regular_file
from campaignsync.yamldoc import YamlSyntaxError, parse_yaml

__all__ = ["load_campaigns", "load_file", "read_yaml_mapping"]

Warn = Callable[[Problem], None]
# A problem found in a file's values: where, what, and whether it is about the key itself.
Found = tuple[Loc, str, bool]


class Applied(Protocol):
    """What state remembers of a campaign as last applied (a state Entry fits)."""

    @property
    def source_digest(self) -> str | None: ...

    @property
    def contacts_file(self) -> str | None: ...

    @property
    def last_applied(self) -> dict[str, Any]: ...


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
    for key, path in _keyed(campaigns_dir, found.paths, problems):
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


# --- Keys --------------------------------------------------------------------------------


def campaign_key(campaigns_dir: Path, path: Path) -> str:
    return path.relative_to(campaigns_dir).with_suffix("").as_posix()


def _keyed(
    campaigns_dir: Path, paths: list[Path], problems: list[Problem]
) -> Iterator[tuple[str, Path]]:
    """Each campaign file with its key; a file whose key cannot be used is a problem."""
    owners: dict[str, Path] = {}
    for path in paths:
        key = campaign_key(campaigns_dir, path)
        refused = _refused_key(key, path, owners)
        if refused is not None:
            problems.append(refused)
            continue
        owners[key] = path
        yield key, path


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


# --- One file ----------------------------------------------------------------------------


def load_file(path: Path, key: str, repository_root: Path) -> CampaignFile | list[Problem]:
    """Read one campaign file; return it, or every problem found in it."""
    document = _read_document(path, repository_root)
    if isinstance(document, Problem):
        return [document]
    raw, text, data = document
    campaign, problems = _validate(data)
    contacts = _contacts_of(data, path, repository_root, problems)
    problems.extend(_rule_problems(data, contacts))
    if problems or contacts.problems or campaign is None:
        return located_problems(path, text, problems) + contacts.problems
    return CampaignFile(
        key=key,
        path=path,
        source=display_path(path),
        managed=managed_fields(campaign, contacts.contacts),
        source_digest=source_digest(raw, contacts.raw),
        interview_id=campaign.interview_id,
        contacts_file=campaign.contacts_file,
    )


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


def _validate(data: dict[Any, Any]) -> tuple[Campaign | None, list[Found]]:
    """The campaign model of the mapping, and every problem in its values."""
    problems: list[Found] = [(loc, message, False) for loc, message in unusable_values(data)]
    try:
        return Campaign.model_validate(data), problems
    except ValidationError as exc:
        reported = {loc for loc, _, _ in problems}
        return None, problems + _validation_problems(exc, reported)


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


# --- Contacts and the rules across fields ------------------------------------------------


@dataclass
class _ContactsFile:
    """A campaign's contacts CSV as read: its bytes, contacts, their lines, its problems."""

    path: Path | None = None
    raw: bytes = b""
    contacts: list[Contact] | None = None
    lines: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inline: list[Any] = field(default_factory=list)

    def problem_at(self, index: int, message: str) -> Problem:
        assert self.path is not None
        return Problem(display_path(self.path), self.lines[index], None, message)

    def merged(self) -> list[Any]:
        """Inline contacts first, then the CSV's, as the rules see them."""
        return self.inline + [c.model_dump(exclude_unset=True) for c in self.contacts or []]


def _contacts_of(
    data: dict[Any, Any], path: Path, repository_root: Path, problems: list[Found]
) -> _ContactsFile:
    """The inline contacts and the `contacts_file` (relative to the campaign file), if any."""
    contacts = _ContactsFile()
    contacts_file = data.get("contacts_file")
    if isinstance(contacts_file, str) and contacts_file:
        contacts = _read_contacts(path.parent / contacts_file, repository_root, problems)
    inline = data.get("contacts")
    contacts.inline = inline if isinstance(inline, list) else []
    return contacts


def _read_contacts(csv_path: Path, repository_root: Path, problems: list[Found]) -> _ContactsFile:
    result = read_contacts_csv(csv_path, repository_root)
    if isinstance(result, Problem):
        problems.append((("contacts_file",), result.message, False))
        return _ContactsFile(csv_path)
    raw, contacts, lines, csv_problems = result
    return _ContactsFile(csv_path, raw, contacts, lines, csv_problems)


def _rule_problems(data: dict[Any, Any], contacts: _ContactsFile) -> list[Found]:
    """Rules across fields; a broken rule about a CSV contact is told at its CSV row."""
    problems: list[Found] = []
    for loc, message in rule_violations(data, contacts.merged()):
        row = csv_position(loc, len(contacts.inline))
        if row is None:
            problems.append((loc, message, False))
        else:
            contacts.problems.append(contacts.problem_at(row, f"{loc[-1]}: {message}"))
    return problems


# --- Unchanged since applied -------------------------------------------------------------


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
