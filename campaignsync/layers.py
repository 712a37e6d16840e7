"""The layers a campaign's fields come from, and where each field came from.

Fields layer in this order, each replacing whole values of the ones before (no merging
inside a list or mapping): the folder defaults from the farthest folder to the nearest,
the campaign's own file, then, for the selected environment, the `environments.NAME`
block of each of those files in the same order. Each field keeps its origin (which file,
under which block), so that a problem points at the line that supplied the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignsync.errors import Problem
from campaignsync.messages import describe
from campaignsync.spec import NOT_IN_DEFAULTS, Loc
from campaignsync.textfile import NotReadable, decode, display_path, read_regular_file
from campaignsync.yamldoc import YamlSyntaxError, read_yaml

ENVIRONMENTS = "environments"
SKIP = "skip"


@dataclass(frozen=True)
class Document:
    """A YAML file read and parsed: its path, bytes, text and top-level mapping, and how
    deep and how unusual its values are (see `yamlread.Parsed`; unknown: assume the worst)."""

    path: Path
    raw: bytes
    text: str
    data: dict[Any, Any]
    depth: int | None = None
    unusual: bool = True


def read_document(
    path: Path, repository_root: Path, *, defaults: bool = False
) -> Document | Problem:
    """The file as a Document, or the one problem that stops there. An empty defaults
    file sets nothing; an empty campaign file lacks its name."""
    shown = display_path(path)
    try:
        raw = read_regular_file(path, repository_root)
    except NotReadable as exc:
        return Problem(shown, None, None, f"the file {exc.reason}")
    text = decode(raw, shown)
    if isinstance(text, Problem):
        return text
    try:
        parsed = read_yaml(text)
    except YamlSyntaxError as exc:
        return Problem(shown, exc.line, exc.column, exc.message)
    data = parsed.value
    if data is None and defaults:
        data = {}
    if data is None:
        return Problem(shown, 1, 1, "the file is empty; a campaign needs at least a name")
    if not isinstance(data, dict):
        what = "a defaults file" if defaults else "a campaign file"
        return Problem(shown, 1, 1, f"{what} must be a mapping of fields, not {describe(data)}")
    return Document(path, raw, text, data, parsed.depth, parsed.unusual)


@dataclass(frozen=True)
class Origin:
    """Where a field's value was written: a file, and the block of it (an environment's)."""

    document: Document
    prefix: Loc = ()


@dataclass
class Layered:
    """A campaign's fields after layering, with the origin of each top-level field."""

    own: Document
    data: dict[Any, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    skip: bool = False

    def origin(self, loc: Loc) -> Origin:
        """The origin of the value at `loc`; the campaign's own file for the whole."""
        name = loc[0] if loc else None
        return (
            self.origins.get(name, Origin(self.own)) if isinstance(name, str) else Origin(self.own)
        )

    def inherited(self) -> dict[str, str]:
        """Each field a defaults file supplied, with that file as users see it."""
        return {
            name: display_path(origin.document.path)
            for name, origin in self.origins.items()
            if origin.document is not self.own
        }


def layer(chain: Sequence[Document], own: Document, environment: str | None) -> Layered:
    """The campaign's fields: `chain` (its defaults, farthest first), then its own file,
    then each one's block for `environment`."""
    layered = Layered(own)
    for document in [*chain, own]:
        for name, value in document.data.items():
            if document is own or _inheritable(name):
                layered.data[name] = value
                if isinstance(name, str):
                    layered.origins[name] = Origin(document)
    if environment is None:
        return layered
    for document in [*chain, own]:
        block = document.data.get(ENVIRONMENTS)
        overrides = block.get(environment) if isinstance(block, dict) else None
        if not isinstance(overrides, dict):
            continue
        for name, value in overrides.items():
            if name == SKIP:
                layered.skip = value is True
            elif name != ENVIRONMENTS and (document is own or _inheritable(name)):
                layered.data[name] = value
                layered.origins[name] = Origin(document, (ENVIRONMENTS, environment))
    return layered


def _inheritable(name: object) -> bool:
    # What a defaults file may not set is reported there, once, and never inherited.
    return isinstance(name, str) and name != ENVIRONMENTS and name not in NOT_IN_DEFAULTS


def environment_problems(document: Document, declared: Sequence[str]) -> list[tuple[Loc, str]]:
    """An `environments` block naming an environment campaignsync.yaml does not declare."""
    block = document.data.get(ENVIRONMENTS)
    if not isinstance(block, dict):
        return []  # the model says what is wrong with it
    known = ", ".join(declared) if declared else "it declares none"
    return [
        (
            (ENVIRONMENTS, name),
            f"{name!r} is not an environment declared in campaignsync.yaml ({known}); fix the "
            "name, or declare it under environments: there",
        )
        for name in block
        if isinstance(name, str) and name not in declared
    ]


def misplaced_in_defaults(document: Document) -> list[tuple[Loc, str]]:
    """`name` or `interview_id` in a defaults file, or in one of its environment blocks."""
    blocks: list[tuple[Loc, Any]] = [((), document.data)]
    environments = document.data.get(ENVIRONMENTS)
    if isinstance(environments, dict):
        blocks += [((ENVIRONMENTS, name), block) for name, block in environments.items()]
    return [
        (
            (*prefix, name),
            f"{name} belongs to one campaign, so a defaults file cannot set it; "
            "move it into the campaign files",
        )
        for prefix, block in blocks
        if isinstance(block, dict)
        for name in NOT_IN_DEFAULTS
        if name in block
    ]
