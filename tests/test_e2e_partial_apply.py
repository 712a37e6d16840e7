"""Property: an apply cut short at any one of a campaign's requests never hides what is left.

For every multi-request plan (create: POST + PUT; finalize: PATCH + PUT; adopt: PATCH +
PUT), the request at one position is refused by Ontora (422), or takes effect but its
answer is lost; then the file is restored, kept, or edited again. The next plan must
send every field where Ontora differs from the file (and, after a refusal, nothing when
Ontora already matches it: after a lost answer, sending again is all it can do), and
applying it must converge: the emulator holds exactly the file, and the next plan is
empty.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from campaignsync.apply import ApplyReport, apply_plan
from campaignsync.commands.wiring import make_plan, read_configured_state
from campaignsync.config import Settings, resolve_settings
from campaignsync.ontora import OntoraClient
from campaignsync.plan import Plan
from campaignsync.recorder import StateRecorder
from tests.emulator_harness import TOKEN, WORKSPACE, Emulator

WEB_APP_KEY = "made-in-the-web-app"
TOPICS = ("Workload", "Tools", "Safety", "Growth")

# One campaign file's fields; `topics` always present, so every plan ends with a PUT.
files = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Team survey", "Team check-in"]),
        "goal": st.sampled_from([None, "Learn what slows people down", "Hear about tools"]),
        "project_context": st.sampled_from([None, "Context one", "Context two"]),
        "topics": st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True),
    }
)


class Repository:
    """One campaign file and its state, planned and applied in-process against the emulator."""

    def __init__(self, root: Path, emulator: Emulator) -> None:
        self.path = root / "campaigns" / "team" / "survey.yaml"
        self.path.parent.mkdir(parents=True)
        self.emulator = emulator
        self.settings: Settings = resolve_settings(
            {
                "dir": str(root / "campaigns"),
                "state": str(root / "state.json"),
                "api_url": emulator.url,
                "workspace_id": WORKSPACE,
            },
            env={"ONTORA_API_TOKEN": TOKEN},
            cwd=root,
        )

    def write(self, fields: dict[str, Any], interview_id: str | None = None) -> None:
        lines = [f"interview_id: {interview_id}"] if interview_id else []
        lines += [f"name: {fields['name']}"]
        lines += [f"{name}: {fields[name]}" for name in ("goal", "project_context") if fields[name]]
        lines += ["topics:", *(f"  - {{name: {topic}}}" for topic in fields["topics"])]
        self.path.write_text("\n".join(lines) + "\n")

    def plan(self) -> Plan:
        return make_plan(self.settings, (), read_configured_state(self.settings))

    def apply(self, plan: Plan, transport: httpx.BaseTransport | None = None) -> ApplyReport:
        current = read_configured_state(self.settings)
        recorder = StateRecorder(
            self.settings.state_path,
            current.model_copy(update={"api_url": self.emulator.url, "workspace_id": WORKSPACE}),
        )
        with OntoraClient(
            self.emulator.url, token=TOKEN, max_retries=0, transport=transport
        ) as client:
            return apply_plan(plan, client=client, recorder=recorder, parallelism=1)


class LoseAnswer(httpx.BaseTransport):
    """Real HTTP to the emulator; the request at `position` takes effect, its answer is lost."""

    def __init__(self, position: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.position = position
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.sent += 1
        if self.sent - 1 == self.position:
            response.read()
            raise httpx.RemoteProtocolError("connection lost before the answer", request=request)
        return response


def desired(fields: dict[str, Any]) -> dict[str, Any]:
    wanted = {name: value for name, value in fields.items() if value is not None}
    return wanted | {"topics": [{"name": topic} for topic in fields["topics"]]}


def differing(remote: dict[str, Any], fields: dict[str, Any], managed: set[str]) -> set[str]:
    """Managed fields where Ontora's campaign is not what the file says (absent, null and []
    alike): those in the file, and those campaignsync once set that the file dropped."""
    wanted = desired(fields)
    return {
        name
        for name in managed | set(wanted)
        if (remote.get(name) or None) != (wanted.get(name) or None)
    }


def ever_set(emulator: Emulator) -> set[str]:
    """Fields some request of campaignsync set in Ontora (whatever state recorded)."""
    return {
        name
        for request in emulator.requests()
        if request["method"] != "GET"
        and request["idempotency_key"] != WEB_APP_KEY
        and isinstance(request["status"], int)
        and request["status"] < 300
        for name in request["body"] or {}
        if name != "workspace_id"
    }


def existing_campaign(emulator: Emulator) -> str:
    """A campaign made in Ontora's web app, for the file to adopt."""
    answer = emulator.http.post(
        "/v1/interviews",
        json={"workspace_id": WORKSPACE, "name": "Made in the web app", "goal": "Old goal"},
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": WEB_APP_KEY},
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def refuse_request(emulator: Emulator, plan: Plan, position: int) -> None:
    """Make Ontora answer 422 to the request at `position`, and to no request before it."""
    (item,) = plan.changed
    earlier = {name for request in item.requests[:position] for name in request.body}
    field = next(name for name in item.requests[position].body if name not in earlier)
    emulator.set_faults(reject_fields=[field])


def cut_short_then(
    emulator: Emulator,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
    failure: str,
    position: int,
    final: dict[str, Any],
) -> None:
    """Apply `after` with the request at `position` refused or its answer lost, then write
    `final`, plan, and converge."""
    emulator.reset()
    with tempfile.TemporaryDirectory() as folder:
        repository = Repository(Path(folder), emulator)
        interview_id = existing_campaign(emulator) if kind == "adopt" else None
        if kind == "finalize":
            repository.write(before)
            assert repository.apply(repository.plan()).ok
        repository.write(after, interview_id)
        plan = repository.plan()
        if failure == "refused":
            refuse_request(emulator, plan, position)
            assert not repository.apply(plan).ok
            emulator.set_faults(reject_fields=[])
        else:
            assert not repository.apply(plan, LoseAnswer(position)).ok

        repository.write(final, interview_id)
        recovery = repository.plan()
        shown = recovery.model_dump_json(indent=2)
        remote = list(emulator.campaigns().values())
        sent = {
            name for item in recovery.changed for request in item.requests for name in request.body
        }
        if kind == "create" and not remote:
            assert recovery.changed[0].requests[0].method == "POST"
        else:
            (campaign,) = remote
            wrong = differing(campaign, final, ever_set(emulator))
            assert wrong <= sent, shown
            if failure == "refused":
                assert recovery.has_changes == bool(wrong), shown

        assert repository.apply(recovery).ok
        (campaign,) = emulator.campaigns().values()
        assert not differing(campaign, final, ever_set(emulator)), json.dumps(campaign, indent=2)
        assert not repository.plan().has_changes


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking e2e runs takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["create", "adopt", "finalize"]),
    before=files,
    after=files,
    edited=files,
)
def test_a_request_cut_short_at_each_position_leaves_a_plan_that_converges(
    emulator: Emulator,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
    edited: dict[str, Any],
) -> None:
    if kind == "finalize":
        # A PATCH (project_context) then a PUT (topics): both must change.
        context = f"{before['project_context'] or 'Context'} (edited)"
        after = after | {"project_context": context, "topics": [*before["topics"], "Pay"]}
    endings = [after, edited] + ([before] if kind == "finalize" else [])
    for failure in ("refused", "answer lost"):
        for position in range(2):  # every plan here is two requests: see the docstring
            for final in endings:
                cut_short_then(emulator, kind, before, after, failure, position, final)


def test_the_refusal_helper_refuses_only_the_chosen_request(emulator: Emulator) -> None:
    # The property above relies on this: position 1 fails while position 0 succeeds.
    emulator.reset()
    with tempfile.TemporaryDirectory() as folder:
        repository = Repository(Path(folder), emulator)
        repository.write({"name": "N", "goal": None, "project_context": "P", "topics": ["T"]})
        plan = repository.plan()
        refuse_request(emulator, plan, 1)
        report = repository.apply(plan)
        assert report.results[0].requests_sent == 1
        statuses = [entry["status"] for entry in emulator.requests()]
        assert statuses == [201, 422]
