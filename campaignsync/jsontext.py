"""JSON that campaignsync did not just write: one reader, so every document it reads back
(a state, a lock's holder, an answer from Ontora, a file `plan --out` would replace) is
held to the same rule, and what it cannot hold is a message, never a traceback.

The rule is JSON itself: no NaN or Infinity, and no number too large to be a finite one
(`1e400`), since no request may carry them and no state can keep them. Python's reader
takes both, and raises RecursionError, not ValueError, on a document nested too deep.
A saved plan is read faster by pydantic-core (`plan.saved_json`), which its digest backs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from campaignsync.scrub import untrusted


def read_json(text: str | bytes) -> Any:
    """The document `text` holds; ValueError saying what is wrong if it is not JSON, or is
    JSON this reader cannot hold: nested too deep, a number too long, or one not finite."""
    try:
        return json.loads(text, parse_constant=_not_finite, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); it may "
            "be truncated"
        ) from exc
    except UnicodeDecodeError as exc:  # bytes, in no encoding JSON may use
        raise ValueError(f"it is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ValueError("it nests values too deep to read") from exc
    except ValueError as exc:  # from the hooks, or an integer of thousands of digits
        raise ValueError(f"it holds a number it cannot ({exc})") from exc


def _not_finite(text: str) -> float:
    raise ValueError(f"{text} is not a finite number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{untrusted(text)[:40]} is too large for a number")
    return number
