"""A loaded campaign file: the spec's fields as the planner needs them, and the digest of
the inputs they were read from, so that an unchanged file need not be parsed again."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignsync import __version__
from campaignsync.fingerprint import contact_count, stands_in
from campaignsync.spec import Campaign


@dataclass(frozen=True)
class CampaignFile:
    """A valid campaign file: its key, where it lives, and the fields it manages."""

    key: str
    path: Path
    source: str  # the path as users see it, fixed at load time
    managed: dict[str, Any]
    source_digest: str
    interview_id: str | None = None
    contacts_file: str | None = None  # relative to the campaign file's folder
    # Each field a folder's defaults file supplied, with that file as users see it.
    inherited: dict[str, str] = field(default_factory=dict)

    @property
    def people(self) -> int:
        """How many contacts the file declares; a file unchanged since it was applied is
        read back as last applied, where contacts are their fingerprints, one per contact."""
        contacts: Any = self.managed.get("contacts") or []
        return contact_count(contacts) if stands_in(contacts) else len(contacts)

    def from_defaults(self, fields: Iterable[str]) -> str:
        """Which of `fields` a defaults file supplied, and which file, for a plan's reason:
        ` (channel from campaigns/_defaults.yaml)`, or nothing."""
        sources: dict[str, list[str]] = {}
        for name in fields:
            if name in self.inherited:
                sources.setdefault(self.inherited[name], []).append(name)
        told = "; ".join(f"{', '.join(names)} from {source}" for source, names in sources.items())
        return f" ({told})" if told else ""


@functools.cache
def _digest_scheme(version: str) -> bytes:
    # A new campaignsync version or a changed schema may read the same bytes differently,
    # so either one makes every recorded digest stale.
    schema = json.dumps(Campaign.model_json_schema(), sort_keys=True).encode()
    return f"campaignsync-source/1 {version} {hashlib.sha256(schema).hexdigest()}".encode()


def source_digest(
    yaml_bytes: bytes,
    csv_bytes: bytes = b"",
    *,
    defaults: Sequence[tuple[str, bytes]] = (),
    environment: Sequence[str] = (),
    version: str = __version__,
) -> str:
    """The digest of a campaign's inputs: its file, its contacts CSV if any, the defaults
    files it inherits (where each lies from the campaign, and its bytes, in order), and
    the environment it is read for (the selected name, then the declared ones), as read by
    campaignsync `version`."""
    digest = hashlib.sha256(_digest_scheme(version))
    digest.update(b"\0" + yaml_bytes + b"\0" + csv_bytes)
    # Lengths first, so that no two different inputs run together into the same bytes.
    for where, raw in defaults:
        digest.update(b"\0defaults %d %s %d\0" % (len(where), os.fsencode(where), len(raw)) + raw)
    for name in environment:
        digest.update(b"\0environment %d %s" % (len(name), name.encode("utf-8", "surrogatepass")))
    return digest.hexdigest()
