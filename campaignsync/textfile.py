"""Reading files people write: only regular files, inside the repository, under a size cap.

A campaign file or contacts CSV may be a link, but what it resolves to must be a plain
file inside the repository, and not in its .git folder. Devices, FIFOs and folders are
refused from their metadata, and the descriptor actually opened is checked again, so a
file swapped between the check and the open is never read. Binary or non-UTF-8 text is
refused clearly.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from campaignsync.errors import Problem

MAX_FILE_BYTES = 10 * 1024 * 1024  # documented in README: one campaign file or contacts CSV

# Never follow a link the resolved path turned into, never block on a FIFO or device.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotReadable(Exception):
    """Why a file is not read; `reason` completes a sentence about the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def display_path(path: Path | str) -> str:
    """A path as users should see it: relative to the working directory, control
    characters escaped so that a file name cannot forge lines of output."""
    return escaped(os.path.relpath(path))


def escaped(text: str) -> str:
    """`text` with every non-printable character written as a Python escape (`\\n`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def read_regular_file(
    path: Path,
    repository_root: Path | None = None,
    *,
    what: str = "a campaign file",
    limit: int = MAX_FILE_BYTES,
) -> bytes:
    """The bytes of a regular file at most `limit` long, inside `repository_root` if given.

    Raises NotReadable, without reading a byte, for anything else; `what` names the kind
    of file expected, for the message.
    """
    if "\0" in str(path):
        raise NotReadable("cannot be read: its name holds a NUL character")
    try:
        # The boundary first, so that nothing is told about files outside it.
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of links
        raise NotReadable(f"cannot be read: {_reason(exc)}") from None
    if repository_root is not None:
        _check_inside(resolved, repository_root.resolve())
    try:
        status = os.stat(resolved)
    except FileNotFoundError:
        missing = "is a link to a missing file" if _is_link(path) else "does not exist"
        raise NotReadable(missing) from None
    except OSError as exc:
        raise NotReadable(f"cannot be read: {_reason(exc)}") from None
    _check_metadata(status, limit, what)
    try:
        descriptor = os.open(resolved, _OPEN_FLAGS)
    except OSError as exc:
        raise NotReadable(f"cannot be read: {_reason(exc)}") from None
    try:
        _check_metadata(os.fstat(descriptor), limit, what)  # what was opened, not what was checked
        return _read_at_most(descriptor, limit)
    except OSError as exc:
        raise NotReadable(f"cannot be read: {_reason(exc)}") from None
    finally:
        os.close(descriptor)


def _check_inside(resolved: Path, root: Path) -> None:
    """Refuse a file outside the repository, or in its .git folder: git's own files are no
    campaign, and a CI checkout may keep its token in .git/config."""
    if not resolved.is_relative_to(root):
        raise NotReadable(
            f"resolves outside the repository ({root}); "
            "keep campaign files and contact lists inside it"
        )
    if any(part.casefold() == ".git" for part in resolved.relative_to(root).parts):
        raise NotReadable(
            "is inside the repository's .git folder, which holds git's own files; "
            "keep campaign files and contact lists beside the campaigns"
        )


def _is_link(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:
        return False


def _check_metadata(status: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((kind for is_kind, kind in _KINDS if is_kind(status.st_mode)), "a special file")
        raise NotReadable(f"is {kind}, not a regular file; {what} must be a plain file")
    if status.st_size > limit:
        raise _too_large(status.st_size, limit)


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(descriptor, min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise _too_large(total, limit)  # it grew while being read


def _too_large(size: int, limit: int) -> NotReadable:
    return NotReadable(
        f"is {size / 1_048_576:.1f} MiB, over the {limit // 1_048_576} MiB limit for one file; "
        "split it into several files"
    )


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def decode(raw: bytes, shown: str) -> str | Problem:
    if b"\0" in raw:
        return Problem(shown, None, None, "the file is binary (it holds NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Problem(shown, line, None, "the file is not UTF-8 text")
