"""The waits between tries of a request: jittered backoff after a failure, and the pause a
429's Retry-After asks for, shared by every worker of one client."""

from __future__ import annotations

import email.utils
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff: spreads retries so clients do not stampede together."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt))


def retry_after(response: httpx.Response) -> float | None:
    """The wait the server asks for (Retry-After in seconds or as an HTTP date), if any."""
    header = response.headers.get("Retry-After")
    seconds = parse_retry_after(header) if header else None
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_SECONDS)


class RetryPause:
    """The wait a Retry-After asked for, shared by every thread using one client.

    No request is sent before it ends; each then waits a further random share of it, so
    that parallel workers come back spread over a whole wait instead of all at once.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], object],
        rng: random.Random,
    ) -> None:
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._until = 0.0
        self._length = 0.0
        self._lock = threading.Lock()

    def extend(self, seconds: float) -> None:
        """Pause everyone for `seconds` from now, unless a longer pause is already set."""
        with self._lock:
            until = self._clock() + seconds
            if until > self._until:
                self._until, self._length = until, seconds

    def wait(self) -> None:
        with self._lock:
            remaining, length = self._until - self._clock(), self._length
        if remaining > 0:
            self._sleep(remaining + self._rng.uniform(0, length))


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
