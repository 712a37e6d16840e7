"""`campaignsync plan` end to end in-process: outputs, exit codes, saved plans, no requests."""

from __future__ import annotations

import io
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from campaignsync.filestate import write_state
from campaignsync.loader import load_campaigns
from campaignsync.state import Entry, State
from campaignsync.terminal import use_colour
from tests.conftest import REPO, RunCli
from tests.factories import WORKSPACE


@pytest.fixture
def examples(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled example campaigns, with a workspace configured."""
    shutil.copytree(REPO / "campaigns", project / "campaigns", dirs_exist_ok=True)
    monkeypatch.setenv("ONTORA_WORKSPACE_ID", WORKSPACE)
    return project


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request plan might try fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        pytest.fail("plan sent a request")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)
    monkeypatch.setattr("socket.socket.connect", refuse)


def applied_state(project: Path) -> Path:
    """A state as a successful apply of the examples leaves it."""
    path = project / "campaignsync.state.json"
    current = State(api_url="https://api.ontora.com", workspace_id=WORKSPACE)
    for number, item in enumerate(load_campaigns(project / "campaigns", project)):
        entry = Entry(
            interview_id=f"00000000-0000-4000-8000-{number:012d}",
            last_applied=item.managed,
            source_digest=item.source_digest,
        )
        current = current.with_entry(item.key, entry)
    write_state(path, current)
    return path


def test_a_proof_of_full_apply_beside_no_id_or_unanswered_requests_is_not_trusted(
    examples: Path, run_cli: RunCli
) -> None:
    # A hand edit: a file "fully applied" yet without an id, or with requests unanswered.
    # The file must be read again: state keeps no contacts to send in its place.
    path = applied_state(examples)
    document = json.loads(path.read_text())
    onboarding, safety = (
        document["campaigns"][key] for key in ("hr/onboarding", "ops/warehouse-safety")
    )
    onboarding["interview_id"] = None
    safety["unconfirmed"] = {"contacts": safety["last_applied"]["contacts"]}
    path.write_text(json.dumps(document))
    result = run_cli("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    planned = {item["key"]: item for item in json.loads(result.output)["campaigns"]}
    for key in ("hr/onboarding", "ops/warehouse-safety"):
        (finalize,) = [r for r in planned[key]["requests"] if r["path"].endswith("/finalize")]
        assert all("@" in contact.get("email", "@") for contact in finalize["body"]["contacts"])
        assert all("name" in contact for contact in finalize["body"]["contacts"])


def test_first_plan_of_the_examples_creates_each(examples: Path, run_cli: RunCli) -> None:
    result = run_cli("plan")
    assert result.exit_code == 0
    assert result.output.endswith(
        "Plan: 3 to create, 0 to patch, 0 to finalize, 0 unchanged, 0 orphaned.\n"
        "Affects 8 people.\n"  # 5 contacts of hr/onboarding, 3 of ops/warehouse-safety
    )
    assert "+ hr/onboarding (campaigns/hr/onboarding.yaml)" in result.output
    assert "\x1b[" not in result.output
    assert run_cli("plan", "--detailed-exitcode").exit_code == 2
    assert not (examples / "campaignsync.state.json").exists()


def test_after_apply_the_plan_is_empty(examples: Path, run_cli: RunCli) -> None:
    applied_state(examples)
    result = run_cli("plan", "--detailed-exitcode")
    assert (result.exit_code, result.output.splitlines()[0]) == (
        0,
        "No changes. The campaign files match what was last applied; Ontora was not read "
        "(`plan --refresh` compares with it).",
    )


def test_an_edit_shows_and_exits_two(examples: Path, run_cli: RunCli) -> None:
    applied_state(examples)
    path = examples / "campaigns/product/pricing-feedback.yaml"
    path.write_text(path.read_text().replace("Learn why", "Find out why"))
    csv = examples / "campaigns/hr/onboarding-contacts.csv"
    csv.write_text(csv.read_text().replace("Data Analyst", "Senior Data Analyst"))
    result = run_cli("plan", "--detailed-exitcode")
    assert result.exit_code == 2
    assert "patch: goal changed" in result.output
    assert "finalize: contacts changed" in result.output
    assert '~ job_title: (not kept) -> "Senior Data Analyst"' in result.output


def test_formats(examples: Path, run_cli: RunCli) -> None:
    document = json.loads(run_cli("plan", "--format", "json").output)
    assert document["format_version"] == 1
    assert document["has_changes"]
    markdown = run_cli("plan", "--format", "markdown").output
    assert markdown.startswith(
        f"<!-- campaignsync-plan digest={document['digest']} overwrites=unknown -->"
    )
    assert "dana.whitfield@example.org" not in markdown
    sensitive = run_cli("plan", "--format", "markdown", "--show-sensitive").output
    assert "dana.whitfield@example.org" in sensitive


def test_out_saves_a_private_json_plan(examples: Path, run_cli: RunCli) -> None:
    applied_state(examples)
    path = examples / "campaigns/product/pricing-feedback.yaml"
    path.write_text(path.read_text() + "channel: phone\n")
    result = run_cli("plan", "--out", "plan.json")
    assert result.exit_code == 0
    assert "Saved the plan to plan.json" in result.stderr
    saved = json.loads((examples / "plan.json").read_text())
    state = json.loads((examples / "campaignsync.state.json").read_text())
    assert (saved["state_lineage"], saved["state_serial"]) == (state["lineage"], state["serial"])
    assert saved["api_url"] == "https://api.ontora.com"
    assert saved["workspace_id"] == WORKSPACE
    assert len(saved["digest"]) == 64
    assert stat.S_IMODE((examples / "plan.json").stat().st_mode) == 0o600


def test_out_never_overwrites_the_state_or_a_file_that_is_not_a_plan(
    examples: Path, run_cli: RunCli
) -> None:
    state = applied_state(examples)
    (examples / "link.json").symlink_to(state)
    (examples / "notes.json").write_text('{"mine": true}\n')
    for target in ("campaignsync.state.json", "link.json", "./campaignsync.state.json"):
        before = state.read_bytes()
        result = run_cli("plan", "--out", target)
        assert result.exit_code == 1, target
        assert "is the state file" in result.stderr
        assert "Traceback" not in result.stderr
        assert state.read_bytes() == before
    deep = "[" * 100_000 + "]" * 100_000  # not even readable as JSON
    (examples / "deep.json").write_text(deep)
    for name, text in (("notes.json", '{"mine": true}\n'), ("deep.json", deep)):
        result = run_cli("plan", "--out", name)
        assert result.exit_code == 1
        assert f"{name} exists and is not a saved campaignsync plan" in result.stderr
        assert (examples / name).read_text() == text
    # A saved plan is replaced, as is a new file.
    assert run_cli("plan", "--out", "plan.json").exit_code == 0
    assert run_cli("plan", "--out", "plan.json").exit_code == 0


def test_out_refuses_the_state_path_before_the_state_exists(
    examples: Path, run_cli: RunCli
) -> None:
    result = run_cli("plan", "--out", "campaignsync.state.json")
    assert result.exit_code == 1
    assert "is the state file" in result.stderr
    assert not (examples / "campaignsync.state.json").exists()


def test_target_limits_and_says_so(examples: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", "--target", "hr/*")
    assert "Note: partial plan (--target hr/*)" in result.output
    assert "ops/warehouse-safety" not in result.output
    missing = run_cli("plan", "--target", "nope/*")
    assert missing.exit_code == 1
    assert "No campaign key matches --target nope/*" in missing.stderr


def test_invalid_files_fail_the_plan_with_every_problem(examples: Path, run_cli: RunCli) -> None:
    (examples / "campaigns/broken.yaml").write_text("name: B\ngoals: x\n")
    result = run_cli("plan")
    assert result.exit_code == 1
    assert "campaigns/broken.yaml:2:1: unknown field 'goals'; did you mean 'goal'?" in result.output


def test_a_create_only_change_fails_with_a_clear_message(examples: Path, run_cli: RunCli) -> None:
    applied_state(examples)
    path = examples / "campaigns/hr/onboarding.yaml"
    path.write_text(path.read_text().replace("Europe/London", "Europe/Dublin"))
    result = run_cli("plan", "--detailed-exitcode")
    assert result.exit_code == 1
    assert "hr/onboarding: timezone can only be set when a campaign is created" in result.stderr


def test_a_corrupt_state_fails_and_is_left_alone(examples: Path, run_cli: RunCli) -> None:
    state = examples / "campaignsync.state.json"
    state.write_text('{"format_version": 1, "lin')
    result = run_cli("plan")
    assert result.exit_code == 1
    assert "is not valid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert state.read_text() == '{"format_version": 1, "lin'


def test_schemas_are_published(run_cli: RunCli) -> None:
    for kind in ("campaign", "defaults", "state", "plan"):
        committed = json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text())
        assert json.loads(run_cli("schema", kind).output) == committed, (
            f"schemas/{kind}.schema.json is stale: run "
            f"`campaignsync schema {kind} > schemas/{kind}.schema.json`"
        )


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(_Terminal())
    assert not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(_Terminal())


def test_out_without_a_file_name_is_a_clear_error(examples: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", "--out", "")
    assert result.exit_code == 1
    assert result.stderr == "Error: --out needs a file name, like plan.json.\n"
