"""Load campaigns: survey the folder, key each file, read and parse it with the folder
defaults above it, layer them, validate, merge contacts, and locate every problem at
`path:line:column`.

The modules that take part, each for one reason:
- `survey`: which files under the campaigns folder are campaigns, which are defaults;
- `textfile`: safe reading (regular files inside the repository, under a size cap, UTF-8);
- `yamlread`: the one YAML 1.2 reader that decides what a file means;
- `layers`: folder defaults, the file and an environment's overrides as one mapping,
  with the file each field came from;
- `spec` and `validation`: the campaign model, the rules across its fields, and each
  problem at the file that supplied the value;
- `contacts_csv`: contacts read from a `contacts_file`;
- `yamldoc` and `locate`: positions only, asked for only when a file has a problem;
- `campaign`: the loaded result and the digest of its inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from campaignsync.campaign import CampaignFile, source_digest
from campaignsync.contacts_csv import campaign_contacts, contacts_file_from_campaign
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.layers import Document, layer, read_document
from campaignsync.locate import locate
from campaignsync.spec import Campaign, check_key, managed_fields
from campaignsync.survey import defaults_above, survey
from campaignsync.textfile import NotReadable, decode, display_path, escaped, read_regular_file
from campaignsync.validation import (
    check_model,
    defaults_problems,
    placed,
    rule_problems,
    undeclared_environments,
)
from campaignsync.yamldoc import YamlSyntaxError, parse_yaml

__all__ = ["load_campaigns", "load_file", "read_yaml_mapping", "validate_campaigns"]

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
class _Context:
    """What every campaign of one load is read with."""

    repository_root: Path
    environment: str | None = None
    environments: tuple[str, ...] = ()

    def digest_environment(self) -> tuple[str, ...]:
        return () if self.environment is None else (self.environment, *self.environments)


def load_campaigns(
    campaigns_dir: Path,
    repository_root: Path,
    *,
    applied: Mapping[str, Applied] | None = None,
    warn: Warn | None = None,
    environment: str | None = None,
    environments: Sequence[str] = (),
) -> list[CampaignFile]:
    """Load and validate every campaign; raise ValidationFailed with all problems at once.

    `environments` are the names campaignsync.yaml declares; with `environment`, each
    campaign is read with that environment's overrides, and one that skips it is left out.
    With `applied` (from state), a campaign whose inputs still hash to the digest recorded
    when it was applied is neither parsed nor validated again: its fields are exactly the
    ones last applied. Files skipped on purpose are passed to `warn`.
    """
    context = _Context(repository_root, environment, tuple(environments))
    if environment is not None and environment not in context.environments:
        declared = ", ".join(environments) or "none"
        raise ConfigError(
            f"The environment {environment!r} is not declared in campaignsync.yaml (declared: "
            f"{declared}). Choose a declared one, or declare it under environments: there."
        )
    found = survey(campaigns_dir)
    for skipped in found.skipped:
        if warn is not None:
            warn(skipped)
    problems = list(found.problems)
    defaults = _read_defaults(sorted(found.defaults.values()), context, problems)
    loaded: list[CampaignFile] = []
    for key, path in _keyed(campaigns_dir, found.paths, problems):
        above = defaults_above(campaigns_dir, path, found.defaults)
        chain = [defaults[file] for file in above if file in defaults]
        record = applied.get(key) if applied else None
        unchanged = _unchanged(path, key, chain, record, context) if record else None
        result = unchanged or _load(path, key, chain, context)
        if isinstance(result, CampaignFile):
            loaded.append(result)
        elif result is not None:
            problems.extend(result)
    problems.extend(_adopted_twice(loaded))
    if problems:
        # A problem of a defaults file or a shared CSV is found once per campaign: say it once.
        raise ValidationFailed(list(dict.fromkeys(problems)))
    return loaded


def validate_campaigns(
    campaigns_dir: Path,
    repository_root: Path,
    *,
    warn: Warn | None = None,
    environment: str | None = None,
    environments: Sequence[str] = (),
) -> list[CampaignFile]:
    """Check the campaigns for `environment`; with none selected, as written and in every
    declared environment, so that no environment's overrides go unchecked."""
    selected = [environment] if environment is not None else [None, *environments]
    problems: list[Problem] = []
    base: list[CampaignFile] = []
    for index, name in enumerate(selected):
        try:
            loaded = load_campaigns(
                campaigns_dir,
                repository_root,
                warn=warn if index == 0 else None,
                environment=name,
                environments=environments,
            )
        except ValidationFailed as failed:
            problems.extend(failed.problems)
            continue
        if name == environment:
            base = loaded
    if problems:
        raise ValidationFailed(list(dict.fromkeys(problems)))
    return base


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


# --- Folder defaults and one campaign -----------------------------------------------------


def _read_defaults(
    paths: Sequence[Path], context: _Context, problems: list[Problem]
) -> dict[Path, Document]:
    """Every defaults file, read and checked once on its own: its problems are told once,
    however many campaigns inherit from it. One that cannot be read is left out."""
    documents: dict[Path, Document] = {}
    for path in paths:
        document = read_document(path, context.repository_root, defaults=True)
        if isinstance(document, Problem):
            problems.append(document)
            continue
        documents[path] = document
        problems.extend(defaults_problems(document, context.environments))
    return documents


def load_file(path: Path, key: str, repository_root: Path) -> CampaignFile | list[Problem]:
    """Read one campaign file on its own; return it, or every problem found in it."""
    result = _load(path, key, (), _Context(repository_root))
    assert result is not None  # only an environment's overrides skip a campaign
    return result


def _load(
    path: Path, key: str, chain: Sequence[Document], context: _Context
) -> CampaignFile | list[Problem] | None:
    """The campaign of one file and the defaults above it, or every problem found in
    them; None when the selected environment leaves it out."""
    own = read_document(path, context.repository_root)
    if isinstance(own, Problem):
        return [own]
    layered = layer(chain, own, context.environment)
    problems = undeclared_environments(own, context.environments)
    campaign, invalid = check_model(layered.data, Campaign, problems, layered_from=[*chain, own])
    problems += invalid
    contacts = campaign_contacts(layered, context.repository_root)
    rules = rule_problems(layered.data, contacts)
    if problems or rules or contacts.problems or contacts.unreadable or campaign is None:
        return placed(layered, problems, rules, contacts)
    if layered.skip:
        return None
    assert isinstance(campaign, Campaign)
    return CampaignFile(
        key=key,
        path=path,
        source=display_path(path),
        managed=managed_fields(campaign, contacts.contacts),
        source_digest=_digest(own, chain, contacts.raw, context),
        interview_id=campaign.interview_id,
        contacts_file=contacts_file_from_campaign(layered),
        inherited=layered.inherited(),
    )


def _digest(own: Document, chain: Sequence[Document], csv: bytes, context: _Context) -> str:
    return source_digest(
        own.raw,
        csv,
        defaults=[(os.path.relpath(d.path, own.path.parent), d.raw) for d in chain],
        environment=context.digest_environment(),
    )


# --- Unchanged since applied -------------------------------------------------------------


def _unchanged(
    path: Path, key: str, chain: Sequence[Document], record: Applied, context: _Context
) -> CampaignFile | None:
    """The campaign as last applied, if its inputs are byte for byte what was applied:
    its file, its CSV, and the defaults it inherits."""
    if not record.source_digest:
        return None
    try:
        yaml_bytes = read_regular_file(path, context.repository_root)
        csv_bytes = b""
        if record.contacts_file:
            csv_path = path.parent / record.contacts_file
            what = "a contacts file"
            csv_bytes = read_regular_file(csv_path, context.repository_root, what=what)
    except NotReadable:
        return None  # the full load says what is wrong
    own = Document(path, yaml_bytes, "", {})
    if _digest(own, chain, csv_bytes, context) != record.source_digest:
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
