"""The applier on httpx.MockTransport: order, state after every request, crash-safe creates."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from campaignsync.apply import Outcome, apply_plan, check_plan_is_current
from campaignsync.campaign import CampaignFile
from campaignsync.errors import StalePlan, StateError
from campaignsync.filestate import write_state
from campaignsync.loader import load_campaigns
from campaignsync.ontora import OntoraClient
from campaignsync.plan import Plan
from campaignsync.planner import build_plan
from campaignsync.recorder import StateRecorder
from campaignsync.state import Entry, PendingCreate, State, StateEncoder
from tests.conftest import WriteCampaign
from tests.factories import API_URL, ID_A, WORKSPACE, applied, campaign, read_back, state

NEW_ID = "99999999-9999-4999-8999-999999999999"


class FakeOntora:
    """Answers like Ontora and records, at each request, what state said on disk."""

    def __init__(self, state_path: Path, fail_on: str | None = None) -> None:
        self.state_path = state_path
        self.fail_on = fail_on
        self.seen: list[tuple[str, str, str | None, dict[str, Any]]] = []
        self.posted: list[Any] = []  # the body of every POST

    def __call__(self, request: httpx.Request) -> httpx.Response:
        on_disk = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        key = request.headers.get("Idempotency-Key")
        self.seen.append((request.method, request.url.path, key, on_disk))
        if request.method == "POST":
            self.posted.append(json.loads(request.content or b"null"))
        if self.fail_on and self.fail_on in request.url.path:
            return httpx.Response(503)
        if request.method == "POST":
            return httpx.Response(201, json={"id": NEW_ID, "status": "draft"})
        return httpx.Response(200, json={"id": "x"})


class Answers(FakeOntora):
    """Gives `answers` (status, body) to the first requests, then answers like Ontora."""

    def __init__(self, state_path: Path, *answers: tuple[int, dict[str, Any]]) -> None:
        super().__init__(state_path)
        self.answers = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = super().__call__(request)
        if not self.answers:
            return answer
        status, body = self.answers.pop(0)
        return httpx.Response(status, json=body)


def mock_client(handler: Any) -> OntoraClient:
    """A client answering through `handler`, never waiting and never retrying."""
    transport = httpx.MockTransport(handler)
    return OntoraClient(
        API_URL, token="t", transport=transport, sleep=lambda _: None, max_retries=0
    )


def run(plan: Plan, path: Path, fake: FakeOntora, current: State, **options: Any) -> Any:
    return apply_plan(
        plan, client=mock_client(fake), recorder=StateRecorder(path, current), **options
    )


def test_a_create_is_marked_pending_before_the_post_and_recorded_after(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    new = campaign("a", goal="G", topics=[{"name": "T"}])
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([new], current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path)
    report = run(plan, path, fake, current)
    assert report.ok
    (post, put) = fake.seen
    pending = post[3]["campaigns"]["a"]["pending_create"]
    assert pending["idempotency_key"] == post[2]
    assert pending["body"] == {"workspace_id": WORKSPACE, "name": "a", "goal": "G"}
    assert post[3]["campaigns"]["a"]["interview_id"] is None
    assert put[1] == f"/v1/campaign-creation/{NEW_ID}/finalize"
    final = read_back(path)
    entry = final.campaigns["a"]
    assert entry.pending_create is None
    assert entry.last_applied == new.managed
    assert entry.source_digest == new.source_digest
    # Pending first, alone; the id and the finalize's success then in one write or two.
    assert final.serial in (2, 3)
    replan = build_plan([new], final, api_url=API_URL, workspace_id=WORKSPACE)
    assert not replan.has_changes


def test_a_finalize_that_failed_after_a_create_is_all_that_remains(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    new = campaign("a", topics=[{"name": "T"}])
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([new], current, api_url=API_URL, workspace_id=WORKSPACE)
    first = FakeOntora(path, fail_on="/finalize")
    assert not run(plan, path, first, current).ok
    # The create succeeded and is recorded; the finalize is what remains.
    after_crash = read_back(path)
    assert after_crash.campaigns["a"].interview_id == NEW_ID
    replan = build_plan([new], after_crash, api_url=API_URL, workspace_id=WORKSPACE)
    assert [r.method for item in replan.campaigns for r in item.requests] == ["PUT"]


def test_a_pending_marker_left_by_a_crash_is_resent_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    new = campaign("a")
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([new], current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path, fail_on="/v1/interviews")
    assert not run(plan, path, fake, current).ok
    crashed = read_back(path)
    key = crashed.campaigns["a"].pending_create.idempotency_key  # type: ignore[union-attr]
    replan = build_plan([new], crashed, api_url=API_URL, workspace_id=WORKSPACE)
    again = FakeOntora(path)
    assert run(replan, path, again, crashed).ok
    assert again.seen[0][2] == key


def test_every_success_is_on_disk_when_apply_returns(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", project_context="old", topics=[{"name": "T"}])
    current = write_state(path, state(a=applied(ID_A, before)))
    after = campaign("a", project_context="new", topics=[{"name": "U"}])
    plan = build_plan([after], current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path, fail_on="/finalize")
    report = run(plan, path, fake, current)
    assert [r.outcome for r in report.results] == [Outcome.FAILED]
    saved = read_back(path)
    assert saved.campaigns["a"].last_applied["project_context"] == "new"
    assert saved.campaigns["a"].last_applied["topics"] == [{"name": "T"}]
    # Neither file is fully applied now: not the new one, and no longer the old one.
    assert (saved.campaigns["a"].source_digest, saved.campaigns["a"].contacts_file) == (None, None)


def test_a_failure_leaves_later_campaigns_unattempted(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan(
        [campaign("a"), campaign("b"), campaign("c")],
        current,
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    report = run(plan, path, FakeOntora(path, fail_on="/v1/interviews"), current, parallelism=1)
    assert [r.outcome for r in report.results] == [
        Outcome.FAILED,
        Outcome.NOT_ATTEMPTED,
        Outcome.NOT_ATTEMPTED,
    ]
    # The create that may have happened (a 503) stays pending; those never sent are gone.
    left = read_back(path).campaigns
    assert list(left) == ["a"]
    assert left["a"].pending_create is not None


def test_every_create_is_pending_on_disk_before_the_first_request(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    files = [campaign(key, goal="G") for key in ("a", "b", "c")]
    plan = build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path)
    assert run(plan, path, fake, current, parallelism=1).ok
    method, _, key, on_disk = fake.seen[0]
    assert method == "POST"
    pending = {name: entry["pending_create"] for name, entry in on_disk["campaigns"].items()}
    assert sorted(pending) == ["a", "b", "c"]
    assert key in {each["idempotency_key"] for each in pending.values()}
    sent_keys = {seen[2] for seen in fake.seen if seen[0] == "POST"}
    assert sent_keys == {each["idempotency_key"] for each in pending.values()}


def test_the_marks_and_pending_creates_are_one_write_before_the_first_request(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    olds = {f"old{n:02}": campaign(f"old{n:02}", goal="old") for n in range(40)}
    current = write_state(
        path, state(**{key: applied(ID_A[:-2] + key[-2:], file) for key, file in olds.items()})
    )
    files = [campaign(key, goal="new") for key in olds] + [
        campaign(f"new{n:02}", goal="G") for n in range(40)
    ]
    plan = build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path)
    assert run(plan, path, fake, current, parallelism=1).ok
    on_disk = fake.seen[0][3]
    assert on_disk["serial"] == current.serial + 1  # one write, the first of this apply
    entries = on_disk["campaigns"]
    assert all(entries[key]["unconfirmed"] == {"goal": "new"} for key in olds)
    assert all(entries[f"new{n:02}"]["pending_create"] for n in range(40))


def test_a_plan_is_stale_once_state_moves(tmp_path: Path) -> None:
    current = state()
    plan = build_plan([campaign("a")], current, api_url=API_URL, workspace_id=WORKSPACE)
    check_plan_is_current(plan, current, api_url=API_URL, workspace_id=WORKSPACE)
    moved = current.model_copy(update={"serial": current.serial + 1})
    with pytest.raises(StalePlan, match="state changed since the plan was made"):
        check_plan_is_current(plan, moved, api_url=API_URL, workspace_id=WORKSPACE)
    with pytest.raises(StalePlan, match="is for the API at"):
        check_plan_is_current(plan, current, api_url="http://127.0.0.1:1", workspace_id=WORKSPACE)
    with pytest.raises(StalePlan, match="is for workspace"):
        check_plan_is_current(plan, current, api_url=API_URL, workspace_id="other")


def test_when_state_cannot_be_written_nothing_more_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan(
        [campaign("a"), campaign("b"), campaign("c")],
        current,
        api_url=API_URL,
        workspace_id=WORKSPACE,
    )
    fake = FakeOntora(path)
    with pytest.raises(StateError, match="Cannot write"):
        run(plan, path, fake, current, parallelism=1)
    assert fake.seen == []  # the pending marker failed, so no create was sent


class HeldWrites:
    """A state writer that makes its first `free` writes at once, then waits to be allowed."""

    def __init__(self, free: int = 0) -> None:
        self.free = free
        self.allowed = threading.Event()
        self.started = threading.Event()
        self.written: list[int] = []

    def __call__(self, path: Path, state: State, encoder: StateEncoder) -> State:
        if len(self.written) >= self.free:
            self.started.set()
            assert self.allowed.wait(timeout=10), "the test never allowed the write"
        written = write_state(path, state, encoder)
        self.written.append(len(written.campaigns))
        return written


class FailingWrites:
    """A state writer that fails like a full disk once a campaign has an id to record."""

    def __call__(self, path: Path, state: State, encoder: StateEncoder) -> State:
        if any(entry.interview_id for entry in state.campaigns.values()):
            raise StateError(f"Cannot write {path}: No space left on device.")
        return write_state(path, state, encoder)


@pytest.mark.parametrize("put_status", [200, 503, 422])
def test_once_a_state_write_fails_mid_run_no_campaign_sends_anything_more(
    tmp_path: Path, put_status: int
) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    files = [campaign(key, topics=[{"name": "T"}]) for key in ("a", "b", "c")]
    plan = build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE)
    recorder = StateRecorder(path, current, write=FailingWrites())
    fake = FakeOntora(path)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method != "PUT":
            return fake(request)
        with pytest.raises(StateError):  # a's new id could not be written: the run knows it
            recorder.flush()
        fake(request)
        return httpx.Response(put_status, json={"detail": []})

    with pytest.raises(StateError, match="No space left"):
        apply_plan(plan, client=mock_client(answer), recorder=recorder, parallelism=1)
    # What it cannot record, it does not send: b and c are left for the next run.
    assert [(method, path) for method, path, _, _ in fake.seen] == [
        ("POST", "/v1/interviews"),
        ("PUT", f"/v1/campaign-creation/{NEW_ID}/finalize"),
    ]
    left = read_back(path).campaigns
    assert all(entry.pending_create is not None for entry in left.values())


def test_a_campaign_s_next_request_goes_on_while_a_success_is_being_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", project_context="old", topics=[{"name": "T"}])
    current = write_state(path, state(a=applied(ID_A, before)))
    after = campaign("a", project_context="new", topics=[{"name": "U"}])
    plan = build_plan([after], current, api_url=API_URL, workspace_id=WORKSPACE)
    writes = HeldWrites(free=1)  # the mark before the first request is written at once
    fake = FakeOntora(path)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method != "PUT":
            return fake(request)
        # Sent while the PATCH's success is being written; that write ends after the PUT.
        assert writes.started.wait(timeout=10)
        response = fake(request)
        writes.allowed.set()
        return response

    client = OntoraClient(API_URL, token="t", transport=httpx.MockTransport(answer), max_retries=0)
    recorder = StateRecorder(path, current, write=writes)
    apply_plan(plan, client=client, recorder=recorder, parallelism=1)
    (patch, put) = fake.seen
    # Each request saw its fields marked unconfirmed on disk; the PUT, no PATCH success yet.
    for _, _, _, on_disk in (patch, put):
        marked = on_disk["campaigns"]["a"]
        assert marked["unconfirmed"]["project_context"] == "new"
        assert marked["unconfirmed"]["topics"] == [{"name": "U"}]
        assert marked["last_applied"]["project_context"] == "old"
    saved = read_back(path)
    assert saved.campaigns["a"].unconfirmed == {}
    assert saved.campaigns["a"].last_applied["topics"] == [{"name": "U"}]
    assert saved.campaigns["a"].source_digest == after.source_digest


@pytest.mark.parametrize("answered", ["../../v1/interviews", "not-a-uuid", ""])
def test_a_create_answered_with_an_id_that_is_not_a_uuid_fails_that_campaign(
    tmp_path: Path, answered: str
) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([campaign("a", goal="G")], current, api_url=API_URL, workspace_id=WORKSPACE)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": answered})

    client = OntoraClient(API_URL, token="t", transport=httpx.MockTransport(answer), max_retries=0)
    report = apply_plan(plan, client=client, recorder=StateRecorder(path, current))
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert "without a campaign id" in result.error
    entry = read_back(path).campaigns["a"]
    assert entry.interview_id is None
    assert entry.pending_create is not None


@pytest.mark.parametrize(
    ("answer", "unconfirmed"),
    [
        (httpx.RemoteProtocolError("peer closed connection"), {"project_context": "new"}),
        (httpx.Response(503), {"project_context": "new"}),
        (httpx.Response(422, json={"detail": []}), {}),
        (httpx.Response(409, json={"detail": "locked", "code": "campaign_locked"}), {}),
    ],
)
def test_a_request_that_may_have_taken_effect_is_recorded_unconfirmed(
    tmp_path: Path, answer: Exception | httpx.Response, unconfirmed: dict[str, Any]
) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", project_context="old")
    current = write_state(path, state(a=applied(ID_A, before)))
    plan = build_plan(
        [campaign("a", project_context="new")], current, api_url=API_URL, workspace_id=WORKSPACE
    )

    def ontora(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = mock_client(ontora)
    report = apply_plan(plan, client=client, recorder=StateRecorder(path, current))
    locked = isinstance(answer, httpx.Response) and answer.status_code == 409
    assert [r.outcome for r in report.results] == [Outcome.REFUSED if locked else Outcome.FAILED]
    entry = read_back(path).campaigns["a"]
    assert entry.unconfirmed == unconfirmed
    assert entry.last_applied["project_context"] == "old"


def test_a_422_for_a_csv_contact_points_at_the_csv_row_and_the_real_path(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign(
        "hr/a.yaml",
        """
        name: A
        contacts:
          - name: Inline
            email: inline@example.org
        contacts_file: people.csv
        """,
    )
    (project / "campaigns/hr/people.csv").write_text(
        "name,email\n\nAnn,ann@example.org\nBob,bob@example.org\n"
    )

    def ontora(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"id": NEW_ID, "status": "draft"})
        detail = [
            {"type": "value_error", "loc": ["body", "contacts", 2, "email"], "msg": "taken"},
            {"type": "value_error", "loc": ["body", "contacts", 0, "email"], "msg": "odd"},
        ]
        return httpx.Response(422, json={"detail": detail})

    path = project / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    loaded = load_campaigns(project / "campaigns", project)
    plan = build_plan(loaded, current, api_url=API_URL, workspace_id=WORKSPACE)
    client = OntoraClient(
        API_URL, token="tok-422-csv", transport=httpx.MockTransport(ontora), sleep=lambda _: None
    )
    report = apply_plan(plan, client=client, recorder=StateRecorder(path, current))
    (result,) = report.results
    assert result.error is not None
    assert result.error.splitlines() == [
        f"hr/a: PUT /v1/campaign-creation/{NEW_ID}/finalize answered 422 (Ontora refused the "
        "values)",
        "  campaigns/hr/people.csv:4: contacts[2].email: taken",
        "  campaigns/hr/a.yaml:4:12: contacts[0].email: odd",
    ]


class Killed(BaseException):
    """The process dying at this moment: nothing after it runs."""


class DiesAfterAnswer:
    """A state writer that dies at its first write once Ontora has answered `answers` requests."""

    def __init__(self, ontora: HoldingOntora, answers: int) -> None:
        self.ontora, self.answers = ontora, answers

    def __call__(self, path: Path, state: State, encoder: StateEncoder) -> State:
        if self.ontora.answered >= self.answers:
            raise Killed
        return write_state(path, state, encoder)


class HoldingOntora:
    """Keeps the fields each PATCH and PUT set, as Ontora would."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.answered = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.answered += 1
        interview_id = request.url.path.split("/")[3]
        self.held.setdefault(interview_id, {}).update(json.loads(request.content))
        return httpx.Response(200, json={"id": interview_id})


@pytest.mark.parametrize("answers", [1, 2])
def test_a_success_not_yet_written_when_apply_dies_is_sent_again_after_a_revert(
    tmp_path: Path, answers: int
) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", project_context="old", topics=[{"name": "T"}])
    current = write_state(path, state(a=applied(ID_A, before)))
    after = campaign("a", project_context="new", topics=[{"name": "U"}])
    ontora = HoldingOntora()
    client = OntoraClient(API_URL, token="t", transport=httpx.MockTransport(ontora), max_retries=0)
    plan = build_plan([after], current, api_url=API_URL, workspace_id=WORKSPACE)
    recorder = StateRecorder(path, current, write=DiesAfterAnswer(ontora, answers))
    with pytest.raises(Killed):
        apply_plan(plan, client=client, recorder=recorder, parallelism=1)

    # The file is edited back to what state holds; whatever Ontora got must be undone.
    left = read_back(path)
    replan = build_plan([before], left, api_url=API_URL, workspace_id=WORKSPACE)
    assert replan.has_changes
    report = apply_plan(replan, client=client, recorder=StateRecorder(path, left))
    assert report.ok
    held = ontora.held.get(ID_A, {})
    assert held.get("project_context", "old") == "old"
    assert held.get("topics", [{"name": "T"}]) == [{"name": "T"}]
    final = read_back(path)
    again = build_plan([before], final, api_url=API_URL, workspace_id=WORKSPACE)
    assert not again.has_changes


def test_a_create_refused_as_invalid_is_forgotten_so_the_fixed_file_is_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([campaign("a", goal="G")], current, api_url=API_URL, workspace_id=WORKSPACE)
    invalid = {"detail": [{"type": "value_error", "loc": ["body", "goal"], "msg": "bad"}]}
    report = run(plan, path, Answers(path, (422, invalid)), current)
    assert [r.outcome for r in report.results] == [Outcome.FAILED]
    # A 422 for its body made no campaign: nothing is pending, and the fixed file is sent.
    after = read_back(path)
    assert "a" not in after.campaigns
    fixed = build_plan([campaign("a")], after, api_url=API_URL, workspace_id=WORKSPACE)
    again = FakeOntora(path)
    assert run(fixed, path, again, after).ok
    assert again.posted == [{"workspace_id": WORKSPACE, "name": "a"}]


def test_a_resumed_create_refused_as_invalid_keeps_its_pending_record(tmp_path: Path) -> None:
    # The interrupted attempt with this key may have made the campaign: the resend is
    # checked before its key is, and a check may have changed since. Forgetting the key
    # would let the next apply make a second campaign.
    path = tmp_path / "state.json"
    body = {"workspace_id": WORKSPACE, "name": "a", "goal": "G"}
    pending = PendingCreate(idempotency_key="key-1", body=body, started_at="2026-01-01T00:00:00Z")
    current = write_state(path, state(a=Entry(pending_create=pending)))
    plan = build_plan([campaign("a")], current, api_url=API_URL, workspace_id=WORKSPACE)
    invalid = {"detail": [{"type": "value_error", "loc": ["body", "goal"], "msg": "bad"}]}
    fake = Answers(path, (422, invalid))
    report = run(plan, path, fake, current)
    assert fake.posted == [body]  # resent exactly as first sent, and refused
    assert read_back(path).campaigns["a"].pending_create == pending
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "campaignsync import INTERVIEW_ID a" in str(result.error)
    assert "campaignsync state rm a" in str(result.error)


@pytest.mark.parametrize(
    "answer",
    [
        (422, {"detail": "Idempotency-Key was already used", "code": "idempotency_key_reused"}),
        (403, {"detail": "Forbidden", "code": "workspace_forbidden"}),
        (503, {"detail": "Unavailable", "code": "unavailable"}),
    ],
)
def test_a_create_refused_otherwise_keeps_its_pending_marker(
    tmp_path: Path, answer: tuple[int, dict[str, Any]]
) -> None:
    path = tmp_path / "state.json"
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([campaign("a", goal="G")], current, api_url=API_URL, workspace_id=WORKSPACE)
    report = run(plan, path, Answers(path, answer), current)
    assert [r.outcome for r in report.results] == [Outcome.FAILED]
    entry = read_back(path).campaigns["a"]
    assert entry.pending_create is not None


def test_a_created_and_launched_campaign_records_its_status_after_the_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    new = campaign("a", goal="G", status="active", contacts=[{"name": "Ann"}])
    current = State(api_url=API_URL, workspace_id=WORKSPACE)
    plan = build_plan([new], current, api_url=API_URL, workspace_id=WORKSPACE)
    fake = FakeOntora(path)
    assert run(plan, path, fake, current).ok
    *_, start = fake.seen
    assert len(fake.seen) == 3
    assert (start[0], start[1]) == ("POST", f"/v1/interviews/{NEW_ID}/start")
    # Before the start is sent, state says it may have happened.
    assert start[3]["campaigns"]["a"]["unconfirmed"]["status"] == "active"
    final = read_back(path)
    entry = final.campaigns["a"]
    assert (entry.last_applied["status"], entry.unconfirmed) == ("active", {})
    replan = build_plan([new], final, api_url=API_URL, workspace_id=WORKSPACE)
    assert not replan.has_changes


def test_a_campaign_locked_refusal_stops_only_its_own_campaign(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    files = [campaign(key, goal="new") for key in ("a", "b", "c")]
    ids = {"a": ID_A, "b": "22222222-2222-4222-8222-222222222222", "c": NEW_ID}
    current = write_state(
        path, state(**{key: applied(ids[key], campaign(key, goal="old")) for key in ids})
    )
    plan = build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE)

    def ontora(request: httpx.Request) -> httpx.Response:
        if ID_A in request.url.path:
            return httpx.Response(
                409, json={"detail": "Campaign is active", "code": "campaign_locked"}
            )
        return httpx.Response(200, json={"id": "x"})

    client = mock_client(ontora)
    report = apply_plan(plan, client=client, recorder=StateRecorder(path, current), parallelism=1)
    assert [(r.key, r.outcome) for r in report.results] == [
        ("a", Outcome.REFUSED),
        ("b", Outcome.APPLIED),
        ("c", Outcome.APPLIED),
    ]
    assert "campaign_locked" in (report.results[0].error or "")
    assert not report.ok


PEOPLE = [
    {"name": "Dana Whitfield", "email": "dana@example.org"},
    {"name": "Marek Kowalski", "phone": "+48 61 555 0199"},
]


# One campaign with contacts, before and after a finalize-only edit: a topic renamed.
TOPIC_T = campaign("a", goal="G", topics=[{"name": "T"}], contacts=PEOPLE)
TOPIC_U = campaign("a", goal="G", topics=[{"name": "U"}], contacts=PEOPLE)


def planned_over(path: Path, before: CampaignFile, after: CampaignFile) -> tuple[State, Plan]:
    """State at `path` holding `before` as applied, and the plan that makes it `after`."""
    current = write_state(path, state(a=applied(ID_A, before)))
    return current, build_plan([after], current, api_url=API_URL, workspace_id=WORKSPACE)


def applied_seeing_state(
    path: Path, plan: Plan, current: State
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Apply `plan`; each request's body, with campaign a's entry on disk as it was sent."""
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        on_disk = json.loads(path.read_text())["campaigns"]["a"]
        seen.append((json.loads(request.content), on_disk))
        return httpx.Response(200, json={"id": ID_A})

    client = OntoraClient(API_URL, token="t", transport=httpx.MockTransport(answer), max_retries=0)
    assert apply_plan(plan, client=client, recorder=StateRecorder(path, current)).ok
    return seen


def test_a_finalize_marks_only_what_it_changes_and_keeps_the_contacts_state_holds(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    before, after = TOPIC_T, TOPIC_U
    current, plan = planned_over(path, before, after)
    stored = read_back(path).campaigns["a"].last_applied["contacts"]
    ((body, marked),) = applied_seeing_state(path, plan, current)
    assert len(body["contacts"]) == 2  # the PUT takes every managed field, contacts too
    # Only what may now differ in Ontora is unconfirmed: the rest is as last applied either way.
    assert marked["unconfirmed"] == {"topics": [{"name": "U"}]}
    saved = read_back(path).campaigns["a"]
    assert (saved.last_applied["contacts"], saved.unconfirmed) == (stored, {})
    assert saved.last_applied["topics"] == [{"name": "U"}]
    assert not build_plan(
        [after], read_back(path), api_url=API_URL, workspace_id=WORKSPACE
    ).has_changes


def test_a_finalize_that_clears_a_field_marks_it_and_stops_managing_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", topics=[{"name": "T"}], followup_message="See you", contacts=PEOPLE)
    after = campaign("a", topics=[{"name": "U"}], contacts=PEOPLE)
    current, plan = planned_over(path, before, after)
    ((body, marked),) = applied_seeing_state(path, plan, current)
    assert body["followup_message"] is None
    assert marked["unconfirmed"] == {"topics": [{"name": "U"}], "followup_message": None}
    saved = read_back(path).campaigns["a"]
    assert "followup_message" not in saved.last_applied
    assert not build_plan(
        [after], read_back(path), api_url=API_URL, workspace_id=WORKSPACE
    ).has_changes


def test_a_value_a_hand_made_plan_sends_beyond_its_changes_is_still_marked_and_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    before = campaign("a", topics=[{"name": "T"}], followup_message="See you", contacts=PEOPLE)
    after = campaign("a", topics=[{"name": "U"}], followup_message="See you", contacts=PEOPLE)
    current, plan = planned_over(path, before, after)
    # A saved plan edited by hand: its PUT sends a value its changes do not list.
    (item,) = plan.changed
    (put,) = item.requests
    edited = put.model_copy(update={"body": put.body | {"followup_message": "Edited"}})
    plan = plan.model_copy(update={"campaigns": (item.model_copy(update={"requests": (edited,)}),)})
    ((_, marked),) = applied_seeing_state(path, plan, current)
    assert marked["unconfirmed"]["followup_message"] == "Edited"
    assert read_back(path).campaigns["a"].last_applied["followup_message"] == "Edited"


@pytest.mark.parametrize("creates", [False, True])
def test_a_body_json_cannot_carry_is_never_sent_and_leaves_state_as_it_was(
    tmp_path: Path, creates: bool
) -> None:
    # A saved plan edited by hand, its digest made anew: 1e400 reads as infinity.
    path = tmp_path / "state.json"
    before = state(a=applied(ID_A, campaign("a", project_context="old")))
    current = write_state(
        path, State(api_url=API_URL, workspace_id=WORKSPACE) if creates else before
    )
    plan = build_plan(
        [campaign("a", project_context="new")], current, api_url=API_URL, workspace_id=WORKSPACE
    )
    (item,) = plan.changed
    first, *rest = item.requests
    edited = first.model_copy(update={"body": first.body | {"project_context": math.inf}})
    requests = (edited, *rest)
    plan = plan.model_copy(update={"campaigns": (item.model_copy(update={"requests": requests}),)})
    fake = FakeOntora(path)
    report = run(plan, path, fake, current)
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "was not sent: its body cannot be JSON" in str(result.error)
    assert fake.seen == []
    assert read_back(path).campaigns == current.campaigns  # no mark, no pending create


def test_a_finalize_never_sent_after_its_create_leaves_only_the_create_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    current = write_state(path, State(api_url=API_URL, workspace_id=WORKSPACE))
    files = [campaign("a", goal="G", topics=[{"name": "T"}])]
    plan = build_plan(files, current, api_url=API_URL, workspace_id=WORKSPACE)
    (item,) = plan.changed
    post, put = item.requests
    unsendable = put.model_copy(update={"body": put.body | {"voice_id": math.inf}})
    requests = (post, unsendable)
    plan = plan.model_copy(update={"campaigns": (item.model_copy(update={"requests": requests}),)})
    fake = FakeOntora(path)
    (result,) = run(plan, path, fake, current).results
    assert result.outcome is Outcome.FAILED
    assert [method for method, *_ in fake.seen] == ["POST"]
    entry = read_back(path).campaigns["a"]
    assert entry.interview_id == NEW_ID
    assert entry.pending_create is None
    # The finalize took nothing: only what the create sent too stays to be sent again.
    assert set(entry.unconfirmed) == (set(post.body) & set(put.body)) - {"workspace_id"}


def test_a_finalize_killed_before_its_success_is_written_is_undone_after_a_revert(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    before, after = TOPIC_T, TOPIC_U
    current, plan = planned_over(path, before, after)
    ontora = HoldingOntora()
    client = OntoraClient(API_URL, token="t", transport=httpx.MockTransport(ontora), max_retries=0)
    recorder = StateRecorder(path, current, write=DiesAfterAnswer(ontora, 1))
    with pytest.raises(Killed):
        apply_plan(plan, client=client, recorder=recorder, parallelism=1)
    assert ontora.held[ID_A]["topics"] == [{"name": "U"}]

    left = read_back(path)
    replan = build_plan([before], left, api_url=API_URL, workspace_id=WORKSPACE)
    assert replan.has_changes
    assert apply_plan(replan, client=client, recorder=StateRecorder(path, left)).ok
    assert ontora.held[ID_A]["topics"] == [{"name": "T"}]
    assert len(ontora.held[ID_A]["contacts"]) == 2
    again = build_plan([before], read_back(path), api_url=API_URL, workspace_id=WORKSPACE)
    assert not again.has_changes
