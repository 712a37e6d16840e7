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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from campaignsync import __version__
from campaignsync.api_schema import Contact
from campaignsync.contacts_csv import outside_repository, read_contacts_csv
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.messages import describe, error_message, format_loc
from campaignsync.spec import Campaign, Loc, managed_fields, rule_violations
from campaignsync.textfile import decode, display_path, read_bounded
from campaignsync.yamldoc import YamlSyntaxError, locator, node_position, parse_yaml

MAX_CAMPAIGN_BYTES = 5 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")


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
def _digest_scheme() -> bytes:
    # A new campaignsync version or a changed schema may read the same bytes differently,
    # so either one makes every recorded digest stale.
    schema = json.dumps(Campaign.model_json_schema(), sort_keys=True).encode()
    return f"campaignsync-source/1 {__version__} {hashlib.sha256(schema).hexdigest()}".encode()


def source_digest(yaml_bytes: bytes, csv_bytes: bytes = b"") -> str:
    """The digest of a campaign's inputs: its file, and its contacts CSV if any."""
    return hashlib.sha256(_digest_scheme() + b"\0" + yaml_bytes + b"\0" + csv_bytes).hexdigest()


def campaign_key(campaigns_dir: Path, path: Path) -> str:
    return path.relative_to(campaigns_dir).with_suffix("").as_posix()


def discover(campaigns_dir: Path) -> list[Path]:
    """Every campaign file under the folder, in a stable order; dot-files are skipped."""
    if not campaigns_dir.is_dir():
        problem = "is not a folder" if campaigns_dir.exists() else "does not exist"
        raise ConfigError(
            f"The campaigns folder {display_path(campaigns_dir)} {problem}. "
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


def load_campaigns(
    campaigns_dir: Path,
    repository_root: Path,
    *,
    applied: Mapping[str, Applied] | None = None,
) -> list[CampaignFile]:
    """Load and validate every campaign; raise ValidationFailed with all problems at once.

    With `applied` (from state), a file whose bytes, and CSV, still hash to the digest
    recorded when it was applied is neither parsed nor validated again: its fields are
    exactly the ones last applied.
    """
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
        record = applied.get(key) if applied else None
        unchanged = _unchanged(path, key, record, repository_root) if record else None
        result = unchanged or load_file(path, key, repository_root)
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
    raw = read_bounded(path, MAX_CAMPAIGN_BYTES)
    if isinstance(raw, Problem):
        return [raw]
    text = decode(raw, shown)
    if isinstance(text, Problem):
        return [text]
    try:
        data = parse_yaml(text)
    except YamlSyntaxError as exc:
        return [Problem(shown, exc.line, exc.column, exc.message)]
    if data is None:
        return [Problem(shown, 1, 1, "the file is empty; a campaign needs at least a name")]
    if not isinstance(data, dict):
        kind = describe(data)
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
                problems.append((loc[:-1], error_message(error), False))
            else:
                problems.append((loc, error_message(error), error["type"] == "extra_forbidden"))

    csv_problems: list[Problem] = []
    csv_contacts: list[Contact] | None = None
    csv_lines: list[int] = []
    csv_bytes = b""
    contacts_file = data.get("contacts_file")
    csv_path = path.parent / contacts_file if isinstance(contacts_file, str) else None
    if csv_path is not None and contacts_file:
        outside = outside_repository(csv_path, repository_root)
        if outside:
            problems.append((("contacts_file",), outside, False))
        else:
            result = read_contacts_csv(csv_path)
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
    return CampaignFile(
        key=key,
        path=path,
        source=shown,
        managed=managed_fields(campaign, csv_contacts),
        source_digest=source_digest(raw, csv_bytes),
        interview_id=campaign.interview_id,
        contacts_file=campaign.contacts_file,
    )


def _unchanged(path: Path, key: str, record: Applied, repository_root: Path) -> CampaignFile | None:
    """The campaign as last applied, if its inputs are byte for byte what was applied."""
    if not record.source_digest:
        return None
    try:
        yaml_bytes = path.read_bytes()
        csv_bytes = b""
        if record.contacts_file:
            csv_path = path.parent / record.contacts_file
            if outside_repository(csv_path, repository_root):
                return None
            csv_bytes = csv_path.read_bytes()
    except OSError:
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
    try:
        root = locator(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return None, None
    return (None, None) if root is None else node_position(root, loc, at_key=at_key)


def read_yaml_mapping(path: Path) -> dict[Any, Any]:
    """A small YAML settings file as a mapping; any problem is a ConfigError."""
    shown = display_path(path)
    raw = read_bounded(path, MAX_CAMPAIGN_BYTES)
    text = raw if isinstance(raw, Problem) else decode(raw, shown)
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
