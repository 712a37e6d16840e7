"""The emulator's faults and request log: an ASGI layer in front of the application.

It injects latency, 503s, 429s with Retry-After, dropped connections and rehearsed 422s
into `/v1` requests, and records each request (never its credentials) for tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from campaignsync.jsontext import read_json
from campaignsync.ontora_models import API_PREFIX, EDIT_LOCKED_STATUSES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Faults:
    """Injected misbehaviour; all off by default."""

    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit: float = 0.0  # requests per second; 0 = unlimited
    retry_after: int = 1  # seconds a rate-limited answer asks the client to wait
    rate_limit_next: int = 0  # answer exactly this many of the next requests 429
    error_next: int = 0  # answer exactly this many of the next requests 503
    drop_rate: float = 0.0
    drop_next: int = 0  # drop exactly this many of the next requests
    # Rehearse a server-side 422: any body holding one of these dotted paths
    # (e.g. "topics.name") is refused with FastAPI's 422 shape, pointing at each item.
    reject_fields: list[str] = field(default_factory=list)
    # Draft and finalize edits of a campaign in one of these statuses answer 409
    # campaign_locked, as the real service may (which statuses it locks is undocumented).
    locked_statuses: list[str] = field(default_factory=lambda: list(EDIT_LOCKED_STATUSES))


class FaultsUpdate(BaseModel):
    """A change to the faults (`PUT /_emulator/faults`): only the names given, strictly typed,
    so that a string where a number goes is a 422, not a crash."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    latency_ms: Annotated[int, Field(ge=0)] | None = None
    error_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    rate_limit: Annotated[float, Field(ge=0)] | None = None
    retry_after: Annotated[int, Field(ge=0)] | None = None
    rate_limit_next: Annotated[int, Field(ge=0)] | None = None
    error_next: Annotated[int, Field(ge=0)] | None = None
    drop_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    drop_next: Annotated[int, Field(ge=0)] | None = None
    reject_fields: list[str] | None = None
    locked_statuses: list[Literal["draft", "active", "paused", "completed"]] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> FaultsUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; give a value")
        return self

    def apply_to(self, faults: Faults) -> None:
        for name in self.model_fields_set:
            setattr(faults, name, getattr(self, name))


class _Refusal(NamedTuple):
    """An answer the fault layer gives instead of the application."""

    status: int
    payload: Any
    headers: dict[str, str] | None = None


class FaultsAndLog:
    """ASGI middleware: injects faults into /v1 requests and logs each one (never its auth)."""

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        log: list[dict[str, Any]],
        rng: random.Random,
        in_flight: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        self.app, self.faults, self.log, self.rng = app, faults, log, rng
        self.in_flight = {} if in_flight is None else in_flight
        self.recent: deque[float] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"{API_PREFIX}/"):
            await self.app(scope, receive, send)
            return
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode(),
            "idempotency_key": _header(scope, b"idempotency-key"),
            "status": None,
            "body": b"",  # parsed when the log is read, not on the hot path
        }
        self.in_flight[id(entry)] = entry
        try:
            # Received whole before the latency, as a server receives a request its client
            # sent: one whose client dies while it waits still takes effect.
            entry["body"] = await _read_body(receive)
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            refusal = self._refusal_of_the_service() or self._refusal_of(entry["body"])
            if refusal is not None:
                entry["status"] = refusal.status
                await _send_json(send, refusal.status, refusal.payload, refusal.headers)
                return
            await self._forward(scope, entry, send)
        finally:
            del self.in_flight[id(entry)]
            self.log.append(entry)

    def _refusal_of_the_service(self) -> _Refusal | None:
        """A 429 beyond the rate limit, or a 503 at the error rate."""
        if self._rate_limited():
            rate_limited = {"detail": "Rate limit exceeded", "code": "rate_limited"}
            return _Refusal(429, rate_limited, {"retry-after": str(self.faults.retry_after)})
        if self._should_fail():
            return _Refusal(503, {"detail": "Service unavailable", "code": "unavailable"})
        return None

    def _refusal_of(self, body: bytes) -> _Refusal | None:
        """A rehearsed 422 for a body holding one of the rejected fields."""
        if not self.faults.reject_fields:
            return None
        rejected = _rejections(parse_body(body), self.faults.reject_fields)
        return _Refusal(422, {"detail": rejected}) if rejected else None

    async def _forward(self, scope: Scope, entry: dict[str, Any], send: Send) -> None:
        """Pass the request on, recording its status; a dropped one loses its answer."""
        drop = self._should_drop()
        body: bytes = entry["body"]

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def recorded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                if drop:
                    # The request took effect; now its answer is lost on the way back.
                    entry["status"] = "dropped"
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                    return
            if not drop:
                await send(message)

        await self.app(scope, replay, recorded_send)

    def _should_fail(self) -> bool:
        if self.faults.error_next > 0:
            self.faults.error_next -= 1
            return True
        return bool(self.faults.error_rate) and self.rng.random() < self.faults.error_rate

    def _should_drop(self) -> bool:
        if self.faults.drop_next > 0:
            self.faults.drop_next -= 1
            return True
        return bool(self.faults.drop_rate) and self.rng.random() < self.faults.drop_rate

    def _rate_limited(self) -> bool:
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            return True
        if not self.faults.rate_limit:
            return False
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.faults.rate_limit:
            return True
        self.recent.append(now)
        return False


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)


def _rejections(body: Any, paths: list[str]) -> list[dict[str, Any]]:
    """FastAPI-shaped 422 entries for every value in `body` at one of the dotted `paths`."""
    found = []
    for path in paths:
        head, _, tail = path.partition(".")
        value = body.get(head) if isinstance(body, dict) else None
        if value is None:
            continue
        items = list(enumerate(value)) if tail and isinstance(value, list) else [(None, value)]
        for index, item in items:
            if tail and not (isinstance(item, dict) and tail in item):
                continue
            loc: list[str | int] = ["body", head]
            if index is not None:
                loc.append(index)
            if tail:
                loc.append(tail)
            found.append(
                {
                    "type": "value_error",
                    "loc": loc,
                    "msg": "Value error, rejected by the emulator (a rehearsed server-side check)",
                    "input": item[tail] if tail else item,
                    "ctx": {"error": {}},
                }
            )
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def logged_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request log as JSON values: each body parsed, or as text if it is not JSON."""
    return [entry | {"body": parse_body(entry["body"])} for entry in log]


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return read_json(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


async def _send_json(
    send: Send, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(payload).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class QuietDrops(logging.Filter):
    """Dropped connections are deliberate here; keep uvicorn from reporting them as bugs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()
