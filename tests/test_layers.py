"""Folder defaults and environment overrides: what a campaign inherits, and where each
problem of an inherited value is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaignsync.campaign import CampaignFile
from campaignsync.errors import ConfigError, ValidationFailed
from campaignsync.loader import load_campaigns, validate_campaigns
from campaignsync.state import Entry
from tests.conftest import WriteCampaign

ENVIRONMENTS = ("staging", "production")


def load(project: Path, **options: object) -> dict[str, CampaignFile]:
    loaded = load_campaigns(project / "campaigns", project, **options)  # type: ignore[arg-type]
    return {campaign.key: campaign for campaign in loaded}


def problems(project: Path, **options: object) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load(project, **options)
    return [str(problem) for problem in caught.value.problems]


class TestFolderDefaults:
    def test_nearer_defaults_win_and_the_campaign_wins_over_both(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(
            "_defaults.yaml",
            "channel: google_meet\ngoal: Learn\ntopics: [{name: A}, {name: B}]\n",
        )
        write_campaign("hr/_defaults.yml", "goal: Onboard well\ntopics: [{name: C}]\n")
        write_campaign("hr/team/a.yaml", "name: A\nchannel: phone\n")
        write_campaign("top.yaml", "name: Top\n")
        loaded = load(project)
        assert loaded["hr/team/a"].managed == {
            "name": "A",
            "channel": "phone",
            "goal": "Onboard well",
            "topics": [{"name": "C"}],  # a whole list replaced, never merged
        }
        assert loaded["top"].managed["topics"] == [{"name": "A"}, {"name": "B"}]
        assert sorted(loaded) == ["hr/team/a", "top"]  # a defaults file is no campaign

    def test_the_campaign_records_what_it_inherited_and_from_where(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "channel: google_meet\ngoal: Learn\n")
        write_campaign("hr/_defaults.yaml", "goal: Onboard well\n")
        write_campaign("hr/a.yaml", "name: A\n")
        assert load(project)["hr/a"].inherited == {
            "channel": "campaigns/_defaults.yaml",
            "goal": "campaigns/hr/_defaults.yaml",
        }

    def test_contacts_file_is_relative_to_the_defaults_file(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("hr/_defaults.yaml", "contacts_file: people.csv\n")
        (project / "campaigns/hr/people.csv").write_text("name,email\nAnn,ann@example.org\n")
        write_campaign("hr/team/a.yaml", "name: A\n")
        (campaign,) = load(project).values()
        assert campaign.managed["contacts"] == [{"name": "Ann", "email": "ann@example.org"}]
        assert campaign.contacts_file == "../people.csv"

    def test_a_contacts_file_outside_the_repository_is_refused_in_a_defaults_file(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "contacts_file: ../../people.csv\n")
        write_campaign("a.yaml", "name: A\n")
        write_campaign("b.yaml", "name: B\n")
        (found,) = problems(project)
        assert found.startswith("campaigns/_defaults.yaml:1:16: contacts_file: ")
        assert "resolves outside the repository" in found

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                "name: Everyone\n",
                "campaigns/_defaults.yaml:1:1: name belongs to one campaign, so a defaults file "
                "cannot set it; move it into the campaign files",
            ),
            (
                "goal: x\ninterview_id: 0b7e7a4c-1f5e-4a52-9d0b-5c3a2e9f8d10\n",
                "campaigns/_defaults.yaml:2:1: interview_id belongs to one campaign, so a "
                "defaults file cannot set it; move it into the campaign files",
            ),
        ],
    )
    def test_what_belongs_to_one_campaign_is_refused_in_a_defaults_file(
        self, project: Path, write_campaign: WriteCampaign, text: str, expected: str
    ) -> None:
        write_campaign("_defaults.yaml", text)
        write_campaign("a.yaml", "name: A\n")
        assert problems(project) == [expected]

    def test_a_bad_inherited_value_is_told_once_in_the_defaults_file(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "goal: x\ninterview_duration_minutes: -5\ngoals: y\n")
        for key in ("a", "b", "hr/c"):
            write_campaign(f"{key}.yaml", f"name: {key}\n")
        assert problems(project) == [
            "campaigns/_defaults.yaml:2:29: interview_duration_minutes: must be 0 or more, got -5",
            "campaigns/_defaults.yaml:3:1: unknown field 'goals'; did you mean 'goal'?",
        ]

    def test_a_value_the_campaign_overrides_is_still_checked_in_the_defaults(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "channel: 3\n")
        write_campaign("a.yaml", "name: A\nchannel: phone\n")
        (found,) = problems(project)
        assert found.startswith("campaigns/_defaults.yaml:1:10: channel: expected a string")

    def test_a_rule_broken_by_the_combination_is_told_in_the_campaign_file(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "questions:\n  - {text: Why?, topic: Pay}\n")
        write_campaign("a.yaml", "name: A\ntopics: [{name: Pay}]\n")
        write_campaign("b.yaml", "name: B\ntopics: [{name: Tools}]\n")
        assert problems(project) == [
            "campaigns/b.yaml:1:1: questions[0].topic: topic 'Pay' is not one of the "
            "campaign's topics ('Tools') (questions comes from campaigns/_defaults.yaml)"
        ]

    def test_a_rule_a_defaults_file_breaks_alone_is_told_there_once(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "topics:\n  - name: T\n  - name: T\n")
        write_campaign("a.yaml", "name: A\n")
        write_campaign("b.yaml", "name: B\n")
        assert problems(project) == [
            "campaigns/_defaults.yaml:3:11: topics[1].name: duplicate topic name 'T'"
        ]

    def test_the_campaigns_own_problems_are_still_told_at_its_lines(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "channel: google_meet\n")
        write_campaign("a.yaml", "channel: phone\nquick_mode_hours: -1\n")
        assert problems(project) == [
            "campaigns/a.yaml:1:1: missing required field 'name'",
            "campaigns/a.yaml:2:19: quick_mode_hours: must be 0 or more, got -1",
        ]

    def test_two_defaults_files_in_one_folder_are_a_problem(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "goal: a\n")
        write_campaign("_defaults.yml", "goal: b\n")
        write_campaign("a.yaml", "name: A\n")
        assert problems(project) == [
            "campaigns/_defaults.yml: a folder has one defaults file, and "
            "campaigns/_defaults.yaml is already this folder's; merge the two into one"
        ]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", None),
            ("- a\n", "campaigns/_defaults.yaml:1:1: a defaults file must be a mapping of fields"),
            ("goal: [\n", "campaigns/_defaults.yaml:2:1: YAML syntax"),
        ],
    )
    def test_an_empty_defaults_file_sets_nothing_and_a_broken_one_is_a_problem(
        self, project: Path, write_campaign: WriteCampaign, text: str, expected: str | None
    ) -> None:
        write_campaign("_defaults.yaml", text)
        write_campaign("a.yaml", "name: A\n")
        if expected is None:
            assert load(project)["a"].managed == {"name": "A"}
        else:
            (found,) = problems(project)
            assert found.startswith(expected)


class TestUnchangedFastPath:
    """A recorded digest covers the defaults a campaign inherits: their edit is never skipped."""

    @staticmethod
    def applied(loaded: dict[str, CampaignFile]) -> dict[str, Entry]:
        # A marker value no parse could produce shows when the recorded fields were used.
        return {
            key: Entry(
                interview_id="11111111-1111-4111-8111-111111111111",
                last_applied={"name": "as recorded"},
                source_digest=campaign.source_digest,
                contacts_file=campaign.contacts_file,
            )
            for key, campaign in loaded.items()
        }

    def test_a_defaults_edit_reloads_every_campaign_below_it_and_only_those(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "channel: google_meet\n")
        write_campaign("hr/_defaults.yaml", "goal: Onboard\n")
        for key in ("hr/a", "hr/team/b", "ops/c"):
            write_campaign(f"{key}.yaml", f"name: {key}\n")
        applied = self.applied(load(project))
        unchanged = load(project, applied=applied)
        assert {key: c.managed["name"] for key, c in unchanged.items()} == {
            "hr/a": "as recorded",
            "hr/team/b": "as recorded",
            "ops/c": "as recorded",
        }
        write_campaign("hr/_defaults.yaml", "goal: Onboard well\n")
        edited = load(project, applied=applied)
        assert edited["hr/a"].managed["goal"] == "Onboard well"
        assert edited["hr/team/b"].managed["goal"] == "Onboard well"
        assert edited["ops/c"].managed == {"name": "as recorded"}

    def test_a_new_defaults_file_reloads_the_campaigns_below_it(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("hr/a.yaml", "name: A\n")
        applied = self.applied(load(project))
        write_campaign("_defaults.yaml", "channel: phone\n")
        assert load(project, applied=applied)["hr/a"].managed["channel"] == "phone"

    def test_a_csv_named_by_defaults_is_covered(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "contacts_file: people.csv\n")
        csv = project / "campaigns/people.csv"
        csv.write_text("name\nAnn\n")
        write_campaign("hr/a.yaml", "name: A\n")
        applied = self.applied(load(project))
        assert load(project, applied=applied)["hr/a"].managed == {"name": "as recorded"}
        csv.write_text("name\nBob\n")
        assert load(project, applied=applied)["hr/a"].managed["contacts"] == [{"name": "Bob"}]

    def test_another_environment_is_not_the_recorded_one(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\nenvironments: {staging: {goal: Try}}\n")
        options = {"environments": ENVIRONMENTS}
        applied = self.applied(load(project, environment="production", **options))
        again = load(project, applied=applied, environment="production", **options)
        assert again["a"].managed == {"name": "as recorded"}
        staging = load(project, applied=applied, environment="staging", **options)
        assert staging["a"].managed == {"name": "A", "goal": "Try"}


class TestEnvironments:
    def test_overrides_apply_on_top_for_that_environment_only(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(
            "_defaults.yaml",
            "goal: Learn\nenvironments:\n  staging: {goal: Try, channel: phone}\n",
        )
        write_campaign(
            "a.yaml", "name: A\nchannel: google_meet\nenvironments:\n  staging: {name: A (test)}\n"
        )
        base = load(project, environments=ENVIRONMENTS)["a"].managed
        assert base == {"name": "A", "goal": "Learn", "channel": "google_meet"}
        staging = load(project, environment="staging", environments=ENVIRONMENTS)["a"]
        # An environment's block wins over the files it sits beside.
        assert staging.managed == {"name": "A (test)", "goal": "Try", "channel": "phone"}
        assert staging.inherited == {
            "goal": "campaigns/_defaults.yaml",
            "channel": "campaigns/_defaults.yaml",
        }

    def test_skip_leaves_a_campaign_out_of_one_environment(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("hr/_defaults.yaml", "environments: {staging: {skip: true}}\n")
        write_campaign("hr/a.yaml", "name: A\n")
        write_campaign("hr/b.yaml", "name: B\nenvironments: {staging: {skip: false}}\n")
        write_campaign("c.yaml", "name: C\n")
        staging = load(project, environment="staging", environments=ENVIRONMENTS)
        assert sorted(staging) == ["c", "hr/b"]
        production = load(project, environment="production", environments=ENVIRONMENTS)
        assert sorted(production) == ["c", "hr/a", "hr/b"]

    def test_an_undeclared_environment_is_a_problem_listing_the_declared_ones(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "environments: {prod: {goal: x}}\n")
        write_campaign("a.yaml", "name: A\nenvironments:\n  stagin: {goal: y}\n")
        assert problems(project, environments=ENVIRONMENTS) == [
            "campaigns/_defaults.yaml:1:16: environments: 'prod' is not an environment declared "
            "in campaignsync.yaml (staging, production); fix the name, or declare it under "
            "environments: there",
            "campaigns/a.yaml:3:3: environments: 'stagin' is not an environment declared in "
            "campaignsync.yaml (staging, production); fix the name, or declare it under "
            "environments: there",
        ]
        (found,) = problems(project, environments=())[1:]
        assert "(it declares none)" in found

    def test_a_bad_override_points_into_its_block(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(
            "a.yaml",
            "name: A\nenvironments:\n  staging:\n    skip: yes\n    quick_mode_hours: -1\n",
        )
        assert problems(project, environment="staging", environments=ENVIRONMENTS) == [
            "campaigns/a.yaml:4:11: environments.staging.skip: expected a boolean (true or "
            "false), got the string 'yes'",
            "campaigns/a.yaml:5:23: environments.staging.quick_mode_hours: must be 0 or more, "
            "got -1",
        ]

    def test_validate_checks_the_base_and_every_environment(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("_defaults.yaml", "topics: [{name: Pay}]\n")
        write_campaign(
            "a.yaml",
            "name: A\nenvironments:\n  production:\n    questions: [{text: Why?, topic: Tools}]\n",
        )
        staging = validate_campaigns(
            project / "campaigns", project, environment="staging", environments=ENVIRONMENTS
        )
        assert [c.key for c in staging] == ["a"]
        with pytest.raises(ValidationFailed) as caught:
            validate_campaigns(project / "campaigns", project, environments=ENVIRONMENTS)
        assert [str(problem) for problem in caught.value.problems] == [
            "campaigns/a.yaml:4:37: environments.production.questions[0].topic: topic 'Tools' "
            "is not one of the campaign's topics ('Pay')"
        ]

    def test_selecting_an_undeclared_environment_is_a_config_error(self, project: Path) -> None:
        with pytest.raises(ConfigError, match="'qa' is not declared"):
            load(project, environment="qa", environments=ENVIRONMENTS)
