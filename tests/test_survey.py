"""The walk of the campaigns folder: which files are campaigns, which are folder defaults."""

from __future__ import annotations

from pathlib import Path

from campaignsync.filestate import write_state
from campaignsync.state import Entry, State
from campaignsync.survey import defaults_above, survey
from tests.conftest import RunCli, WriteCampaign
from tests.factories import API_URL, ID_A, WORKSPACE


def test_defaults_files_are_found_apart_from_campaigns(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("_defaults.yaml", "goal: x\n")
    write_campaign("hr/_defaults.yml", "goal: y\n")
    write_campaign("hr/team/a.yaml", "name: A\n")
    campaigns = project / "campaigns"
    found = survey(campaigns)
    assert found.paths == [campaigns / "hr/team/a.yaml"]
    assert defaults_above(campaigns, campaigns / "hr/team/a.yaml", found.defaults) == [
        campaigns / "_defaults.yaml",
        campaigns / "hr/_defaults.yml",
    ]


def test_a_key_that_names_a_defaults_file_is_refused(project: Path, run_cli: RunCli) -> None:
    # Its file, campaigns/hr/_defaults.yaml, would be the folder's defaults, not a campaign.
    path = project / "campaignsync.state.json"
    write_state(
        path,
        State(api_url=API_URL, workspace_id=WORKSPACE).with_entry("a", Entry(interview_id=ID_A)),
    )
    before = path.read_bytes()
    result = run_cli("state", "mv", "a", "hr/_defaults")
    assert result.exit_code == 1
    assert (
        "'hr/_defaults' is not a campaign key: its file, hr/_defaults.yaml, would be a "
        "folder's defaults file, not a campaign. Choose another name." in result.stderr
    )
    assert path.read_bytes() == before
