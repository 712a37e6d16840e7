"""A loaded campaign file: the spec's fields as the planner needs them, and the digest of
the inputs they were read from, so that an unchanged file need not be parsed again."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaignsync import __version__
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
    contacts_file: str | None = None


@functools.cache
def _digest_scheme(version: str) -> bytes:
    # A new campaignsync version or a changed schema may read the same bytes differently,
    # so either one makes every recorded digest stale.
    schema = json.dumps(Campaign.model_json_schema(), sort_keys=True).encode()
    return f"campaignsync-source/1 {version} {hashlib.sha256(schema).hexdigest()}".encode()


def source_digest(yaml_bytes: bytes, csv_bytes: bytes = b"", *, version: str = __version__) -> str:
    """The digest of a campaign's inputs, its file and its contacts CSV if any, as read by
    campaignsync `version`."""
    scheme = _digest_scheme(version)
    return hashlib.sha256(scheme + b"\0" + yaml_bytes + b"\0" + csv_bytes).hexdigest()
