"""What the terminal can show: colour only on a TTY, never with NO_COLOR (no-color.org)."""

from __future__ import annotations

import os
from typing import Any


def use_colour(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ
