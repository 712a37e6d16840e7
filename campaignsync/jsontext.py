"""JSON that campaignsync did not just write: one reader, so every document it reads back
(a state, a lock's holder, an answer from Ontora, the emulator's data) is held to the
same rule, and what it cannot hold is a message, never a traceback.

The rule is JSON itself, and what campaignsync can write back: text that is Unicode (no
lone surrogate `\\ud800`), numbers that are finite (no NaN, Infinity, or `1e400`, which
reads as infinity) and no longer than Python prints, and no value nested deeper than
`MAX_DEPTH`, well within what pydantic serializes (255) even inside a state or a plan.
pydantic-core's reader refuses the text, numbers too long and nesting beyond 200; the
walk that follows refuses the rest.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import from_json

# Deeper than anything campaignsync writes: a campaign file nests 64 levels at most
# (`yamlread`), and a state or a plan wraps its values in a few more. pydantic stops at 255.
MAX_DEPTH = 100


def read_json(text: str | bytes) -> Any:
    """The document `text` holds; ValueError saying what is wrong if it is not JSON, or is
    JSON that campaignsync cannot hold (see the module's docstring)."""
    try:
        data = text.encode() if isinstance(text, str) else text
        document = from_json(data, allow_inf_nan=True)  # to name NaN as such below
    except UnicodeEncodeError as exc:
        raise ValueError("it holds text that is not Unicode (a lone surrogate)") from exc
    except ValueError as exc:
        raise ValueError(_why(str(exc))) from exc
    check_values(document)
    return document


def _why(reason: str) -> str:
    if reason.startswith("recursion limit exceeded"):
        return f"it nests values deeper than {MAX_DEPTH} levels"
    if reason.startswith("number out of range"):
        return f"it holds a number too long to read ({reason})"
    if "surrogate" in reason or "hex escape" in reason or "unicode code point" in reason:
        return f"it holds text that is not Unicode ({reason})"
    truncated = "; it may be truncated" if reason.startswith("EOF") else ""
    return f"it is not valid JSON ({reason}){truncated}"


def check_values(document: Any, most: int = MAX_DEPTH) -> None:
    """ValueError for a number that is not finite, or nesting beyond `most` levels: one
    level at a time, touching each value once."""
    level = [document]
    for depth in range(most + 1):
        below = []
        for value in level:
            kind = value.__class__
            if kind is float and not math.isfinite(value):
                raise ValueError(
                    "it holds a number that is not finite (NaN, Infinity, or one too large "
                    "for a number, like 1e400)"
                )
            if kind is dict or kind is list:
                if depth == most:
                    raise ValueError(f"it nests values deeper than {most} levels")
                below.extend(value.values() if kind is dict else value)
        if not below:
            return
        level = below
