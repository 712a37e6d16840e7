"""Run a plan's requests exactly, and write state after every request that succeeds.

Requests of one campaign run in their planned order; campaigns run in parallel.

Before the first request, in one state write: every create is recorded as pending with
its Idempotency-Key and exact body, so that a run cut short at any moment is resumed by
the next plan with the same key, and Ontora answers with the campaign the first attempt
made instead of making a second one; and every other campaign to change records every
field its requests will send as unconfirmed (but those a finalize PUT sends again as last
applied), and loses its proof of full apply (a create's are marked with its new id).

Each success, a create's new id first, is then recorded in the next state write, which
starts as soon as the one before it ends; workers never wait for it. So a process that
dies at any moment leaves every field that may have changed unconfirmed, and the next
plan sends it again whatever the file says; a create whose id was not yet written is
resent with its key. A run that stops by itself takes back what it never sent: the
fields of those requests, and a create never sent, or first sent by this run and refused
as invalid.
`apply_plan` returns only once every success is on disk.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from campaignsync.drift import RemoteCampaign
from campaignsync.errors import ApiError, Cancelled, StalePlan
from campaignsync.launch import Sender, send_start
from campaignsync.marks import Marks
from campaignsync.ontora_models import canonical_uuid
from campaignsync.plan import INTERVIEW_ID, CampaignPlan, Plan, Request
from campaignsync.recorder import StateRecorder
from campaignsync.refusals import located_error, made_nothing, outcome_unknown
from campaignsync.state import Entry, PendingCreate, State, now


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    REFUSED = "refused"  # Ontora refused to edit the campaign in its status (campaign_locked)
    INTERRUPTED = "interrupted"
    NOT_ATTEMPTED = "not attempted"


@dataclass(frozen=True)
class CampaignResult:
    key: str
    outcome: Outcome
    requests_sent: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[CampaignResult, ...]
    seconds: float = 0.0  # from the first request sent to the last state write

    def keys(self, outcome: Outcome) -> list[str]:
        return [result.key for result in self.results if result.outcome is outcome]

    @property
    def ok(self) -> bool:
        return all(result.outcome is Outcome.APPLIED for result in self.results)

    @property
    def requests_sent(self) -> int:
        return sum(result.requests_sent for result in self.results)


def check_plan_is_current(
    plan: Plan, state: State, *, api_url: str, workspace_id: str | None
) -> None:
    """Refuse a saved plan made against another state, API or workspace."""
    again = "Run `campaignsync plan --out FILE` again, review it, and apply that."
    if plan.api_url != api_url:
        raise StalePlan(f"The plan is for the API at {plan.api_url}, not {api_url}. {again}")
    if workspace_id and plan.workspace_id and plan.workspace_id != workspace_id:
        raise StalePlan(
            f"The plan is for workspace {plan.workspace_id}, not {workspace_id}. {again}"
        )
    if (plan.state_lineage, plan.state_serial) != (state.lineage, state.serial):
        raise StalePlan(
            f"The state changed since the plan was made (plan: serial {plan.state_serial} of "
            f"lineage {plan.state_lineage}; now: serial {state.serial} of lineage "
            f"{state.lineage}). {again}"
        )


def remotely_changed(plan: Plan, remote: Mapping[str, RemoteCampaign]) -> list[str]:
    """Keys of changed campaigns edited (or deleted) in Ontora since a --refresh plan saw them."""
    moved = []
    for item in plan.changed:
        if item.drift is None or item.drift.missing:
            continue
        now = remote.get(item.drift.interview_id)
        if now is None or now.updated_at != item.drift.updated_at:
            moved.append(item.key)
    return moved


class Halt:
    """Why workers should stop: a failure stops new campaigns; an interrupt, new requests.

    Give `no_new_requests` to the client as its stop, so an interrupt also ends its retry
    waits. A second interrupt calls `abandon`, which should end the process at once.
    """

    def __init__(self, abandon: Callable[[], None] | None = None) -> None:
        self.no_new_campaigns = threading.Event()
        self.no_new_requests = threading.Event()
        self.abandon = abandon or _raise_interrupt


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


Progress = Callable[[str], None]


def apply_plan(
    plan: Plan,
    *,
    client: Sender,
    recorder: StateRecorder,
    parallelism: int = 4,
    progress: Progress = lambda line: None,
    halt: Halt | None = None,
) -> ApplyReport:
    """Send every request of every changed campaign; return what happened to each."""
    halt = halt or Halt()
    # Where a start answered 409 is looked up, to see whether the campaign is active.
    workspace_id = plan.workspace_id or recorder.state.workspace_id
    work = [item for item in plan.campaigns if item.has_changes]
    total = sum(len(item.requests) for item in work)
    counter = _Counter(total, progress)
    started = time.monotonic()
    marks = {item.key: Marks(item.key, recorder) for item in work}
    keys = {}  # each create's Idempotency-Key
    with recorder.together():
        for item in work:
            if item.interview_id is not None:  # a create marks the rest once its id is known
                marks[item.key].mark(item.interview_id, item.requests, item.sent_as_applied)
            elif item.requests and item.requests[0].creates:
                keys[item.key] = _mark_pending(item, item.requests[0], recorder)
    recorder.flush()  # every mark and pending create on disk, in one write, before sending
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
        futures = [
            pool.submit(
                _apply_campaign,
                item,
                _Worker(client, marks[item.key], halt, counter, workspace_id, keys.get(item.key)),
            )
            for item in work
        ]
        _wait_interruptibly(futures, halt)
    recorder.flush()
    results = tuple(future.result() for future in futures)
    return ApplyReport(results, seconds=time.monotonic() - started)


def _wait_interruptibly(futures: Sequence[Future[CampaignResult]], halt: Halt) -> None:
    pending = set(futures)
    while pending:
        try:
            # A timeout keeps the main thread responsive to Ctrl-C while workers run.
            _, pending = wait(pending, timeout=0.2)
        except KeyboardInterrupt:
            if halt.no_new_requests.is_set():
                halt.abandon()
            halt.no_new_campaigns.set()
            halt.no_new_requests.set()


class _Counter:
    def __init__(self, total: int, progress: Progress) -> None:
        self.total, self.done, self.progress = total, 0, progress
        self._lock = threading.Lock()

    def report(self, line: str) -> None:
        with self._lock:
            self.done += 1
            self.progress(f"[{self.done}/{self.total}] {line}")


@dataclass(frozen=True)
class _Worker:
    """What applying one campaign needs besides its plan."""

    client: Sender
    marks: Marks
    halt: Halt
    counter: _Counter
    workspace_id: str | None  # where a start answered 409 is looked up
    create_key: str | None  # the Idempotency-Key of its create, recorded as pending


def _apply_campaign(item: CampaignPlan, worker: _Worker) -> CampaignResult:
    try:
        return _apply_requests(item, worker)
    except BaseException:
        # State could not be written (or worse): send nothing more that it cannot record.
        worker.halt.no_new_campaigns.set()
        worker.halt.no_new_requests.set()
        raise


def _apply_requests(item: CampaignPlan, worker: _Worker) -> CampaignResult:
    marks, halt = worker.marks, worker.halt
    if halt.no_new_campaigns.is_set():
        _release(item, worker, 0)
        return CampaignResult(item.key, Outcome.NOT_ATTEMPTED)
    interview_id = item.interview_id
    for index, request in enumerate(item.requests):
        if halt.no_new_requests.is_set():
            _release(item, worker, index)
            return CampaignResult(item.key, Outcome.INTERRUPTED, index)
        # Only a create's own path lacks the id; every later one names what it returned.
        path = request.path.replace(INTERVIEW_ID, interview_id) if interview_id else request.path
        try:
            if request.creates:
                assert worker.create_key is not None, "a create is recorded pending first"
                interview_id = _create(item, request, worker.client, marks, worker.create_key)
            elif request.starts:
                assert interview_id is not None, "only a create can precede its own id"
                # A launch contacts people: never for a campaign whose id, and whose mark
                # that it may be launched, are not on disk yet.
                marks.recorder.flush()
                send_start(worker.client, path, interview_id, worker.workspace_id)
            else:
                assert interview_id is not None, "only a create can precede its own id"
                worker.client.send(request.method, path, request.body)
            _record(marks, item, interview_id, index)
        except Cancelled as exc:  # asked to stop while it waited to be sent (again)
            _release(item, worker, index + 1 if exc.may_have_taken_effect else index)
            return CampaignResult(item.key, Outcome.INTERRUPTED, index)
        except ApiError as exc:
            # A request that may have taken effect keeps its fields unconfirmed, and a
            # refused create its pending record, unless that create surely made nothing.
            if request.creates and made_nothing(exc, request):
                marks.recorder.update(item.key, _unless_created)
            else:
                maybe = outcome_unknown(exc) or request.creates
                _release(item, worker, index + 1 if maybe else index)
            error = located_error(item, request, exc, path)
            if exc.code == "campaign_locked":  # this campaign only: the others go on
                return CampaignResult(item.key, Outcome.REFUSED, index, error)
            halt.no_new_campaigns.set()
            return CampaignResult(item.key, Outcome.FAILED, index, error)
        worker.counter.report(f"{item.key}: {request.method} {path} done")
    return CampaignResult(item.key, Outcome.APPLIED, len(item.requests))


def _release(item: CampaignPlan, worker: _Worker, first_unsent: int) -> None:
    """Take back what was recorded for the requests from `first_unsent` on, never sent."""
    if first_unsent == 0 and item.requests[0].creates:
        if item.requests[0].idempotency_key is None:  # recorded pending by this run
            worker.marks.recorder.update(item.key, _unless_created)
        return
    worker.marks.release(item.requests, first_unsent)


def _unless_created(entry: Entry | None) -> Entry | None:
    """Nothing, where a create was recorded pending and never sent."""
    return entry if entry is None or entry.interview_id is not None else None


def _mark_pending(item: CampaignPlan, request: Request, recorder: StateRecorder) -> str:
    """Record `request`, a create, as pending; the Idempotency-Key it is to be sent with.

    In the write before the first request: if the process dies after Ontora creates the
    campaign but before its id is written, the next run resends this key and body, and
    Ontora answers with that campaign.
    """
    key = request.idempotency_key or str(uuid.uuid4())

    def pending(entry: Entry | None) -> Entry:
        if entry is not None and entry.pending_create is not None:
            return entry  # resuming: keep the original key and start time
        return Entry(
            pending_create=PendingCreate(idempotency_key=key, body=request.body, started_at=now())
        )

    recorder.update(item.key, pending)
    return key


def _create(item: CampaignPlan, request: Request, client: Sender, marks: Marks, key: str) -> str:
    """Send the create; queue its new id, with the fields later requests send marked."""
    answer = client.send(request.method, request.path, request.body, idempotency_key=key)
    interview_id = _campaign_id(answer)
    if interview_id is None:
        raise ApiError(f"POST {request.path} answered without a campaign id.")
    # Everything the create sent is set, even a field the file dropped since a pending
    # create was first sent: the requests after it clear that. Queued before any later
    # request's success, so the id is never written after what was done with it.
    created = Entry(interview_id=interview_id, last_applied=_fields_applied({}, request.body, ()))
    later = item.requests[item.requests.index(request) + 1 :]
    marks.recorder.update(item.key, lambda entry: marks.marked(created, interview_id, later))
    return interview_id


def _campaign_id(answer: Any) -> str | None:
    """The id a create answered with, if it is a UUID: it goes into every later path."""
    value = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return canonical_uuid(value)
    except ValueError:
        return None


def _record(marks: Marks, item: CampaignPlan, interview_id: str, index: int) -> None:
    """The success of request `index`: its fields move from unconfirmed to last applied,
    but for those a later request sends again, which stay unconfirmed until it succeeds,
    and those it sent as last applied, which keep the value state holds."""
    request, last = item.requests[index], index == len(item.requests) - 1
    if request.creates and not last:
        return  # the create's fields are on disk already, with its id
    later = {name for again in item.requests[index + 1 :] for name in again.sets}

    def change(entry: Entry | None) -> Entry:
        entry = entry or Entry(interview_id=interview_id)
        last_applied = entry.last_applied
        if not request.creates:
            last_applied = _fields_applied(last_applied, marks.applied(request.sets), item.cleared)
        # The proof that the file was fully applied is set by the campaign's last request
        # only, so a campaign left part-way is never mistaken for its file (old or new).
        return entry.model_copy(
            update={
                "interview_id": interview_id,
                "last_applied": last_applied,
                "source_digest": item.source_digest if last else None,
                "contacts_file": item.contacts_file if last else None,
                "applied_at": now(),
                "unconfirmed": {
                    name: value
                    for name, value in entry.unconfirmed.items()
                    if name not in request.sets or name in later
                },
                "pending_create": None,
            }
        )

    marks.recorder.update(item.key, change)


def _fields_applied(
    last_applied: dict[str, Any], body: dict[str, Any], cleared: Sequence[str]
) -> dict[str, Any]:
    """Last-applied after a request succeeded: what it sent is now the file's value, and
    what it cleared is no longer managed."""
    fields = dict(last_applied)
    for name, value in body.items():
        if name == "workspace_id":
            continue
        if name in cleared:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields
