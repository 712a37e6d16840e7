"""The API client on httpx.MockTransport: auth, retries, Retry-After, errors, secrets."""

from __future__ import annotations

import json
import random
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import certifi
import httpx
import pytest

from campaignsync.errors import ApiError, Cancelled, ConfigError
from campaignsync.ontora import OntoraClient, _tls_context, prepare_tls

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A transport answering from a script of responses, recording what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **options: object) -> OntoraClient:
        return OntoraClient(
            "https://api.ontora.test",
            transport=httpx.MockTransport(self),
            sleep=self.sleeps.append,
            **{"token": "tok-secret", **options},  # type: ignore[arg-type]
        )


def ok(body: object = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"id": "x"})


def test_sends_auth_user_agent_and_json() -> None:
    script = Recorder(ok())
    script.client().send("PATCH", "/v1/campaign-creation/x/draft", {"goal": "G"})
    (request,) = script.requests
    assert request.headers["Authorization"] == "Bearer tok-secret"
    assert request.headers["User-Agent"].startswith("campaignsync/")
    assert json.loads(request.content) == {"goal": "G"}


def test_the_body_is_compact_utf8_json_sent_the_same_on_every_try() -> None:
    script = Recorder(httpx.Response(503), ok())
    script.client().send("PUT", "/v1/x/finalize", {"goal": "Café", "topics": [{"n": 1.5}]})
    assert [request.content for request in script.requests] == [
        '{"goal":"Café","topics":[{"n":1.5}]}'.encode()
    ] * 2
    assert {request.headers["Content-Type"] for request in script.requests} == {"application/json"}


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_a_body_json_cannot_carry_is_never_sent(number: float) -> None:
    script = Recorder(ok())
    with pytest.raises(ApiError, match=r"^PATCH /v1/x was not sent: its body cannot be JSON"):
        script.client().send("PATCH", "/v1/x", {"goal": [number]})
    assert script.requests == []


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b'[{"id": NaN}]', "a number that is not finite"),
        (b'[{"id": 1e400}]', "a number that is not finite"),
        (b"[" * 100_000, "nests values deeper than"),
        (b'[{"name": "\\ud800"}]', "text that is not Unicode"),
        (b"<html>proxy error</html>", "not valid JSON"),
    ],
)
def test_an_answer_campaignsync_cannot_hold_is_said_for_a_read_and_ignored_for_an_edit(
    answer: bytes, why: str
) -> None:
    script = Recorder(
        httpx.Response(200, content=answer),
        httpx.Response(422, content=answer),
        httpx.Response(200, content=answer),
    )
    assert script.client().send("PATCH", "/v1/x", {}) is None  # it took effect all the same
    with pytest.raises(ApiError, match="answered 422: Unprocessable Entity"):
        script.client().send("PATCH", "/v1/x", {})
    with pytest.raises(ApiError, match=r"^GET /v1/interviews answered 200 with what") as caught:
        script.client().list_interviews("ws")
    assert why in str(caught.value)
    create = Recorder(httpx.Response(201, content=answer))
    with pytest.raises(ApiError, match=r"^POST /v1/interviews answered 201 with what") as caught:
        create.client().send("POST", "/v1/interviews", {}, idempotency_key="k")
    assert why in str(caught.value)
    assert caught.value.status is None  # it may have made the campaign: kept pending


def test_an_api_key_is_sent_as_x_api_key() -> None:
    script = Recorder(ok())
    script.client(token=None, api_key="ont_key").send("PUT", "/v1/x", {})
    assert script.requests[0].headers["X-API-Key"] == "ont_key"
    assert "Authorization" not in script.requests[0].headers


def test_no_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="No Ontora credentials"):
        OntoraClient("https://api.ontora.test")


def test_429_honours_retry_after_then_succeeds() -> None:
    script = Recorder(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    assert script.client().send("PATCH", "/v1/x", {}) == {"id": "x"}
    assert len(script.requests) == 2
    assert 3 <= script.sleeps[0] <= 6


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(status: int) -> None:
    script = Recorder(httpx.Response(status), httpx.Response(status), ok())
    script.client().send("PUT", "/v1/x", {})
    assert len(script.requests) == 3
    assert all(0 <= delay <= 30 for delay in script.sleeps)


def test_dropped_connections_and_timeouts_are_retried() -> None:
    script = Recorder(
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        ok(),
    )
    script.client().send("PATCH", "/v1/x", {})
    assert len(script.requests) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_client_errors_are_never_retried(status: int) -> None:
    script = Recorder(httpx.Response(status, json={"detail": "no", "code": "nope"}))
    with pytest.raises(ApiError) as caught:
        script.client().send("PATCH", "/v1/x", {})
    assert len(script.requests) == 1
    assert (caught.value.status, caught.value.code) == (status, "nope")


def test_attempts_are_bounded() -> None:
    script = Recorder(*[httpx.Response(503)] * 3)
    with pytest.raises(ApiError, match="answered 503"):
        script.client(max_retries=2).send("PATCH", "/v1/x", {})
    assert len(script.requests) == 3


def test_a_create_is_retried_only_with_the_same_idempotency_key() -> None:
    script = Recorder(httpx.RemoteProtocolError("dropped"), ok(status=201))
    script.client().send("POST", "/v1/interviews", {"name": "A"}, idempotency_key="k-1")
    assert [r.headers["Idempotency-Key"] for r in script.requests] == ["k-1", "k-1"]
    with pytest.raises(ValueError, match="Idempotency-Key"):
        script.client().send("POST", "/v1/interviews", {"name": "A"})


def test_422_keeps_fastapi_detail_for_locating() -> None:
    detail = [{"loc": ["body", "topics", 1, "name"], "msg": "Field required", "type": "missing"}]
    script = Recorder(httpx.Response(422, json={"detail": detail}))
    with pytest.raises(ApiError) as caught:
        script.client().send("PUT", "/v1/x", {})
    assert caught.value.detail == detail


def test_401_and_403_say_what_to_fix() -> None:
    script = Recorder(
        httpx.Response(401, json={"detail": "bad key", "code": "invalid_api_key"}),
        httpx.Response(403, json={"detail": "scope", "code": "insufficient_scope"}),
    )
    with pytest.raises(ApiError, match="Check ONTORA_API_KEY / ONTORA_API_TOKEN"):
        script.client().send("PUT", "/v1/x", {})
    with pytest.raises(ApiError, match="lacks the 'interviews' scope"):
        script.client().send("PUT", "/v1/x", {})


def test_secrets_never_appear_in_errors() -> None:
    script = Recorder(httpx.Response(500, json={"detail": "echo tok-secret", "code": "x"}))
    with pytest.raises(ApiError) as caught:
        script.client(max_retries=0).send("PUT", "/v1/x", {})
    assert "tok-secret" not in str(caught.value)


def test_list_interviews_requires_a_list() -> None:
    script = Recorder(ok([{"id": "a"}, "junk"]), ok({"not": "a list"}))
    assert script.client().list_interviews("ws") == [{"id": "a"}]
    assert script.requests[0].url.params["workspace_id"] == "ws"
    with pytest.raises(ApiError, match="did not answer with a list"):
        script.client().list_interviews("ws")


# --- Every failure httpx can raise is a user error that says what to check ---------------


@pytest.mark.parametrize(
    ("failure", "check"),
    [
        (httpx.ProxyError("407 Proxy Authentication Required"), "HTTPS_PROXY"),
        (httpx.UnsupportedProtocol("unsupported protocol 'ftp://'"), "--api-url"),
        (httpx.InvalidURL("Invalid port: 'abc'"), "--api-url"),
        (httpx.TooManyRedirects("Exceeded maximum allowed redirects."), "--api-url"),
        (httpx.LocalProtocolError("Illegal header value b'tok-secret\\n'"), "ONTORA_API_KEY"),
        (httpx.DecodingError("Error -3 while decompressing data"), "broken body"),
        (httpx.StreamConsumed(), "StreamConsumed"),
        (httpx.CookieConflict("Multiple cookies exist with name=a"), "CookieConflict"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_every_httpx_failure_is_an_api_error_saying_what_to_check(
    failure: Exception, check: str
) -> None:
    script = Recorder(failure, ok())
    with pytest.raises(ApiError) as caught:
        script.client().send("PATCH", "/v1/x", {})
    assert check in str(caught.value)
    assert "tok-secret" not in str(caught.value)
    assert len(script.requests) == 1, "only connection-level failures are retried"


def test_a_body_that_cannot_be_decoded_is_an_api_error() -> None:
    garbage = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
    )
    script = Recorder(garbage)
    with pytest.raises(ApiError, match="could not be decoded"):
        script.client().send("PATCH", "/v1/x", {})


def test_transport_errors_after_the_last_retry_name_the_check_without_the_secret() -> None:
    script = Recorder(*[httpx.ConnectError("refused by tok-secret")] * 2)
    with pytest.raises(ApiError) as caught:
        script.client(max_retries=1).send("PATCH", "/v1/x", {})
    assert "after 2 attempt(s): cannot connect" in str(caught.value)
    assert "check the API URL" in str(caught.value)
    assert "tok-secret" not in str(caught.value)


def test_an_error_detail_is_one_line_without_control_characters() -> None:
    detail = "conflict\n::error file=x::forged\x1b[2J tok-secret"
    script = Recorder(httpx.Response(409, json={"detail": detail, "code": "campaign_locked"}))
    with pytest.raises(ApiError) as caught:
        script.client().send("PATCH", "/v1/x", {})
    message = str(caught.value)
    assert "\n" not in message
    assert "\x1b" not in message
    assert "tok-secret" not in message


def test_an_invalid_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="API URL"):
        OntoraClient("http://127.0.0.1:abc", token="t")


@pytest.mark.parametrize(
    ("variable", "proxy"),
    [("ALL_PROXY", "socks5://127.0.0.1:1"), ("HTTPS_PROXY", "ftp://127.0.0.1:1")],
)
def test_a_proxy_setting_httpx_cannot_use_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, proxy: str
) -> None:
    monkeypatch.setenv(variable, proxy)
    with pytest.raises(ConfigError, match="HTTPS_PROXY"):
        OntoraClient("https://api.ontora.test", token="t")


class Timeline:
    """A clock that only sleeping moves: retries are checked in virtual seconds, not real."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def timed_client(timeline: Timeline, handler: Handler, seed: int = 0) -> OntoraClient:
    return OntoraClient(
        "https://api.ontora.test",
        token="tok-secret",
        transport=httpx.MockTransport(handler),
        sleep=timeline.sleep,
        clock=timeline.clock,
        rng=random.Random(seed),
    )


def test_retry_after_jitter_spreads_over_the_whole_wait() -> None:
    waits = []
    for seed in range(40):
        timeline = Timeline()
        script = Recorder(httpx.Response(429, headers={"Retry-After": "4"}), ok())
        timed_client(timeline, script, seed).send("PATCH", "/v1/x", {})
        waits.append(sum(timeline.sleeps))
    assert all(4 <= wait <= 8 for wait in waits)  # never sooner than asked
    assert max(waits) - min(waits) > 2  # spread over the wait, not bunched after it


def test_a_429_pauses_every_request_of_the_client_not_only_its_own() -> None:
    timeline = Timeline()
    sent: list[tuple[float, str]] = []
    limited = {"/v1/a"}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append((timeline.now, request.url.path))
        if request.url.path in limited:
            limited.discard(request.url.path)
            return httpx.Response(429, headers={"Retry-After": "10"})
        return ok()

    workers: list[OntoraClient] = []
    other_started: list[float] = []

    def sleep(seconds: float) -> None:
        # While the first request waits out its Retry-After, another worker sends one.
        if not other_started:
            other_started.append(timeline.now)
            workers[0].send("PATCH", "/v1/b", {})
        timeline.sleep(seconds)

    client = OntoraClient(
        "https://api.ontora.test",
        token="t",
        transport=httpx.MockTransport(answer),
        sleep=sleep,
        clock=timeline.clock,
    )
    workers.append(client)
    client.send("PATCH", "/v1/a", {})
    assert other_started == [0.0]
    times = {path: when for when, path in sent[1:]}
    assert times["/v1/b"] >= 10
    assert times["/v1/a"] >= 10


def test_the_client_is_safe_to_share_between_threads() -> None:
    served: list[str] = []
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            served.append(request.url.path)
            first = served.count(request.url.path) == 1
        if first and request.url.path.endswith("0"):
            return httpx.Response(429, headers={"Retry-After": "0"})
        return ok()

    client = OntoraClient(
        "https://api.ontora.test", token="t", transport=httpx.MockTransport(answer)
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: client.send("PUT", f"/v1/{n}", {}), range(40)))
    assert answers == [{"id": "x"}] * 40
    assert sorted(set(served)) == sorted(f"/v1/{n}" for n in range(40))


def test_waiting_as_asked_does_not_use_up_the_retries_but_is_bounded() -> None:
    timeline = Timeline()
    script = Recorder(*[httpx.Response(429, headers={"Retry-After": "1"})] * 8, ok())
    client = timed_client(timeline, script)
    assert client.send("PATCH", "/v1/x", {}) == {"id": "x"}  # max_retries is 5
    answered: list[int] = []

    def always_limited(request: httpx.Request) -> httpx.Response:
        answered.append(429)
        return httpx.Response(429, headers={"Retry-After": "120"})

    with pytest.raises(ApiError, match="answered 429"):
        OntoraClient(
            "https://api.ontora.test",
            token="t",
            transport=httpx.MockTransport(always_limited),
            max_retries=0,
            sleep=timeline.sleep,
            clock=timeline.clock,
        ).send("PATCH", "/v1/x", {})
    assert len(answered) == 6  # ten minutes of asked-for waiting, then it gives up


def rate_limited(seconds: int) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": str(seconds)})


@pytest.mark.parametrize("answer", [rate_limited(60), httpx.Response(503)])
def test_a_stop_ends_a_retry_wait_at_once_and_sends_nothing_more(
    answer: httpx.Response,
) -> None:
    script = Recorder(answer, ok())
    stop = threading.Event()
    client = OntoraClient(
        "https://api.ontora.test",
        token="tok-secret",
        transport=httpx.MockTransport(script),
        max_retries=3,
        stop=stop,
        rng=random.Random(1),
    )
    outcome: list[BaseException | object] = []

    def send() -> None:
        try:
            outcome.append(client.send("PATCH", "/v1/campaign-creation/x/draft", {"goal": "G"}))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=send)
    worker.start()
    while not script.requests:  # the first attempt is answered, then the wait begins
        worker.join(timeout=0.01)
    stop.set()
    worker.join(timeout=20)  # well under the 60 s asked for
    assert not worker.is_alive()
    (error,) = outcome
    assert isinstance(error, Cancelled)
    # A 503 may have been taken up before it failed; a 429 never was.
    assert error.may_have_taken_effect is (answer.status_code == 503)
    assert len(script.requests) == 1


def test_a_stop_set_before_a_request_sends_nothing() -> None:
    script = Recorder(ok())
    stop = threading.Event()
    stop.set()
    client = script.client(stop=stop)
    with pytest.raises(Cancelled) as raised:
        client.send("PATCH", "/v1/campaign-creation/x/draft", {"goal": "G"})
    assert not raised.value.may_have_taken_effect
    assert script.requests == []


def test_the_tls_context_verifies_certificates_and_hostnames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)
    context = _tls_context()
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.get_ca_certs()  # certifi's bundle, loaded


@pytest.mark.parametrize(
    ("variable", "content"),
    [
        ("SSL_CERT_FILE", None),
        ("SSL_CERT_FILE", "not a certificate\n"),
        ("SSLKEYLOGFILE", None),
    ],
)
def test_unusable_tls_settings_are_a_config_error_naming_them_when_a_client_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, content: str | None
) -> None:
    path = tmp_path / "missing" / "keys.log" if variable == "SSLKEYLOGFILE" else tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(variable, str(path))
    prepare_tls()  # only starts building it
    with pytest.raises(ConfigError, match=f"TLS cannot be set up .*{variable}='{path}'"):
        OntoraClient("https://api.ontora.test", token="t")
    monkeypatch.delenv(variable)
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    OntoraClient("https://api.ontora.test", token="t").close()  # other settings: usable


def test_without_a_thread_to_build_it_in_the_tls_context_is_built_when_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))  # settings not seen before
    prepare_tls()
    OntoraClient("https://api.ontora.test", token="t").close()  # neither raises nor hangs
