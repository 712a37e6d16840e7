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


def test_a_mark_holds_contacts_as_fingerprints_and_a_success_records_that_same_value(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, Entry(interview_id=ID_A, last_applied={"goal": "Old"}))
    marks = Marks("hr/a", recorder)
    requests = [_put(goal="New", contacts=CONTACTS)]
    marks.mark(ID_A, requests, frozenset())
    recorder.flush()

    marked = read_back(tmp_path / "state.json").campaigns["hr/a"]
    fingerprints = recorder.state.printer.of_contacts(CONTACTS)
    assert marked.unconfirmed == {"goal": "New", "contacts": fingerprints}
    assert marked.last_applied == {"goal": "Old"}  # nothing is confirmed by a mark
    assert marks.applied(requests[0].sets, later=set()) == {
        "goal": "New",
        "contacts": fingerprints,
    }


def test_a_success_records_its_own_value_of_a_field_a_later_request_sends_again(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, Entry(interview_id=ID_A))
    marks = Marks("hr/a", recorder)
    first, second = _put(contacts=CONTACTS), _put(contacts=NEWER)
    marks.mark(ID_A, [first, second], frozenset())
    recorder.flush()

    # The mark holds what the last request sends; the first success is the first's value.
    assert recorder.state.campaigns["hr/a"].unconfirmed["contacts"] == (
        recorder.state.printer.of_contacts(NEWER)
    )
    assert marks.applied(first.sets, later={"contacts"}) == {"contacts": CONTACTS}
    assert marks.applied(second.sets, later=set()) == {
        "contacts": recorder.state.printer.of_contacts(NEWER)
    }


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
    assert marks.applied(request.sets, later=set()) == {"goal": "New"}
