"""`init`: write a new campaigns repository from the templates shipped in the package.

It never overwrites a file: when any file it would write exists, it lists every one and
writes nothing. Only `.gitignore` may already exist; the lines it lacks are appended.
"""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from campaignsync import __version__
from campaignsync.errors import ConfigError
from campaignsync.terminal import echo
from campaignsync.textfile import display_path, escaped

TEMPLATES: Traversable = files("campaignsync") / "repository-template"

# Template -> where it goes in the new repository. The templates keep no leading dots in
# their names, so that every packaging tool ships them; the workflows and their scripts
# are copies of this repository's own `.github/` (a test keeps them identical).
LAYOUT: dict[str, str] = {
    "campaignsync.yaml": "campaignsync.yaml",
    "campaigns/_defaults.yaml": "campaigns/_defaults.yaml",
    "campaigns/example.yaml": "campaigns/example.yaml",
    "github/workflows/campaigns-plan.yml": ".github/workflows/campaigns-plan.yml",
    "github/workflows/campaigns-apply.yml": ".github/workflows/campaigns-apply.yml",
    "github/scripts/plan.sh": ".github/scripts/plan.sh",
    "github/scripts/apply.sh": ".github/scripts/apply.sh",
    "github/scripts/commit-state.sh": ".github/scripts/commit-state.sh",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
    "pyproject.toml.in": "pyproject.toml",
}
GITIGNORE_TEMPLATE = "gitignore"
GITIGNORE = ".gitignore"
# pyproject.toml pins the campaignsync that wrote it, for the workflows to install.
VERSION_MARK = b"@CAMPAIGNSYNC_VERSION@"


def template_bytes(name: str) -> bytes:
    return TEMPLATES.joinpath(*name.split("/")).read_bytes()


@click.command()
@click.argument("folder", required=False)
def init(folder: str | None) -> None:
    """Set up a campaigns repository in FOLDER (default: here); never overwrites a file.

    Writes campaignsync.yaml, campaigns/ with an example and a _defaults.yaml, the plan
    and apply GitHub workflows and their scripts, a .pre-commit-config.yaml, a
    pyproject.toml pinning this campaignsync for the workflows to install, and the
    .gitignore lines for local files.
    """
    root = _repository_folder(folder)
    ignored = _missing_gitignore_lines(root)
    found = [_blocker(root, relative) for relative in LAYOUT.values()]
    blocked = list(dict.fromkeys(path for path in found if path is not None))
    if ignored is None:
        blocked.append(GITIGNORE)
    if blocked:
        shown = "\n".join(f"  {display_path(root / relative)}" for relative in blocked)
        raise ConfigError(
            f"init writes no file over an existing one, and these exist:\n{shown}\n"
            "Nothing was written. Move them aside, or run `campaignsync init` in an empty "
            "folder."
        )
    written = [_write_new(root, template, relative) for template, relative in LAYOUT.items()]
    if ignored:
        _append_lines(root / GITIGNORE, ignored)
    _report(root, written, ignored or [])


def _repository_folder(folder: str | None) -> Path:
    """FOLDER as the one place it names: `..` is resolved before anything is checked, so
    that the check for existing files and the writes look at the same files."""
    given = folder if folder is not None else "."
    if "\x00" in given:
        raise ConfigError(
            f"{escaped(given)!r} is not a folder name: it holds a NUL character. Give the "
            "folder to set up, or nothing for this one."
        )
    root = Path(os.path.abspath(given))
    if os.path.lexists(root) and not root.is_dir():
        raise ConfigError(
            f"{display_path(root)} is not a folder. Give the folder to set up (it is made if "
            "missing), or nothing for this one."
        )
    return root


def _blocker(root: Path, relative: str) -> str | None:
    """What writing `relative` would replace: the file itself, or a parent that is not a
    plain folder (a link is never followed, even a dangling one)."""
    for part in [Path(relative), *list(Path(relative).parents)[:-1]]:
        path = root / part
        if os.path.lexists(path) and (part == Path(relative) or not _is_folder(path)):
            return part.as_posix()
    return None


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _missing_gitignore_lines(root: Path) -> list[str] | None:
    """The template's lines that .gitignore lacks; None if .gitignore is not a plain file."""
    template = template_bytes(GITIGNORE_TEMPLATE).decode("utf-8").splitlines()
    path = root / GITIGNORE
    if not os.path.lexists(path):
        return template
    if path.is_symlink() or not path.is_file():
        return None
    try:
        present = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {display_path(path)}: {exc}. Nothing was written.") from exc
    patterns = [line for line in template if line and not line.startswith("#")]
    if all(line in present for line in patterns):
        return []
    # The comment explains the lines, so it comes with them; lines already there do not.
    return [line for line in template if line.startswith("#") or line not in present]


def _write_new(root: Path, template: str, relative: str) -> str:
    path = root / relative
    mode = 0o755 if relative.endswith(".sh") else 0o644
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: a file that appeared since the check is never overwritten.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(template_bytes(template).replace(VERSION_MARK, __version__.encode()))
        os.chmod(path, mode)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write {display_path(path)}: {exc}. Files written before it stay; remove "
            "them, or fix the cause and run `campaignsync init` in an empty folder."
        ) from exc
    return relative


def _append_lines(path: Path, lines: list[str]) -> None:
    try:
        existing = path.read_bytes() if path.exists() else b""
        with path.open("a", encoding="utf-8") as stream:
            if existing and not existing.endswith(b"\n"):
                stream.write("\n")
            stream.write("".join(f"{line}\n" for line in lines))
    except OSError as exc:
        raise ConfigError(f"Cannot add lines to {display_path(path)}: {exc}.") from exc


def _report(root: Path, written: list[str], ignored: list[str]) -> None:
    here = root == Path.cwd()
    where = "this folder" if here else display_path(root)
    lines = [f"Set up a campaigns repository in {where}:"]
    lines += [f"  wrote {relative}" for relative in written]
    if ignored:
        patterns = [line for line in ignored if not line.startswith("#")]
        lines.append(f"  added to {GITIGNORE}: {' '.join(patterns)}")
    cd = [] if here else [f"  cd {display_path(root)}"]
    lines += [
        "Next:",
        *cd,
        "  campaignsync validate && campaignsync plan   # check the example, offline",
        "  campaignsync import --all   # adopt the campaigns your workspace already has",
        "Then commit, and set the repository secrets ONTORA_API_KEY (or ONTORA_API_TOKEN) "
        "and ONTORA_WORKSPACE_ID: each pull request gets its plan as a comment, and a merge "
        "applies it.",
    ]
    echo("\n".join(lines))
