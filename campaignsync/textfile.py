"""Reading files people write: a size limit, and binary or non-UTF-8 text refused clearly."""

from __future__ import annotations

import os
from pathlib import Path

from campaignsync.errors import Problem


def display_path(path: Path) -> str:
    """A path as users should see it: relative to the working directory."""
    return os.path.relpath(path)


def read_bounded(path: Path, limit: int) -> bytes | Problem:
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


def decode(raw: bytes, shown: str) -> str | Problem:
    if b"\0" in raw:
        return Problem(shown, None, None, "the file is binary, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Problem(shown, line, None, "the file is not UTF-8 text")
