"""The one scrubber between campaignsync and the user: secrets out, control characters out.

Every line printed (plans in any format, annotations, errors, progress, the debug
traceback) passes through `scrub`, which knows the configured secrets: the credential
variables of the environment and whatever settings resolved (`remember_secret`). Text
from outside (API error details, file names, values) goes through `untrusted` before it
is put into a message, so it cannot forge a line of output either.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

SECRET_VARIABLES = ("ONTORA_API_KEY", "ONTORA_API_TOKEN")
MASK = "***"

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that
# make a terminal show text in an order other than the one it has.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What colour output is made of: SGR sequences only (`ESC [ 1;33 m`).
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

_remembered: set[str] = set()
_lock = threading.Lock()


def remember_secret(secret: str | None) -> None:
    """Scrub `secret` from everything printed by this process from now on."""
    if secret:
        with _lock:
            _remembered.add(secret)


def scrub(text: str, *, colour: bool = False, secrets: Iterable[str] = ()) -> str:
    """`text` without any known secret or control character (colour codes kept if asked).

    `secrets` adds ones the caller holds beyond the environment and the remembered ones.
    """
    text = _without_secrets(text, secrets)
    if not colour:
        return _CONTROL.sub(_escaped, text)
    kept = _COLOUR.split(text)
    codes = _COLOUR.findall(text)
    parts = [_CONTROL.sub(_escaped, kept[0])]
    for code, rest in zip(codes, kept[1:], strict=True):
        parts += [code, _CONTROL.sub(_escaped, rest)]
    return "".join(parts)


def untrusted(text: object, secrets: Iterable[str] = ()) -> str:
    """Text from outside made one safe line: no secret, no control character, no newline."""
    return scrub(str(text), secrets=secrets).replace("\n", "\\n").replace("\t", " ")


def _escaped(match: re.Match[str]) -> str:
    # The form JSON reads back as the same character, so a JSON document stays valid.
    return f"\\u{ord(match.group()):04x}"


def _without_secrets(text: str, extra: Iterable[str]) -> str:
    known = _secrets() | {secret for secret in extra if secret}
    for secret in sorted(_variants(known), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _secrets() -> set[str]:
    found = {os.environ.get(variable, "") for variable in SECRET_VARIABLES}
    with _lock:
        found |= _remembered
    return {secret for secret in found if secret}


def _variants(secrets: set[str]) -> set[str]:
    """Each secret as it may appear in a message: itself, trimmed, as Python and JSON show
    it, and percent-encoded as in a URL."""
    variants: set[str] = set()
    for secret in secrets:
        shown = (
            repr(secret)[1:-1],
            repr(secret.encode())[2:-1],
            json.dumps(secret)[1:-1],
            quote(secret, safe=""),
            quote_plus(secret, safe=""),
        )
        for form in (secret, secret.strip(), *shown):
            if form:
                variants.add(form)
    return variants
