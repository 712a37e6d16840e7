"""The Ontora API client over httpx: auth, retries with backoff, errors -> ApiError.

Every request campaignsync sends is safe to repeat: PATCH and PUT carry absolute values,
and the one POST (create) is always sent with an Idempotency-Key, so Ontora answers a
repeat with the campaign the first attempt made. That is what makes retrying after a
timeout or a dropped connection safe.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from campaignsync import __version__
from campaignsync.api_schema import API_PREFIX
from campaignsync.errors import ApiError, ConfigError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0


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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token and not api_key:
            raise ConfigError(
                "No Ontora credentials. Set ONTORA_API_KEY (a workspace API key with the "
                "'interviews' scope, sent as X-API-Key) or ONTORA_API_TOKEN (sent as a "
                "Bearer token) in the environment."
            )
        # An API key is what Ontora recommends for programmatic use; prefer it when both are set.
        auth = {"X-API-Key": api_key} if api_key else {"Authorization": f"Bearer {token}"}
        self._secrets = tuple(secret for secret in (token, api_key) if secret)
        self._client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": f"campaignsync/{__version__}", **auth},
            timeout=timeout,
            transport=transport,
        )
        self._max_retries = max_retries
        self._sleep = sleep

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
        return self._request(method, path, json=body, headers=headers)

    def list_interviews(self, workspace_id: str) -> list[dict[str, Any]]:
        """GET /v1/interviews: the scalar fields and status of every campaign."""
        path = f"{API_PREFIX}/interviews"
        answer = self._request("GET", path, params={"workspace_id": workspace_id})
        if not isinstance(answer, list):
            raise ApiError(f"GET {path} did not answer with a list of campaigns.")
        return [item for item in answer if isinstance(item, dict)]

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = self._client.request(
                    method, path, json=json, params=params, headers=headers
                )
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if attempt >= self._max_retries:
                    raise ApiError(
                        f"{method} {path} failed after {attempt + 1} attempt(s): "
                        f"{self._scrub(describe_transport_error(exc))}."
                    ) from exc
                self._sleep(backoff(attempt))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self._max_retries:
                self._sleep(retry_delay(response, attempt))
                attempt += 1
                continue
            if response.is_success:
                return _json(response)
            raise self._error(method, path, response)

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        detail: Any = None
        code: str | None = None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            detail = payload.get("detail")
            code = payload.get("code") if isinstance(payload.get("code"), str) else None
        summary = detail if isinstance(detail, str) else response.reason_phrase
        message = f"{method} {path} answered {status}{f' {code}' if code else ''}: {summary}"
        hint = _HINTS.get(status)
        if hint:
            message = f"{message}. {hint}"
        return ApiError(self._scrub(message), status=status, code=code, detail=detail)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


_HINTS = {
    401: "Check ONTORA_API_KEY / ONTORA_API_TOKEN: the credential is missing, wrong or revoked.",
    403: "The credential lacks the 'interviews' scope or belongs to another workspace; use a "
    "key of this workspace with that scope.",
    404: "Ontora has no such campaign; if it was deleted in the web app, run "
    "`campaignsync state rm KEY` and plan again.",
}


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff: spreads retries so clients do not stampede together."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt))


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Honour Retry-After (seconds or an HTTP date) when the server sends it."""
    header = response.headers.get("Retry-After")
    if header:
        seconds = parse_retry_after(header)
        if seconds is not None:
            return min(seconds, MAX_RETRY_AFTER_SECONDS) + random.uniform(0, 0.1)
    return backoff(attempt)


def parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"connection lost ({exc})"
