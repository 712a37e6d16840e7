"""The published JSON Schema: generated from the models, and agreeing with the loader."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from campaignsync.loader import load_campaigns
from campaignsync.plan import plan_json_schema
from campaignsync.spec import campaign_json_schema, defaults_json_schema
from campaignsync.state import state_json_schema
from campaignsync.survey import discover
from tests.conftest import REPO

SCHEMA_PATH = REPO / "schemas" / "campaign.schema.json"
EXAMPLES = discover(REPO / "campaigns")


def test_committed_schema_is_what_the_code_generates() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == campaign_json_schema(), (
        "schemas/campaign.schema.json is stale: run "
        "`campaignsync schema > schemas/campaign.schema.json`"
    )


def test_schema_forbids_unknown_keys_at_every_level() -> None:
    schema = campaign_json_schema()
    assert schema["additionalProperties"] is False
    for name in ("Topic", "Question", "Contact"):
        assert schema["$defs"][name]["additionalProperties"] is False


def test_schema_describes_every_field_and_formats() -> None:
    schema = campaign_json_schema()
    undocumented = [
        key for key, value in schema["properties"].items() if not value.get("description")
    ]
    assert undocumented == []
    assert {"format": "date-time", "type": "string"} in schema["properties"]["timeframe_start"][
        "anyOf"
    ]
    contact = schema["$defs"]["Contact"]["properties"]
    assert {"format": "email", "type": "string"} in contact["email"]["anyOf"]
    assert schema["required"] == ["name"]


def as_json(value: Any) -> Any:
    """What an editor's YAML language server sees: timestamps are strings."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def test_there_are_at_least_three_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_examples_pass_an_independent_validator(path: Path) -> None:
    document = as_json(YAML(typ="safe").load(path.read_text()))
    jsonschema.validate(document, campaign_json_schema())
    first_line = path.read_text().splitlines()[0]
    depth = len(path.relative_to(REPO / "campaigns").parts)
    assert (
        first_line == f"# yaml-language-server: $schema={'../' * depth}schemas/campaign.schema.json"
    )


def test_examples_pass_the_loader() -> None:
    keys = [c.key for c in load_campaigns(REPO / "campaigns", REPO)]
    assert keys == ["hr/onboarding", "ops/warehouse-safety", "product/pricing-feedback"]


def test_independent_validator_rejects_what_the_loader_rejects() -> None:
    schema = campaign_json_schema()
    for bad in (
        {"goal": "no name"},
        {"name": "A", "goals": "typo"},
        {"name": "A", "topics": [{"nmae": "x"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_the_defaults_schema_makes_every_field_optional_and_refuses_name() -> None:
    schema = defaults_json_schema()
    assert "required" not in schema
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == (
        set(campaign_json_schema()["properties"]) - {"name", "interview_id"}
    )
    with pytest.raises(jsonschema.ValidationError, match="'name' was unexpected"):
        jsonschema.validate({"name": "Everyone"}, schema)
    overrides = schema["$defs"]["DefaultsOverlay"]["properties"]
    assert "name" not in overrides
    assert "skip" in overrides


def test_the_example_defaults_pass_an_independent_validator() -> None:
    path = REPO / "campaigns" / "_defaults.yaml"
    jsonschema.validate(as_json(YAML(typ="safe").load(path.read_text())), defaults_json_schema())
    first_line = path.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schemas/defaults.schema.json"


@pytest.mark.parametrize("kind", ["state", "plan"])
def test_committed_state_and_plan_schemas_are_what_the_code_generates(kind: str) -> None:
    generate = {"state": state_json_schema, "plan": plan_json_schema}[kind]
    committed = json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text())
    assert committed == generate(), (
        f"schemas/{kind}.schema.json is stale: run "
        f"`campaignsync schema {kind} > schemas/{kind}.schema.json`"
    )
