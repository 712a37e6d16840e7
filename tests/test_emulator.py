"""The emulator in-process: documented behaviour, errors in the service's shapes, faults."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from campaignsync.emulator import create_app
from campaignsync.emulator_faults import Faults
from campaignsync.emulator_state import EmulatorConfig
from campaignsync.errors import ConfigError
from campaignsync.ontora_models import INTERVIEW_OUT_FIELDS, INTERVIEWS_PATH
from tests.emulator_harness import TOKEN, Emulator, wait_for
from tests.emulator_harness import WORKSPACE as HARNESS_WORKSPACE

WORKSPACE = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"
AUTH = {"X-API-Key": "secret-key-123"}


def client(**config: Any) -> TestClient:
    return TestClient(create_app(EmulatorConfig(**config)))


def create(api: TestClient, key: str = "k1", **fields: Any) -> Any:
    body = {"workspace_id": WORKSPACE, "name": "A", **fields}
    return api.post("/v1/interviews", json=body, headers={**AUTH, "Idempotency-Key": key})


def test_create_answers_interview_out_and_lists_it() -> None:
    api = client()
    answer = create(api, goal="G")
    assert answer.status_code == 201
    interview = answer.json()
    assert list(interview) == list(INTERVIEW_OUT_FIELDS)
    assert (interview["status"], interview["goal"]) == ("draft", "G")
    listed = api.get("/v1/interviews", params={"workspace_id": WORKSPACE}, headers=AUTH).json()
    assert [item["id"] for item in listed] == [interview["id"]]
    other = "00000000-0000-4000-8000-000000000000"
    assert api.get("/v1/interviews", params={"workspace_id": other}, headers=AUTH).json() == []


def test_list_filters_by_project_and_status() -> None:
    api = client()
    project = "9d1f0c2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"
    in_project = create(api, key="a", project_id=project).json()["id"]
    create(api, key="b")
    api.put(f"/_emulator/campaigns/{in_project}/status", json={"status": "paused"})

    def listed(**params: str) -> list[str]:
        query = {"workspace_id": WORKSPACE, **params}
        return [item["id"] for item in api.get("/v1/interviews", params=query, headers=AUTH).json()]

    assert listed(project_id=project) == [in_project]
    assert listed(status="paused") == [in_project]
    assert listed(project_id=project, status="draft") == []


def test_rehearsal_endpoints_refuse_an_unknown_status_and_campaign() -> None:
    api = client()
    interview_id = create(api).json()["id"]
    answer = api.put(f"/_emulator/campaigns/{interview_id}/status", json={"status": "gone"})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_status")
    assert api.delete(f"/_emulator/campaigns/{interview_id}").json() == {"status": "deleted"}
    assert api.delete(f"/_emulator/campaigns/{interview_id}").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}],
)
def test_auth_failures_are_401_with_detail_and_code(headers: dict[str, str]) -> None:
    api = client(token="right")
    answer = api.post("/v1/interviews", json={}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid or missing API key", "code": "invalid_api_key"}


def test_bearer_and_api_key_are_both_accepted() -> None:
    api = client(token="right")
    for headers in ({"X-API-Key": "right"}, {"Authorization": "Bearer right"}):
        answer = api.get("/v1/interviews", params={"workspace_id": WORKSPACE}, headers=headers)
        assert answer.status_code == 200


def test_validation_errors_have_fastapi_shape() -> None:
    api = client()
    answer = api.post("/v1/interviews", json={"workspace_id": WORKSPACE}, headers=AUTH)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert (error["type"], error["loc"], error["msg"]) == (
        "missing",
        ["body", "name"],
        "Field required",
    )
    interview_id = create(api).json()["id"]
    answer = api.put(
        f"/v1/campaign-creation/{interview_id}/finalize",
        json={"topics": [{"goal": "x"}]},
        headers=AUTH,
    )
    assert answer.json()["detail"][0]["loc"] == ["body", "topics", 0, "name"]


@pytest.mark.parametrize(
    ("content", "kind"), [(b"", "missing"), (b"{not json", "json_invalid"), (b"[]", "model_type")]
)
def test_a_body_that_is_not_a_json_object_is_a_422_at_body(content: bytes, kind: str) -> None:
    api = client()
    headers = {**AUTH, "Content-Type": "application/json"}
    answer = api.post("/v1/interviews", content=content, headers=headers)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert (error["type"], error["loc"]) == (kind, ["body"])


def test_strict_rejects_undocumented_fields_and_lax_ignores_them() -> None:
    strict = create(client(strict=True), voice_id="v")
    assert strict.status_code == 422
    assert strict.json()["detail"][0]["loc"] == ["body", "voice_id"]
    assert create(client(), voice_id="v").status_code == 201


def test_unknown_and_malformed_ids() -> None:
    api = client()
    missing = api.patch(
        "/v1/campaign-creation/00000000-0000-4000-8000-000000000000/draft", json={}, headers=AUTH
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert api.patch("/v1/campaign-creation/nope/draft", json={}, headers=AUTH).status_code == 422


def test_idempotency_key_replays_and_refuses_another_body() -> None:
    api = client()
    first = create(api, key="same").json()
    assert create(api, key="same").json() == first
    reused = create(api, key="same", goal="different")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert len(api.get("/_emulator/campaigns").json()) == 1


def test_draft_and_finalize_store_fields_and_completed_campaigns_are_locked() -> None:
    api = client()
    interview_id = create(api).json()["id"]
    base = f"/v1/campaign-creation/{interview_id}"
    assert api.patch(f"{base}/draft", json={"voice_id": "v"}, headers=AUTH).status_code == 200
    contacts = [{"name": "Ann", "email": "ann@example.org"}]
    assert api.put(f"{base}/finalize", json={"contacts": contacts}, headers=AUTH).status_code == 200
    stored = api.get(f"/_emulator/campaigns/{interview_id}").json()
    assert (stored["voice_id"], stored["contacts"]) == ("v", contacts)
    api.put(f"/_emulator/campaigns/{interview_id}/status", json={"status": "completed"})
    locked = api.patch(f"{base}/draft", json={"goal": "x"}, headers=AUTH)
    assert locked.status_code == 409
    assert locked.json()["code"] == "campaign_locked"


def test_start_moves_a_draft_to_active_once() -> None:
    api = client()
    interview_id = create(api).json()["id"]
    started = api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH)
    assert started.json()["interview"]["status"] == "active"
    assert api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH).status_code == 409


def test_start_answers_the_interview_the_count_it_scheduled_and_a_message() -> None:
    api = client()
    interview_id = create(api).json()["id"]
    finalize = f"/v1/campaign-creation/{interview_id}/finalize"
    api.put(finalize, json={"contacts": [{"name": "Ann"}]}, headers=AUTH).raise_for_status()
    started = api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH)
    assert started.status_code == 200
    answer = started.json()
    assert set(answer) == {"interview", "scheduled_count", "message"}
    assert set(answer["interview"]) == set(INTERVIEW_OUT_FIELDS)
    assert answer["scheduled_count"] == 1
    again = api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH)
    assert (again.status_code, again.json()["code"]) == (409, "campaign_locked")
    api.put(f"/_emulator/campaigns/{interview_id}/status", json={"status": "paused"})
    paused = api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH)
    assert paused.status_code == 409


def test_an_active_campaign_is_editable_unless_a_trial_locks_active() -> None:
    api = client()
    interview_id = create(api).json()["id"]
    api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH).raise_for_status()
    base = f"/v1/campaign-creation/{interview_id}"
    assert api.patch(f"{base}/draft", json={"goal": "x"}, headers=AUTH).status_code == 200
    faults = api.put("/_emulator/faults", json={"locked_statuses": ["active", "completed"]})
    assert faults.json()["locked_statuses"] == ["active", "completed"]
    for method, path in (("PATCH", f"{base}/draft"), ("PUT", f"{base}/finalize")):
        locked = api.request(method, path, json={"goal": "y"}, headers=AUTH)
        assert (locked.status_code, locked.json()["code"]) == (409, "campaign_locked")
        assert "active" in locked.json()["detail"]
    stored = api.get(f"/_emulator/campaigns/{interview_id}").json()
    assert stored["goal"] == "x"


def test_locked_statuses_are_documented_ones() -> None:
    answer = client().put("/_emulator/faults", json={"locked_statuses": ["frozen"]})
    assert answer.status_code == 422


def test_locked_statuses_can_be_given_when_the_emulator_starts() -> None:
    api = client(faults=Faults(locked_statuses=["active"]))
    interview_id = create(api).json()["id"]
    api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH).raise_for_status()
    draft = f"/v1/campaign-creation/{interview_id}/draft"
    assert api.patch(draft, json={"goal": "x"}, headers=AUTH).status_code == 409


def test_data_file_keeps_campaigns_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    interview_id = create(client(data_path=data)).json()["id"]
    assert interview_id in client(data_path=data).get("/_emulator/campaigns").json()


def test_data_file_keeps_what_start_scheduled(tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    api = client(data_path=data)
    interview_id = create(api).json()["id"]
    contacts = [{"name": "Ann"}, {"name": "Bo"}]
    finalize = f"/v1/campaign-creation/{interview_id}/finalize"
    api.put(finalize, json={"contacts": contacts}, headers=AUTH).raise_for_status()
    started = api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH).json()
    assert started["interview"]["scheduled_count"] == 2
    listed = client(data_path=data).get(
        "/v1/interviews", params={"workspace_id": WORKSPACE}, headers=AUTH
    )
    assert [item["scheduled_count"] for item in listed.json()] == [2]


def listed_counts(api: TestClient) -> list[tuple[int, int, int]]:
    listed = api.get("/v1/interviews", params={"workspace_id": WORKSPACE}, headers=AUTH).json()
    names = ("contact_count", "scheduled_count", "completed_count")
    return [tuple(item[name] for name in names) for item in listed]


def test_interviews_held_are_set_through_the_admin_api_and_listed(tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    api = client(data_path=data)
    interview_id = create(api).json()["id"]
    contacts = [{"name": "Ann"}, {"name": "Bo"}, {"name": "Cy"}]
    finalize = f"/v1/campaign-creation/{interview_id}/finalize"
    api.put(finalize, json={"contacts": contacts}, headers=AUTH).raise_for_status()
    api.post(f"/v1/interviews/{interview_id}/start", headers=AUTH).raise_for_status()
    assert listed_counts(api) == [(3, 3, 0)]
    held = {"scheduled_count": 1, "completed_count": 2}
    answer = api.put(f"/_emulator/campaigns/{interview_id}/interviews", json=held)
    assert answer.status_code == 200
    assert listed_counts(api) == [(3, 1, 2)]
    assert listed_counts(client(data_path=data)) == [(3, 1, 2)]
    only = api.put(f"/_emulator/campaigns/{interview_id}/interviews", json={"completed_count": 3})
    assert only.status_code == 200
    assert listed_counts(api) == [(3, 1, 3)]


@pytest.mark.parametrize(
    "body",
    [{"completed_count": -1}, {"completed_count": "2"}, {"contact_count": 9}, [1]],
)
def test_interviews_held_must_be_counts(body: Any) -> None:
    api = client()
    interview_id = create(api).json()["id"]
    answer = api.put(f"/_emulator/campaigns/{interview_id}/interviews", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "body"
    assert listed_counts(api) == [(0, 0, 0)]
    unknown = "00000000-0000-4000-8000-000000000000"
    gone = api.put(f"/_emulator/campaigns/{unknown}/interviews", json={"completed_count": 1})
    assert gone.status_code == 404


def test_a_data_file_can_hold_interviews_completed(tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    interview_id = create(client(data_path=data)).json()["id"]
    document = json.loads(data.read_text())
    document["campaigns"][interview_id] |= {"status": "active", "completed_count": 57}
    data.write_text(json.dumps(document))
    assert listed_counts(client(data_path=data)) == [(0, 0, 57)]


def test_faults_503_and_429_with_retry_after() -> None:
    api = client(faults=Faults(error_rate=1.0))
    answer = create(api)
    assert (answer.status_code, answer.json()["code"]) == (503, "unavailable")
    limited = client(faults=Faults(rate_limit=1))
    assert create(limited, key="a").status_code == 201
    answer = create(limited, key="b")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"


def test_faults_change_at_run_time_and_reset_clears_everything() -> None:
    api = client()
    assert api.put("/_emulator/faults", json={"error_rate": 1}).json()["error_rate"] == 1.0
    assert create(api).status_code == 503
    assert api.put("/_emulator/faults", json={"bogus": 1}).status_code == 422
    api.put("/_emulator/faults", json={"error_rate": 0})
    create(api)
    api.post("/_emulator/reset")
    assert api.get("/_emulator/campaigns").json() == {}
    assert api.get("/_emulator/requests").json() == []


def test_the_request_log_keeps_bodies_but_never_credentials() -> None:
    api = client()
    create(api, key="k-9")
    assert api.post("/v1/interviews", content=b"\xff not json", headers=AUTH).status_code == 422
    (entry, garbled) = api.get("/_emulator/requests").json()
    assert entry["body"]["name"] == "A"
    assert garbled["body"] == "\ufffd not json"
    assert entry["idempotency_key"] == "k-9"
    assert "secret-key-123" not in str(entry)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b'{"campaigns": {"x": {"n": NaN}}}', r"can read \(it holds a number"),
        (b"[1, 2]", "not an emulator data document"),
        (b'{"campaigns": {"x": 1}}', "not an emulator data document"),
        (b'{"idempotency": {"k": ["id"]}}', "not an emulator data document"),
    ],
)
def test_a_corrupt_data_file_is_a_clear_error(tmp_path: Path, content: bytes, reason: str) -> None:
    data = tmp_path / "emulator.json"
    data.write_bytes(content)
    with pytest.raises(ConfigError, match=reason) as caught:
        client(data_path=data)
    assert "--data" in str(caught.value)


def test_a_data_file_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        client(data_path=tmp_path)


@pytest.mark.parametrize(
    "update",
    [
        {"latency_ms": "abc"},
        {"latency_ms": "5"},
        {"error_rate": "0.5"},
        {"error_rate": 2},
        {"drop_next": -1},
        {"drop_next": 1.5},
        {"rate_limit": None},
        {"reject_fields": "topics.name"},
        {"reject_fields": [1, 2]},
        {"latency_ms": True},
    ],
)
def test_faults_of_the_wrong_type_are_a_422_and_change_nothing(update: dict[str, Any]) -> None:
    api = client()
    before = api.get("/_emulator/faults").json()
    answer = api.put("/_emulator/faults", json=update)
    assert answer.status_code == 422
    assert answer.json()["detail"]
    assert api.get("/_emulator/faults").json() == before


def test_a_fault_body_that_is_not_a_mapping_is_a_422() -> None:
    assert client().put("/_emulator/faults", json=[1]).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/_emulator/faults", b'{"error_rate": NaN}'),
        ("PUT", "/_emulator/faults", b'{"rate_limit": Infinity}'),
        ("POST", "/v1/interviews", b'{"name": "x", "completion_threshold": NaN}'),
        (
            "PUT",
            "/v1/campaign-creation/{id}/finalize",
            b'{"topics": [{"name": "a", "success_threshold": NaN}]}',
        ),
    ],
)
def test_a_body_holding_nan_or_infinity_is_a_422_not_a_crash(
    method: str, path: str, body: bytes
) -> None:
    # Python's JSON reader takes NaN and Infinity; JSON cannot carry them back in the 422.
    api = client()
    interview_id = create(api).json()["id"]
    headers = {**AUTH, "content-type": "application/json", "Idempotency-Key": "k-nan"}
    answer = api.request(method, path.format(id=interview_id), content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][0] == "body"


def test_a_request_held_by_latency_is_listed_in_flight_until_answered(emulator: Emulator) -> None:
    emulator.reset()
    emulator.set_faults(latency_ms=5_000)
    listing = f"{emulator.url}{INTERVIEWS_PATH}?workspace_id={HARNESS_WORKSPACE}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(httpx.get, listing, headers=headers, timeout=90)
            wait_for(lambda: emulator.in_flight() != [], "the request to arrive")
            assert emulator.in_flight() == [{"method": "GET", "path": INTERVIEWS_PATH}]
            assert not [r for r in emulator.requests() if r["path"] == INTERVIEWS_PATH]
            assert answer.result().status_code == 200
        assert emulator.in_flight() == []
        assert [r["path"] for r in emulator.requests()] == [INTERVIEWS_PATH]
    finally:
        emulator.reset()


def test_a_request_whose_client_dies_during_the_latency_still_takes_effect(
    emulator: Emulator,
) -> None:
    # As at a real service: a request sent whole is carried out though no one hears back,
    # which is what a client killed mid-apply leaves behind.
    emulator.reset()
    emulator.set_faults(latency_ms=2_000)
    body = json.dumps({"workspace_id": HARNESS_WORKSPACE, "name": "Left behind"}).encode()
    host, port = httpx.URL(emulator.url).host, httpx.URL(emulator.url).port
    head = (
        f"POST {INTERVIEWS_PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    try:
        with socket.create_connection((host, port)) as connection:
            connection.sendall(head.encode() + body)
            wait_for(lambda: emulator.in_flight() != [], "the request to arrive")
        wait_for(lambda: emulator.in_flight() == [], "the request to be carried out")
        assert [c["name"] for c in emulator.campaigns().values()] == ["Left behind"]
    finally:
        emulator.reset()
