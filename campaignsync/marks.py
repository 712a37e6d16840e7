"""A campaign's fields marked unconfirmed in state before the requests that send them.

Apply marks every field a campaign's requests set before the first is sent, so a process
killed at any moment leaves whatever may have changed in Ontora to be sent again. A mark
holds a contact list by its size alone: which fields to send again is all the next plan
needs of it, and fingerprinting the contacts (what a success records) would hold up the
first request by as much as it takes for all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from campaignsync.diff import same_value
from campaignsync.fingerprint import marked_contacts
from campaignsync.plan import Request
from campaignsync.recorder import StateRecorder
from campaignsync.state import Entry


class Marks:
    """A campaign's fields marked unconfirmed, on disk, before the requests that send them.

    `mark` queues the mark; the caller flushes every campaign's mark at once.

    Successes are written in the background, so a process killed after a request succeeded
    may not have recorded it: the mark makes the next plan send its fields again. A stop
    that knows a request was never sent (or refused) takes its fields back off the mark.
    """

    def __init__(self, key: str, recorder: StateRecorder) -> None:
        self.key, self.recorder = key, recorder
        self.made = False
        self.before: Entry | None = None  # the entry as it was before the mark
        # Fields left unmarked, sent again with the value state holds: they keep it.
        self.as_applied: frozenset[str] = frozenset()

    def marked(
        self,
        entry: Entry | None,
        interview_id: str,
        requests: Sequence[Request],
        as_applied: frozenset[str] = frozenset(),
    ) -> Entry:
        """`entry` with every field `requests` send unconfirmed, but those sent `as_applied`
        (with their last-applied value), and no proof of full apply."""
        self.made, self.before = True, entry
        entry = entry or Entry(interview_id=interview_id)  # an adopt's first request
        sent = {name: value for request in requests for name, value in request.sets.items()}
        self.as_applied = _sent_as_last_applied(entry, sent, as_applied, self.recorder)
        for name in {"workspace_id", *self.as_applied}:
            sent.pop(name, None)
        unconfirmed = entry.unconfirmed | _as_marked(sent)
        update = {"unconfirmed": unconfirmed, "source_digest": None, "contacts_file": None}
        return entry.model_copy(update=update)

    def mark(
        self, interview_id: str, requests: Sequence[Request], as_applied: frozenset[str]
    ) -> None:
        if any(request.sets for request in requests):
            marked = functools.partial(
                self.marked, interview_id=interview_id, requests=requests, as_applied=as_applied
            )
            self.recorder.update(self.key, marked)

    def applied(self, sets: Mapping[str, Any]) -> dict[str, Any]:
        """What the success of a request sending `sets` records as last applied: all of it
        but those sent as last applied, which keep the value state holds. (State keeps a
        contact list it records as its fingerprints: see `State.with_entry`.)"""
        return {name: value for name, value in sets.items() if name not in self.as_applied}

    def release(self, requests: Sequence[Request], first_unsent: int) -> None:
        """Take back the mark of the requests from `first_unsent` on, known never to have
        taken effect, but for fields a request before them sent too. Queued like the mark
        itself, so it sees the mark even where that is still waiting to be written (the
        one a create's success queues for the requests after it)."""
        unsent = requests[first_unsent:]
        if not any(request.sets for request in unsent):
            return
        sent = {name for request in requests[:first_unsent] for name in request.sets}
        names = {name for request in unsent for name in request.sets} - sent

        def change(entry: Entry | None) -> Entry | None:
            if not self.made:
                return entry
            if first_unsent == 0:  # nothing changed in Ontora: the entry is as it was
                return self.before
            if entry is None:
                return None
            was = self.before.unconfirmed if self.before is not None else {}
            kept = {k: v for k, v in entry.unconfirmed.items() if k not in names}
            kept |= {k: v for k, v in was.items() if k in names}
            return entry.model_copy(update={"unconfirmed": kept})

        self.recorder.update(self.key, change)


def _as_marked(sent: Mapping[str, Any]) -> dict[str, Any]:
    """What a mark holds of the fields sent: their values, a contact list by its size."""
    contacts = sent.get("contacts")
    if isinstance(contacts, list):
        return {**sent, "contacts": marked_contacts(contacts)}
    return dict(sent)


def _sent_as_last_applied(
    entry: Entry, sent: Mapping[str, Any], names: frozenset[str], recorder: StateRecorder
) -> frozenset[str]:
    """Those of `names` (a plan's `sent_as_applied`) that `sent` sends with the value the
    entry holds as last applied: checked against it, as a hand-made plan could be wrong.
    Run by the state writer, on the state it writes."""
    fields, printer = entry.last_applied, recorder.state.printer
    return frozenset(
        name
        for name in names & sent.keys() & fields.keys()
        if same_value(fields[name], sent[name], printer)
    )
