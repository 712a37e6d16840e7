"""What the terminal can show: colour only on a TTY, never with NO_COLOR (no-color.org).

`echo` is the one way commands print: everything goes through the scrubber on its way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from campaignsync.scrub import scrub


def use_colour(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def echo(text: str, *, err: bool = False, nl: bool = True, colour: bool = False) -> None:
    """Print `text` scrubbed of secrets and control characters (colour codes kept if asked)."""
    click.echo(scrub(text, colour=colour), err=err, nl=nl, color=colour)


def fail_message(message: str) -> None:
    """An error as the last thing printed: red on a terminal, always scrubbed."""
    colour = use_colour(sys.stderr)
    text = f"Error: {scrub(message)}"
    echo(click.style(text, fg="red") if colour else text, err=True, colour=colour)
