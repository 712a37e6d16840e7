"""The loader: discovery, keys, parsing, every rule and where each problem is reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from campaignsync import __version__
from campaignsync.campaign import CampaignFile, source_digest
from campaignsync.errors import ConfigError, Problem, ValidationFailed
from campaignsync.loader import load_campaigns
from campaignsync.state import Entry
from tests.conftest import WriteCampaign


def load(project: Path) -> list[CampaignFile]:
    return load_campaigns(project / "campaigns", project)


def problems(project: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load(project)
    return [str(problem) for problem in caught.value.problems]


def test_keys_are_relative_paths_without_extension(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("hr/onboarding.yaml", "name: Onboarding\n")
    write_campaign("top.yml", "name: Top\n")
    write_campaign(".hidden.yaml", "not: loaded\n")
    write_campaign("notes.txt", "ignored")
    assert [c.key for c in load(project)] == ["hr/onboarding", "top"]


def test_same_key_from_yaml_and_yml_is_refused(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", "name: A\n")
    write_campaign("a.yml", "name: A again\n")
    assert problems(project) == [
        "campaigns/a.yml: campaign key 'a' is already taken by campaigns/a.yaml; "
        "rename one of the files"
    ]


def test_missing_folder_is_a_config_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_campaigns(project / "nowhere", project)


def test_managed_fields_are_exactly_what_the_file_sets(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign(
        "a.yaml",
        """
        name: A
        description: null
        timeframe_start: 2027-01-01T09:00:00+01:00
        topics:
          - name: T
        contacts:
          - name: Ann
            email: Ann@Example.org
        """,
    )
    (campaign,) = load(project)
    assert campaign.managed == {
        "name": "A",
        "description": None,
        "timeframe_start": "2027-01-01T08:00:00Z",
        "topics": [{"name": "T"}],
        "contacts": [{"name": "Ann", "email": "Ann@Example.org"}],
    }


def test_anchors_aliases_and_merge_keys_work(project: Path, write_campaign: WriteCampaign) -> None:
    write_campaign(
        "a.yaml",
        """
        name: A
        topics:
          - &base {name: One, priority: 1, success_threshold: 0.5}
          - <<: *base
            name: Two
        """,
    )
    (campaign,) = load(project)
    assert campaign.managed["topics"] == [
        {"name": "One", "priority": 1, "success_threshold": 0.5},
        {"name": "Two", "priority": 1, "success_threshold": 0.5},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("goals: x\nname: A\n", "1:1: unknown field 'goals'; did you mean 'goal'?"),
        ("name: A\nzzz: 1\n", "2:1: unknown field 'zzz'"),
        ("goal: x\n", "1:1: missing required field 'name'"),
        (
            "name: A\nstart_immediately: yes\n",
            "2:20: start_immediately: expected a boolean (true or false), got the string 'yes'",
        ),
        (
            "name: A\ninterview_duration_minutes: thirty\n",
            "2:29: interview_duration_minutes: expected an integer, got the string 'thirty'",
        ),
        (
            "name: A\ninterview_duration_minutes: 30.5\n",
            "2:29: interview_duration_minutes: expected an integer, got the number 30.5",
        ),
        (
            "name: A\nquick_mode_hours: -1\n",
            "2:19: quick_mode_hours: must be 0 or more, got -1",
        ),
        (
            "name: 42\n",
            "1:7: name: expected a string, got the integer 42; put it in quotes to make it text",
        ),
        (
            "name: A\ntimeframe_start: 2027-01-01T09:00:00\n",
            "2:18: timeframe_start: the date-time needs a time zone, "
            "like 2026-03-01T09:00:00Z or +01:00",
        ),
        (
            "name: A\ntimeframe_start: 1700000000\n",
            "2:18: timeframe_start: expected a date-time with a time zone, "
            "like 2026-03-01T09:00:00Z",
        ),
        (
            "name: A\ntimeframe_start: 2027-02-01T00:00:00Z\ntimeframe_end: 2027-01-01T00:00:00Z\n",
            "3:16: timeframe_end: timeframe_end must be after timeframe_start",
        ),
        (
            "name: A\nproject_id: not-a-uuid\n",
            "2:13: project_id: 'not-a-uuid' is not a UUID",
        ),
        (
            "name: A\ntimezone: Mars/Olympus\n",
            "2:11: timezone: 'Mars/Olympus' is not a known time zone, like Europe/Berlin",
        ),
        (
            "name: A\nfollowup_intervals_hours: [24, -2]\n",
            "2:32: followup_intervals_hours[1]: must be 0 or more, got -2",
        ),
        (
            "name: A\nfollowup_deadline_days: [-1]\n",
            "2:26: followup_deadline_days[0]: must be 0 or more, got -1",
        ),
        (
            "name: A\ntopics:\n  - name: T\n    success_threshold: 1.5\n",
            "4:24: topics[0].success_threshold: must be 1.0 or less, got 1.5",
        ),
        (
            "name: A\ntopics:\n  - name: T\n  - name: T\n",
            "4:11: topics[1].name: duplicate topic name 'T'",
        ),
        (
            "name: A\ntopics:\n  - name: T\n    nmae: U\n",
            "4:5: topics[0]: unknown field 'nmae'; did you mean 'name'?",
        ),
        (
            "name: A\ntopics: [{name: T}]\nquestions:\n  - text: Why?\n    topic: U\n",
            "5:12: questions[0].topic: topic 'U' is not one of the campaign's topics ('T')",
        ),
        (
            "name: A\nquestions:\n  - text: Why?\n  - text: Why?\n",
            "4:11: questions[1].text: duplicate question text 'Why?'",
        ),
        (
            "name: A\ntopics: [{name: T}]\nquestions:\n  - topic: T\n",
            "4:5: questions[0]: missing required field 'text'",
        ),
        (
            "name: A\ncontacts:\n  - {name: B}\n  - {name: C, email: nope}\n",
            "4:22: contacts[1].email: 'nope' is not a well-formed email address",
        ),
        (
            "name: A\ncontacts:\n  - {name: B, email: b@x.org}\n  - {name: C, email: B@X.org}\n",
            "4:22: contacts[1].email: duplicate contact email 'B@X.org' (emails ignore case)",
        ),
        (
            "name: A\ncontacts:\n  - {name: B, phone: '1'}\n  - {name: B, phone: '1'}\n",
            "4:12: contacts[1].name: duplicate contact 'B' with the same phone and no email",
        ),
        (
            "name: A\ncontacts:\n  - {name: B, is_required: maybe}\n",
            "3:28: contacts[0].is_required: expected a boolean (true or false), "
            "got the string 'maybe'",
        ),
        ("name:\tA\ngoals:\tx\n", "2:1: unknown field 'goals'; did you mean 'goal'?"),
        ("name: A\nname: B\n", "2:1: duplicate key 'name': each field may appear only once"),
        (
            "name: [A\n",
            "2:1: YAML syntax: did not find expected ',' or ']' "
            "while parsing a flow sequence at line 1, column 7",
        ),
        ("", "1:1: the file is empty; a campaign needs at least a name"),
        (
            "name: A\ntimeframe_start: 2027-02-31\n",
            "2:18: timeframe_start: '2027-02-31' is not a date-time: "
            "day value is outside expected range",
        ),
        ("- name: A\n", "1:1: a campaign file must be a mapping of fields, not a list"),
        ("just text\n", "1:1: a campaign file must be a mapping of fields, not the string"),
    ],
)
def test_each_problem_is_reported_at_its_node(
    project: Path, write_campaign: WriteCampaign, text: str, expected: str
) -> None:
    write_campaign("c.yaml", text)
    (found,) = problems(project)
    assert found.startswith(f"campaigns/c.yaml:{expected}")


def test_every_problem_in_every_file_is_reported_at_once(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", "name: A\ngoals: x\nchannel: 3\n")
    write_campaign("b/c.yaml", "topics: [{name: T}, {name: T}]\n")
    assert problems(project) == [
        "campaigns/a.yaml:2:1: unknown field 'goals'; did you mean 'goal'?",
        "campaigns/a.yaml:3:10: channel: expected a string, got the integer 3; "
        "put it in quotes to make it text",
        "campaigns/b/c.yaml:1:1: missing required field 'name'",
        "campaigns/b/c.yaml:1:28: topics[1].name: duplicate topic name 'T'",
    ]


def test_binary_and_oversized_files_are_refused_without_parsing(
    project: Path, write_campaign: WriteCampaign
) -> None:
    (project / "campaigns" / "junk.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (project / "campaigns" / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    big = project / "campaigns" / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    assert problems(project) == [
        "campaigns/big.yaml: the file is 50.0 MiB, over the 10 MiB limit for one file; "
        "split it into several files",
        "campaigns/junk.yaml: the file is binary (it holds NUL bytes), not text",
        "campaigns/latin1.yaml:1: the file is not UTF-8 text",
    ]


def test_the_same_interview_id_cannot_be_adopted_twice(
    project: Path, write_campaign: WriteCampaign
) -> None:
    uuid = "0b7e7a4c-1f5e-4a52-9d0b-5c3a2e9f8d10"
    write_campaign("a.yaml", f"name: A\ninterview_id: {uuid}\n")
    write_campaign("b.yaml", f"name: B\ninterview_id: {uuid.upper()}\n")
    assert problems(project) == [
        f"campaigns/b.yaml:2:15: interview_id: campaign {uuid} is already adopted by 'a'; "
        "one campaign can have one file"
    ]


class TestContactsFile:
    def test_csv_contacts_merge_after_inline_ones(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(
            "hr/a.yaml", "name: A\ncontacts: [{name: Inline}]\ncontacts_file: people.csv\n"
        )
        (project / "campaigns/hr/people.csv").write_text(
            "name,email,seniority_level,is_required\nAnn,ann@example.org,2,true\n\nBob,,,\n"
        )
        (campaign,) = load(project)
        assert campaign.managed["contacts"] == [
            {"name": "Inline"},
            {"name": "Ann", "email": "ann@example.org", "seniority_level": 2, "is_required": True},
            {"name": "Bob"},
        ]

    def test_csv_problems_point_at_csv_lines(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(
            "a.yaml",
            "name: A\ncontacts: [{name: X, email: ann@example.org}]\ncontacts_file: people.csv\n",
        )
        (project / "campaigns/people.csv").write_text(
            "name,email,seniority_level,is_required\n"
            "Ann,ANN@example.org,,\n"
            "Bob,bob@,,\n"
            "Cy,,two,\n"
            "Di,,,perhaps\n"
            ",di@example.org,,\n"
            "Ed,,\n"
        )
        assert problems(project) == [
            "campaigns/people.csv:2: email: duplicate contact email 'ANN@example.org' "
            "(emails ignore case)",
            "campaigns/people.csv:3: email: 'bob@' is not a well-formed email address",
            "campaigns/people.csv:4: seniority_level: 'two' is not an integer",
            "campaigns/people.csv:5: is_required: 'perhaps' is not true or false",
            "campaigns/people.csv:6: missing required field 'name'",
            "campaigns/people.csv:7: expected 4 cells, found 3",
        ]

    def test_unknown_csv_column_gets_a_suggestion(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        (project / "campaigns/people.csv").write_text("name,emial\nAnn,a@b.org\n")
        assert problems(project) == [
            "campaigns/people.csv:1: unknown field 'emial'; did you mean 'email'?"
        ]

    def test_a_path_outside_the_repository_is_refused_unread(
        self, project: Path, write_campaign: WriteCampaign, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        secret = tmp_path_factory.mktemp("outside") / "secret.csv"
        secret.write_text("name\nnot to be read\n")
        relative = Path("..") / ".." / secret.relative_to(project.parent.parent)
        write_campaign("a.yaml", f"name: A\ncontacts_file: {relative.as_posix()}\n")
        (found,) = problems(project)
        assert found.startswith("campaigns/a.yaml:2:16: contacts_file: ")
        assert "resolves outside the repository" in found

    def test_a_nul_character_in_the_path_is_a_problem_not_a_crash(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", 'name: A\ncontacts_file: "people\\0.csv"\n')
        assert problems(project) == [
            "campaigns/a.yaml:2:16: contacts_file: campaigns/people\\x00.csv cannot be read: "
            "its name holds a NUL character"
        ]

    def test_a_missing_csv_is_reported_at_the_field(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: nobody.csv\n")
        assert problems(project) == [
            "campaigns/a.yaml:2:16: contacts_file: campaigns/nobody.csv does not exist"
        ]


def test_source_digest_follows_the_yaml_and_the_csv(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", "name: A\ncontacts_file: p.csv\n")
    csv = project / "campaigns/p.csv"
    csv.write_text("name\nAnn\n")
    first = load(project)[0].source_digest
    assert load(project)[0].source_digest == first
    csv.write_text("name\nBob\n")
    assert load(project)[0].source_digest != first


def test_problem_without_position_prints_path_only() -> None:
    assert str(Problem("a.yaml", None, None, "boom")) == "a.yaml: boom"
    assert str(Problem("a.csv", 3, None, "boom")) == "a.csv:3: boom"


class TestUnchangedSinceApplied:
    """A file whose bytes hash to the recorded digest is taken as last applied, unparsed."""

    @staticmethod
    def record(campaign: CampaignFile, last_applied: dict[str, object]) -> Entry:
        return Entry(
            interview_id="11111111-1111-4111-8111-111111111111",
            last_applied=last_applied,
            source_digest=campaign.source_digest,
            contacts_file=campaign.contacts_file,
        )

    def test_same_bytes_are_not_parsed_again(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: p.csv\n")
        (project / "campaigns/p.csv").write_text("name\nAnn\n")
        (first,) = load(project)
        # A marker value no parse could produce shows the recorded fields were used.
        applied = {"a": self.record(first, {"name": "as recorded"})}
        (again,) = load_campaigns(project / "campaigns", project, applied=applied)
        assert again.managed == {"name": "as recorded"}
        assert again.source_digest == first.source_digest

    @pytest.mark.parametrize("edit", ["yaml", "csv"])
    def test_any_changed_byte_means_a_full_load(
        self, project: Path, write_campaign: WriteCampaign, edit: str
    ) -> None:
        path = write_campaign("a.yaml", "name: A\ncontacts_file: p.csv\n")
        csv = project / "campaigns/p.csv"
        csv.write_text("name\nAnn\n")
        (first,) = load(project)
        applied = {"a": self.record(first, {"name": "as recorded"})}
        if edit == "yaml":
            path.write_text("name: A \ncontacts_file: p.csv\n")
        else:
            csv.write_text("name\nAnn\nBob\n")
        (again,) = load_campaigns(project / "campaigns", project, applied=applied)
        assert again.managed["name"] == "A"

    def test_a_new_version_of_campaignsync_invalidates_every_digest(self) -> None:
        now = source_digest(b"name: A\n")
        assert source_digest(b"name: A\n", version=__version__) == now
        assert source_digest(b"name: A\n", version="999.0.0") != now

    def test_a_digest_of_another_version_means_a_full_load(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\n")
        (first,) = load(project)
        older = source_digest(b"name: A\n", version="0.0.1")
        record = Entry(
            interview_id="11111111-1111-4111-8111-111111111111",
            last_applied={"name": "as recorded"},
            source_digest=older,
        )
        (again,) = load_campaigns(project / "campaigns", project, applied={"a": record})
        assert again.managed == {"name": "A"}
        assert again.source_digest == first.source_digest != older


class TestFilesThatAreNotWhatTheySeem:
    """Links, devices, FIFOs and oversized files are refused before a byte is read."""

    def test_a_link_to_a_file_outside_the_repository_is_refused_unread(
        self, project: Path, write_campaign: WriteCampaign, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        secret = tmp_path_factory.mktemp("outside") / "passwd"
        secret.write_text("root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n")
        (project / "campaigns" / "evil.yaml").symlink_to(secret)
        write_campaign("a.yaml", "name: A\n")
        (found,) = problems(project)
        assert found.startswith("campaigns/evil.yaml: ")
        assert "outside the repository" in found
        assert "SECRET-CONTENT" not in found

    def test_a_link_to_etc_passwd_never_shows_its_content(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        (project / "campaigns" / "evil.yaml").symlink_to("/etc/passwd")
        (found,) = problems(project)
        assert "outside the repository" in found
        assert ":0:0:" not in found

    def test_a_link_inside_the_repository_to_a_regular_file_is_read(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        (project / "shared").mkdir()
        (project / "shared" / "real.yaml").write_text("name: Shared\n")
        (project / "campaigns" / "linked.yaml").symlink_to(project / "shared" / "real.yaml")
        assert [c.managed["name"] for c in load(project)] == ["Shared"]

    @pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
    def test_a_link_to_a_device_is_refused_unread(
        self, project: Path, device: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (project / "campaigns" / "dev.yaml").symlink_to(device)
        # Even with the repository boundary at /, a device is not a campaign file.
        (found,) = [str(p) for p in _problems_with_root(project, Path("/"))]
        assert found == (
            "campaigns/dev.yaml: the file is a character device, not a regular file; "
            "a campaign file must be a plain file"
        )

    def test_a_fifo_is_refused_unread(self, project: Path) -> None:
        os.mkfifo(project / "campaigns" / "pipe.yaml")
        assert problems(project) == [
            "campaigns/pipe.yaml: the file is a FIFO (named pipe), not a regular file; "
            "a campaign file must be a plain file"
        ]

    def test_a_fifo_as_contacts_file_is_refused_unread(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        os.mkfifo(project / "campaigns" / "people.csv")
        assert problems(project) == [
            "campaigns/a.yaml:2:16: contacts_file: campaigns/people.csv is a FIFO (named pipe), "
            "not a regular file; a contacts file must be a plain file"
        ]

    def test_a_folder_as_contacts_file_is_refused(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: .\n")
        assert problems(project) == [
            "campaigns/a.yaml:2:16: contacts_file: campaigns is a folder, not a regular file; "
            "a contacts file must be a plain file"
        ]

    @pytest.mark.parametrize("through_a_link", [False, True])
    def test_a_contacts_file_in_the_git_folder_is_refused_unread(
        self, project: Path, write_campaign: WriteCampaign, through_a_link: bool
    ) -> None:
        # git's own files are not campaigns; a checkout may keep its token in .git/config.
        git = project / ".git"
        git.mkdir(exist_ok=True)
        (git / "config").write_text("extraheader = AUTHORIZATION: basic SECRET-TOKEN\n")
        target = "../.git/config"
        if through_a_link:
            (project / "campaigns" / "people.csv").symlink_to(git / "config")
            target = "people.csv"
        write_campaign("a.yaml", f"name: A\ncontacts_file: {target}\n")
        (found,) = problems(project)
        assert ".git folder" in found
        assert "SECRET" not in found

    def test_a_link_to_a_csv_outside_is_refused_unread(
        self, project: Path, write_campaign: WriteCampaign, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        secret = tmp_path_factory.mktemp("outside") / "secret.csv"
        secret.write_text("name\nSECRET-PERSON\n")
        (project / "campaigns" / "people.csv").symlink_to(secret)
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        (found,) = problems(project)
        assert "resolves outside the repository" in found
        assert "SECRET" not in found

    def test_oversized_files_are_refused_by_the_10_mib_cap(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        big = project / "campaigns" / "big.yaml"
        with big.open("wb") as handle:
            handle.truncate(10 * 1024 * 1024 + 1)
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        with (project / "campaigns" / "people.csv").open("wb") as handle:
            handle.truncate(11 * 1024 * 1024)
        assert problems(project) == [
            "campaigns/a.yaml:2:16: contacts_file: campaigns/people.csv is 11.0 MiB, over the "
            "10 MiB limit for one file; split it into several files",
            "campaigns/big.yaml: the file is 10.0 MiB, over the 10 MiB limit for one file; "
            "split it into several files",
        ]

    def test_an_unchanged_file_that_became_a_device_is_refused(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        # A state record makes the loader look for an unchanged file first: that look must
        # not read a device either.
        record = Entry(
            interview_id="0b7e7a4c-1f5e-4a52-9d0b-5c3a2e9f8d10",
            last_applied={"name": "A"},
            source_digest="0" * 64,
            contacts_file="people.csv",
        )
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        (project / "campaigns" / "people.csv").symlink_to("/dev/zero")
        with pytest.raises(ValidationFailed) as caught:
            load_campaigns(project / "campaigns", Path("/"), applied={"a": record})
        (found,) = caught.value.problems
        assert "character device" in found.message


def _problems_with_root(project: Path, root: Path) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        load_campaigns(project / "campaigns", root)
    return caught.value.problems


class TestKeysAndDiscovery:
    """Keys use a safe character set; nothing that looks like a campaign is skipped silently."""

    @pytest.mark.parametrize(
        ("name", "shown"),
        [
            ("evil\nname.yaml", "evil\\nname"),
            ("tab\there.yaml", "tab\\there"),
            ("esc\x1b[31m.yaml", "esc\\x1b[31m"),
            ("rtl\u202eoverride.yaml", "rtl\\u202eoverride"),
        ],
    )
    def test_a_control_character_in_a_file_name_is_an_error_shown_escaped(
        self, project: Path, write_campaign: WriteCampaign, name: str, shown: str
    ) -> None:
        write_campaign(name, "name: Forged\n")
        write_campaign("fine.yaml", "name: Fine\n")
        (found,) = problems(project)
        assert found.startswith(f"campaigns/{shown}.yaml: this file's name gives the campaign key")
        assert "\n" not in found
        assert "\x1b" not in found
        assert "\u202e" not in found
        assert found.endswith("rename the file")

    def test_a_space_or_other_punctuation_in_a_key_is_refused(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("team a/b c.yaml", "name: A\n")
        (found,) = problems(project)
        assert found == (
            "campaigns/team a/b c.yaml: this file's name gives the campaign key 'team a/b c': "
            "a campaign key holds only ASCII letters, digits, '-', '_' and '.', with '/' "
            "between parts; rename the file"
        )

    def test_safe_keys_load(self, project: Path, write_campaign: WriteCampaign) -> None:
        write_campaign("Team_1/q3-2027.v2.yaml", "name: A\n")
        assert [c.key for c in load(project)] == ["Team_1/q3-2027.v2"]

    def test_other_case_suffixes_are_problems_not_skipped(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("Survey.YAML", "name: A\n")
        write_campaign("b.Yml", "name: B\n")
        assert problems(project) == [
            "campaigns/Survey.YAML: the suffix '.YAML' is not lower case, so this file would be "
            "left out; rename it to end in '.yaml' (only .yaml and .yml files are campaigns)",
            "campaigns/b.Yml: the suffix '.Yml' is not lower case, so this file would be left "
            "out; rename it to end in '.yml' (only .yaml and .yml files are campaigns)",
        ]

    def test_a_linked_folder_is_a_problem_not_skipped(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("hr/a.yaml", "name: A\n")
        (project / "campaigns" / "mirror").symlink_to(project / "campaigns" / "hr")
        assert problems(project) == [
            "campaigns/mirror: is a link to a folder, and linked folders are not followed (their "
            "campaigns would have a second key, or lie outside the repository); move the folder "
            "here instead"
        ]

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
    def test_an_unreadable_folder_is_a_problem_not_skipped(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("locked/a.yaml", "name: A\n")
        locked = project / "campaigns" / "locked"
        locked.chmod(0)
        try:
            (found,) = problems(project)
        finally:
            locked.chmod(0o755)
        assert found.startswith("campaigns/locked: cannot read this folder (Permission denied)")

    def test_hidden_yaml_files_are_skipped_with_a_warning(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign(".draft.yaml", "name: Draft\n")
        write_campaign(".git/config.yaml", "not: searched\n")
        write_campaign("a.yaml", "name: A\n")
        warnings: list[Problem] = []
        loaded = load_campaigns(project / "campaigns", project, warn=warnings.append)
        assert [c.key for c in loaded] == ["a"]
        assert [str(w) for w in warnings] == [
            "campaigns/.draft.yaml: skipped: a hidden file is not a campaign; remove the "
            "leading '.' to load it"
        ]


class TestHostileValues:
    """Values a parser accepts but a campaign cannot use: one located problem each, and
    the other files are still checked."""

    def check(self, project: Path, write_campaign: WriteCampaign, text: str) -> list[str]:
        write_campaign("hostile.yaml", text)
        write_campaign("other.yaml", "name: Other\ninterview_duration_minutes: -1\n")
        found = problems(project)
        assert found[-1] == "campaigns/other.yaml:2:29: interview_duration_minutes: " + (
            "must be 0 or more, got -1"
        )
        return found[:-1]

    def test_a_folder_of_the_zone_database_is_not_a_time_zone(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        assert self.check(project, write_campaign, "name: A\ntimezone: Europe\n") == [
            "campaigns/hostile.yaml:2:11: timezone: 'Europe' is not a known time zone, like "
            "Europe/Berlin"
        ]

    def test_an_overlong_time_zone_is_not_a_time_zone(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        (found,) = self.check(project, write_campaign, f"name: A\ntimezone: {'A' * 5000}\n")
        assert found.startswith("campaigns/hostile.yaml:2:11: timezone: ")
        assert found.endswith("is not a known time zone, like Europe/Berlin")
        assert len(found) < 200

    @pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
    def test_nan_and_infinity_are_errors_everywhere(
        self, project: Path, write_campaign: WriteCampaign, value: str
    ) -> None:
        text = (
            f"name: A\nweekly_availability: {{mon: [{{start: {value}}}]}}\n"
            f"topics: [{{name: t, success_threshold: {value}}}]\n"
        )
        assert self.check(project, write_campaign, text) == [
            "campaigns/hostile.yaml:2:37: weekly_availability.mon[0].start: NaN and infinity "
            "are not numbers a campaign can use; write a finite number",
            "campaigns/hostile.yaml:3:39: topics[0].success_threshold: NaN and infinity are "
            "not numbers a campaign can use; write a finite number",
        ]

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("name: A\nweekly_availability:\n  ? [a, b]\n  : b\n", "3:5"),
            ("name: A\nweekly_availability:\n  ? {a: 1}\n  : b\n", "3:5"),
            ("name: A\n? [a]\n: b\n", "2:3"),
        ],
    )
    def test_a_list_or_mapping_as_a_key_is_one_located_error(
        self, project: Path, write_campaign: WriteCampaign, text: str, where: str
    ) -> None:
        (found,) = self.check(project, write_campaign, text)
        assert found.startswith(f"campaigns/hostile.yaml:{where}: ")
        assert "cannot be a key" in found

    def test_deeply_nested_values_are_an_error_at_their_place(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        deep = "[" * 40 + "]" * 40
        text = f"name: A\nweekly_availability: {{a: {deep}}}\n"
        assert self.check(project, write_campaign, text) == [
            "campaigns/hostile.yaml:2:22: weekly_availability: values are nested more than "
            "32 levels deep; no campaign field is that deep"
        ]

    def test_values_too_deep_to_serialise_are_an_error_not_a_crash(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        deep = "[" * 400 + "]" * 400
        text = f"name: A\nweekly_availability: {{a: {deep}}}\n"
        (found,) = self.check(project, write_campaign, text)
        assert found.startswith("campaigns/hostile.yaml")
        assert "nested" in found

    @pytest.mark.parametrize(
        "field",
        ["topics", "questions", "contacts", "followup_intervals_hours", "followup_deadline_days"],
    )
    def test_null_for_a_list_field_is_an_error(
        self, project: Path, write_campaign: WriteCampaign, field: str
    ) -> None:
        assert self.check(project, write_campaign, f"name: A\n{field}: null\n") == [
            f"campaigns/hostile.yaml:2:{len(field) + 3}: {field}: null is not a list; to clear "
            f"{field} remove the key, or write `{field}: []`"
        ]

    def test_null_for_a_scalar_field_means_clear_it(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        write_campaign("a.yaml", "name: A\ndescription: null\ngoal:\n")
        (loaded,) = load(project)
        assert loaded.managed == {"name": "A", "description": None, "goal": None}

    @pytest.mark.parametrize(
        ("cell", "shown"), [("\u00b2", "'\u00b2'"), ("9" * 5000, "'99999999999999999999…'")]
    )
    def test_csv_integers_are_ascii_digits_of_sensible_length(
        self, project: Path, write_campaign: WriteCampaign, cell: str, shown: str
    ) -> None:
        write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
        (project / "campaigns/people.csv").write_text(f"name,seniority_level\nAnn,{cell}\n")
        write_campaign("other.yaml", "name: Other\ninterview_duration_minutes: -1\n")
        assert problems(project) == [
            "campaigns/other.yaml:2:29: interview_duration_minutes: must be 0 or more, got -1",
            f"campaigns/people.csv:2: seniority_level: {shown} is not an integer",
        ]

    def test_a_number_as_a_key_is_an_error(
        self, project: Path, write_campaign: WriteCampaign
    ) -> None:
        text = "name: A\n1: x\nweekly_availability: {mon: {9: 17}}\n"
        assert self.check(project, write_campaign, text) == [
            "campaigns/hostile.yaml:1:1: a key must be text, not 1; write it in quotes: '1'",
            "campaigns/hostile.yaml:3:28: weekly_availability.mon: a key must be text, not 9; "
            "write it in quotes: '9'",
        ]


def test_a_dangling_link_is_reported_as_one(project: Path, write_campaign: WriteCampaign) -> None:
    (project / "campaigns" / "gone.yaml").symlink_to(project / "campaigns" / "nowhere.yaml")
    assert problems(project) == ["campaigns/gone.yaml: the file is a link to a missing file"]


def test_a_contacts_file_name_with_a_newline_is_shown_escaped(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", 'name: A\ncontacts_file: "forged\\nline.csv"\n')
    assert problems(project) == [
        "campaigns/a.yaml:2:16: contacts_file: campaigns/forged\\nline.csv does not exist"
    ]


def test_a_folder_too_deep_to_read_is_a_problem_not_skipped(
    project: Path, write_campaign: WriteCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past PATH_MAX no folder can be listed, even by root: the walk must say so.
    write_campaign("a.yaml", "name: A\n")
    monkeypatch.chdir(project / "campaigns")
    for _ in range(20):
        os.mkdir("d" * 250)
        os.chdir("d" * 250)
    monkeypatch.chdir(project)
    found = problems(project)
    assert found
    assert all("cannot read this folder (File name too long)" in problem for problem in found)


def test_a_binary_contacts_csv_is_not_called_yaml(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign("a.yaml", "name: A\ncontacts_file: people.csv\n")
    (project / "campaigns" / "people.csv").write_bytes(b"name,email\x00\nA,a@x.io\n")
    [found] = problems(project)
    assert found.endswith("campaigns/people.csv: the file is binary (it holds NUL bytes), not text")
