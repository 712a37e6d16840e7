"""The walk of the campaigns folder: which files are campaigns, and what must not be
passed over without a word (unreadable or linked folders, other-case suffixes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from campaignsync.errors import ConfigError, Problem
from campaignsync.textfile import display_path, escaped

SUFFIXES = (".yaml", ".yml")
# A folder's defaults: not a campaign, but fields for every campaign in the folder and below.
DEFAULTS_NAMES = ("_defaults.yaml", "_defaults.yml")


@dataclass(frozen=True)
class Survey:
    """What a walk of the campaigns folder found: campaign files, files and folders it
    must not leave out without an error, and hidden files it skips with a warning."""

    paths: list[Path] = field(default_factory=list)
    defaults: dict[Path, Path] = field(default_factory=dict)  # folder -> its defaults file
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
    elif name in DEFAULTS_NAMES:
        _add_defaults(path, found)
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


def _add_defaults(path: Path, found: Survey) -> None:
    other = found.defaults.setdefault(path.parent, path)
    if other != path:
        first, second = sorted((other, path))
        found.defaults[path.parent] = first
        found.problems.append(
            Problem(
                display_path(second),
                None,
                None,
                f"a folder has one defaults file, and {display_path(first)} is already this "
                "folder's; merge the two into one",
            )
        )


def names_defaults(key: str) -> bool:
    """Whether a campaign key would name a folder's defaults file instead of a campaign."""
    return f"{key.rpartition('/')[2]}.yaml" in DEFAULTS_NAMES


def defaults_above(campaigns_dir: Path, path: Path, defaults: dict[Path, Path]) -> list[Path]:
    """The defaults files a campaign file inherits from, the farthest folder first."""
    inside = path.parent.relative_to(campaigns_dir)
    folders = [campaigns_dir / folder for folder in reversed(inside.parents)] + [path.parent]
    folders = list(dict.fromkeys(folders))
    return [defaults[folder] for folder in folders if folder in defaults]


def _linked_folder(path: Path) -> Problem:
    return Problem(
        display_path(path),
        None,
        None,
        "is a link to a folder, and linked folders are not followed (their campaigns would "
        "have a second key, or lie outside the repository); move the folder here instead",
    )
