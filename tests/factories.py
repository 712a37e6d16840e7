"""Small factories for planner and renderer tests: literal data in, typed values out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from campaignsync.campaign import CampaignFile
from campaignsync.filestate import read_state
from campaignsync.spec import Campaign, managed_fields
from campaignsync.state import Entry, State

API_URL = "https://api.ontora.com"
WORKSPACE = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"
ID_A = "11111111-1111-4111-8111-111111111111"
ID_B = "22222222-2222-4222-8222-222222222222"
# A fixed fingerprint key, so that planned fingerprints (and golden files) are stable.
FINGERPRINT_KEY = "5e" * 32


def read_back(path: Path, api_url: str = API_URL, workspace_id: str | None = WORKSPACE) -> State:
    """The state file at `path` as campaignsync reads it, for the test API and workspace."""
    return read_state(path, api_url=api_url, workspace_id=workspace_id)


def campaign(key: str, **fields: Any) -> CampaignFile:
    """A loaded campaign file with these fields (name defaults to the key)."""
    fields.setdefault("name", key)
    model = Campaign.model_validate(fields)
    path = Path("campaigns") / f"{key}.yaml"
    return CampaignFile(
        key=key,
        path=path,
        source=str(path),
        managed=managed_fields(model),
        source_digest=f"digest-of-{key}",
        interview_id=model.interview_id,
    )


def applied(interview_id: str, source: CampaignFile | dict[str, Any]) -> Entry:
    """A state entry as apply records it; `source` is a campaign or its last-applied fields."""
    last = source.managed if isinstance(source, CampaignFile) else source
    # Through JSON, exactly as a state file round-trips it.
    return Entry(
        interview_id=interview_id,
        last_applied=json.loads(json.dumps(last)),
        source_digest="old-digest",
        applied_at="2026-11-01T10:00:00Z",
    )


def state(**entries: Entry) -> State:
    return State(
        lineage="5a0d6a4e-3a56-4bd4-a3e1-0b1f7b3f2c9d",
        serial=7,
        api_url=API_URL,
        workspace_id=WORKSPACE,
        fingerprint_key=FINGERPRINT_KEY,
        campaigns={key.replace("__", "/"): entry for key, entry in entries.items()},
    )


# Two environments on two workspaces, each with its own state file.
STAGING = "7d1c0b6e-3f0a-4c55-9d1e-0a6b2c3d4e5f"
PRODUCTION = "2b9e4f1a-6c3d-4e8f-a0b1-c2d3e4f5a6b7"
ENVIRONMENTS_CONFIG = f"""environments:
  staging:
    workspace_id: {STAGING}
    state: campaignsync.staging.state.json
  production:
    workspace_id: {PRODUCTION}
    state: campaignsync.production.state.json
"""
