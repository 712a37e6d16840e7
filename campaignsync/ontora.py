"""The Ontora API client over httpx: auth, retries with backoff, errors -> ApiError.

Every request campaignsync sends is safe to repeat: PATCH and PUT carry absolute values,
and the one POST (create) is always sent with an Idempotency-Key, so Ontora answers a
repeat with the campaign the first attempt made. That is what makes retrying after a
timeout or a dropped connection safe.
"""

from __future__ import annotations

import json
import os
import random
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import httpx

from campaignsync import __version__
from campaignsync.errors import ApiError, Cancelled, ConfigError, NotSent
from campaignsync.jsontext import read_json
from campaignsync.ontora_models import INTERVIEWS_PATH
from campaignsync.retries import RetryPause, backoff, retry_after
from campaignsync.scrub import untrusted

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures of the connection itself: the request may or may not have arrived, and every
# request is safe to repeat (see above). Anything else httpx raises would fail again.
RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# The whole family httpx raises; not all of it derives from httpx.HTTPError.
HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RATE_LIMIT_PATIENCE = 600.0  # seconds of Retry-After per request, beyond --max-retries


class OntoraClient:
    """A thread-safe client for the endpoints campaignsync uses."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        max_retries: int = 5,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """`stop`, once set, ends any retry wait at once and sends nothing more: every
        call then raises Cancelled. Waits are `stop.wait` unless `sleep` is given."""
        if not token and not api_key:
            raise ConfigError(
                "No Ontora credentials. Set ONTORA_API_KEY (a workspace API key with the "
                "'interviews' scope, sent as X-API-Key) or ONTORA_API_TOKEN (sent as a "
                "Bearer token) in the environment."
            )
        # An API key is what Ontora recommends for programmatic use; prefer it when both are set.
        auth = {"X-API-Key": api_key} if api_key else {"Authorization": f"Bearer {token}"}
        self._secrets = tuple(secret for secret in (token, api_key) if secret)
        headers = {"User-Agent": f"campaignsync/{__version__}", **auth}
        self._client = _http_client(base_url, headers, timeout, transport, self._secrets)
        self._max_retries = max_retries
        self._stop = stop or threading.Event()
        self._sleep = sleep or self._stop.wait
        # One pause for every thread sharing this client (the workers of an apply).
        self._pause = RetryPause(clock=clock, sleep=self._sleep, rng=rng or random.Random())

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OntoraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request, retrying what is safe to retry; return the JSON answer."""
        if method == "POST" and not idempotency_key:
            raise ValueError("a POST must carry an Idempotency-Key to be retried safely")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._request(method, path, body=body, headers=headers)

    def list_interviews(
        self, workspace_id: str, *, project_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """GET /v1/interviews: the scalar fields and status of every campaign, or of those
        of one project or in one status."""
        path = INTERVIEWS_PATH
        filters = {"project_id": project_id, "status": status}
        params = {"workspace_id": workspace_id} | {k: v for k, v in filters.items() if v}
        answer = self._request("GET", path, params=params)
        if not isinstance(answer, list):
            raise ApiError(f"GET {path} did not answer with a list of campaigns.")
        return [item for item in answer if isinstance(item, dict)]

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The JSON answer, after as many tries as a dropped connection or a retryable status
        allow; ApiError when it fails for good, Cancelled once the run is asked to stop."""
        tries = _Tries()
        content = None if body is None else _encoded(method, path, body)
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        while True:
            self._pause.wait()
            if self._stop.is_set():
                again = " again" if tries.started else ""
                raise Cancelled(
                    f"{method} {path} was not sent{again}: the run was asked to stop.",
                    may_have_taken_effect=tries.unsure,
                )
            try:
                response = self._client.request(
                    method, path, content=content, params=params, headers=headers
                )
            except RETRY_ERRORS as exc:
                tries.unsure = True
                if tries.attempt >= self._max_retries:
                    raise ApiError(
                        f"{method} {path} failed after {tries.attempt + 1} attempt(s): "
                        f"{describe_transport_error(exc, self._secrets)}."
                    ) from exc
                self._sleep(backoff(tries.attempt))
                tries.attempt += 1
                continue
            except HTTPX_ERRORS as exc:
                raise ApiError(
                    f"{method} {path} failed: {describe_transport_error(exc, self._secrets)}."
                ) from exc
            if response.is_success:
                return self._answer(method, path, response)
            self._wait_to_retry(method, path, response, tries)

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        """A success's JSON. An edit's answer campaignsync cannot hold is None, as it took
        effect whatever it answered; any other is an ApiError saying why (a create's, sent
        again with its key, then answers with the campaign it made)."""
        try:
            return _json(response)
        except ValueError as exc:
            if method in ("PATCH", "PUT"):
                return None
            raise ApiError(
                f"{method} {path} answered {response.status_code} with what campaignsync "
                f"cannot read: {untrusted(exc, self._secrets)}."
            ) from exc

    def _wait_to_retry(
        self, method: str, path: str, response: httpx.Response, tries: _Tries
    ) -> None:
        """Wait before sending again, or raise the answer when it is not to be retried."""
        if response.status_code not in RETRY_STATUSES:
            raise self._error(method, path, response)
        tries.unsure |= response.status_code >= 500
        seconds = retry_after(response)
        if (
            response.status_code == 429
            and seconds is not None
            and tries.asked_to_wait < RATE_LIMIT_PATIENCE
        ):
            # Told when to come back, not failed: this does not use up the retries.
            tries.asked_to_wait += max(seconds, 1.0)
        elif tries.attempt < self._max_retries:
            tries.attempt += 1
        else:
            raise self._error(method, path, response)
        if seconds is None:
            self._sleep(backoff(tries.attempt - 1))
        else:
            self._pause.extend(seconds)  # Ontora limits the workspace, not one worker

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        detail: Any = None
        code: str | None = None
        try:
            payload = _json(response)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            detail = payload.get("detail")
            code = payload.get("code") if isinstance(payload.get("code"), str) else None
        # The answer is untrusted text: it may echo the credential or hold control characters.
        shown = detail if isinstance(detail, str) else response.reason_phrase
        summary = untrusted(shown, self._secrets)
        shown_code = f" {untrusted(code, self._secrets)}" if code else ""
        message = f"{method} {path} answered {status}{shown_code}: {summary}"
        hint = _HINTS.get(status)
        if hint:
            message = f"{message}. {hint}"
        cleaned = _cleaned(detail, self._secrets)
        return ApiError(message, status=status, code=code, detail=cleaned)


def _http_client(
    base_url: str,
    headers: dict[str, str],
    timeout: httpx.Timeout,
    transport: httpx.BaseTransport | None,
    secrets: tuple[str, ...],
) -> httpx.Client:
    """The httpx client, or a ConfigError saying which setting it could not use."""
    verify = _tls_context()  # a ConfigError if the TLS settings cannot be used
    try:
        return httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport, verify=verify
        )
    except httpx.InvalidURL as exc:
        raise ConfigError(
            f"The API URL {untrusted(base_url)!r} is not valid ({untrusted(exc)}); check "
            "--api-url / ONTORA_API_URL."
        ) from exc
    except (ValueError, ImportError) as exc:
        # httpx reads the proxy settings here: an unknown scheme, or SOCKS without socksio.
        raise ConfigError(
            f"The HTTP client cannot be set up ({untrusted(exc, secrets)}); "
            "check the proxy settings HTTPS_PROXY, HTTP_PROXY and ALL_PROXY."
        ) from exc


def prepare_tls() -> None:
    """Start building the TLS context of every client of this process in a thread: loading
    the certificate store (certifi's, or SSL_CERT_FILE's and SSL_CERT_DIR's) takes tens of
    milliseconds with the GIL released, while the command reads its files. Never raises."""
    _tls_building(in_background=True)


def _tls_context() -> ssl.SSLContext:
    """The context for the current TLS settings; a ConfigError naming them if unusable."""
    return _tls_building(in_background=False).result()


def _tls_building(*, in_background: bool) -> Future[ssl.SSLContext]:
    # One per set of settings: one in a run, but a changed SSL_CERT_FILE gets its own.
    settings = tuple(os.environ.get(name) for name in _TLS_SETTINGS)
    with _tls_lock:
        future = _tls_built.get(settings)
        if future is not None:
            return future
        future = _tls_built[settings] = Future()
    if not in_background:
        _build_tls(future, settings)
        return future
    try:
        threading.Thread(target=_build_tls, args=(future, settings), daemon=True).start()
    except RuntimeError:  # no thread to be had: built here instead
        _build_tls(future, settings)
    return future


def _build_tls(future: Future[ssl.SSLContext], settings: tuple[str | None, ...]) -> None:
    try:
        future.set_result(httpx.create_ssl_context(trust_env=True))
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        values = zip(_TLS_SETTINGS, settings, strict=True)
        shown = ", ".join(f"{name}={untrusted(value)!r}" for name, value in values if value)
        where = shown or "that certifi's certificate bundle is installed"
        error = ConfigError(f"TLS cannot be set up ({untrusted(exc)}); check {where}.")
        error.__cause__ = exc
        future.set_exception(error)
    except BaseException as exc:  # whoever waits for the context gets it, not a hang
        future.set_exception(exc)


_TLS_SETTINGS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")
_tls_lock = threading.Lock()
_tls_built: dict[tuple[str | None, ...], Future[ssl.SSLContext]] = {}


@dataclass
class _Tries:
    """How far one request's retries have gone; `unsure`: one may have taken effect."""

    attempt: int = 0
    asked_to_wait: float = 0.0
    unsure: bool = False

    @property
    def started(self) -> bool:
        return self.attempt > 0 or self.asked_to_wait > 0


_HINTS = {
    401: "Check ONTORA_API_KEY / ONTORA_API_TOKEN: the credential is missing, wrong or revoked.",
    403: "The credential lacks the 'interviews' scope or belongs to another workspace; use a "
    "key of this workspace with that scope.",
    404: "Ontora has no such campaign; if it was deleted in the web app, run "
    "`campaignsync state rm KEY` and plan again.",
}


def _cleaned(detail: Any, secrets: tuple[str, ...]) -> Any:
    """An error detail with every string in it made safe to show, its shape kept."""
    if isinstance(detail, str):
        return untrusted(detail, secrets)
    if isinstance(detail, list):
        return [_cleaned(item, secrets) for item in detail]
    if isinstance(detail, dict):
        return {str(key): _cleaned(value, secrets) for key, value in detail.items()}
    return detail


def _encoded(method: str, path: str, body: dict[str, Any]) -> bytes:
    """The body as sent, once for every try: JSON as httpx writes it. A value JSON cannot
    carry (a number that is not finite) is NotSent: that request never leaves."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise NotSent(f"{method} {path} was not sent: its body cannot be JSON ({exc}).") from exc
    return text.encode()


def _json(response: httpx.Response) -> Any:
    """The answer's JSON, None if it has none; ValueError if campaignsync cannot hold it."""
    return read_json(response.content) if response.content else None


def describe_transport_error(exc: Exception, secrets: tuple[str, ...] = ()) -> str:
    """What went wrong below HTTP, and what to check, in words; never the raw credential."""
    detail = untrusted(exc, secrets) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return "timed out; check that the API URL is reachable from here, or try again later"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({detail}); check the API URL and that the service is up"
    if isinstance(exc, httpx.ProxyError):
        return f"the proxy failed ({detail}); check HTTPS_PROXY, HTTP_PROXY and ALL_PROXY"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.TooManyRedirects):
        return f"the request URL cannot be used ({detail}); check --api-url / ONTORA_API_URL"
    if isinstance(exc, httpx.LocalProtocolError):
        return (
            f"the request could not be formed ({detail}); check ONTORA_API_KEY / "
            "ONTORA_API_TOKEN and the proxy settings for stray characters"
        )
    if isinstance(exc, httpx.DecodingError):
        return (
            f"the answer could not be decoded ({detail}); the service or a proxy between sent "
            "a broken body"
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return f"connection lost ({detail}); check the network and try again"
    return f"the HTTP client failed ({type(exc).__name__}: {detail})"
