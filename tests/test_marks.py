"""Marks: what a campaign's entry holds as unconfirmed before its requests, and what each
success then records as last applied."""

from __future__ import annotations

from pathlib import Path

from campaignsync.marks import Marks
from campaignsync.plan import Request
from campaignsync.recorder import StateRecorder
from campaignsync.state import Entry, State
from tests.factories import API_URL, FINGERPRINT_KEY, ID_A, WORKSPACE, read_back

CONTACTS = [{"name": "Ada", "email": "ada@example.com"}, {"name": "Bo", "phone": "+15550100"}]
NEWER = [{"name": "Ada", "email": "ada@example.com", "job_title": "CTO"}]


def _recorder(tmp_path: Path, entry: Entry) -> StateRecorder:
    state = State(api_url=API_URL, workspace_id=WORKSPACE, fingerprint_key=FINGERPRINT_KEY)
    return StateRecorder(tmp_path / "state.json", state.with_entry("hr/a", entry))


def _put(**body: object) -> Request:
    return Request(method="PUT", path=f"/v1/campaign-creation/{ID_A}/finalize", body=body)


def test_a_mark_holds_a_contact_list_by_its_size_and_a_success_records_each_contact(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, Entry(interview_id=ID_A, last_applied={"goal": "Old"}))
    marks = Marks("hr/a", recorder)
    requests = [_put(goal="New", contacts=CONTACTS)]
    marks.mark(ID_A, requests, frozenset())
    recorder.flush()

    marked = read_back(tmp_path / "state.json").campaigns["hr/a"]
    printer = recorder.state.printer
    assert marked.unconfirmed == {"goal": "New", "contacts": {"count": 2}}
    assert marked.last_applied == {"goal": "Old"}  # nothing is confirmed by a mark
    assert marks.applied(requests[0].sets) == {"goal": "New", "contacts": CONTACTS}
    recorder.update(
        "hr/a", lambda entry: Entry(interview_id=ID_A, last_applied=marks.applied(requests[0].sets))
    )
    recorder.flush()
    recorded = read_back(tmp_path / "state.json").campaigns["hr/a"]
    assert recorded.last_applied == {"goal": "New", "contacts": printer.of_contacts(CONTACTS)}


def test_a_mark_holds_the_value_the_last_request_sending_a_field_sends(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, Entry(interview_id=ID_A))
    marks = Marks("hr/a", recorder)
    first, second = _put(contacts=CONTACTS, goal="One"), _put(contacts=NEWER, goal="Two")
    marks.mark(ID_A, [first, second], frozenset())
    recorder.flush()

    assert recorder.state.campaigns["hr/a"].unconfirmed == {
        "contacts": {"count": 1},
        "goal": "Two",
    }
    assert marks.applied(first.sets) == {"contacts": CONTACTS, "goal": "One"}


def test_a_field_sent_with_its_last_applied_value_is_neither_marked_nor_recorded(
    tmp_path: Path,
) -> None:
    printer = State(fingerprint_key=FINGERPRINT_KEY).printer
    held = {"goal": "Old", "contacts": printer.of_contacts(CONTACTS)}
    recorder = _recorder(tmp_path, Entry(interview_id=ID_A, last_applied=held))
    marks = Marks("hr/a", recorder)
    request = _put(goal="New", contacts=CONTACTS)
    marks.mark(ID_A, [request], frozenset({"contacts"}))
    recorder.flush()

    assert recorder.state.campaigns["hr/a"].unconfirmed == {"goal": "New"}
    assert marks.applied(request.sets) == {"goal": "New"}
