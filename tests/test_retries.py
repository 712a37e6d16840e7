"""Retries: how long to wait before trying a request again."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime, timedelta

from campaignsync.retries import MAX_BACKOFF_SECONDS, RetryPause, backoff, parse_retry_after


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(email.utils.format_datetime(later, usegmt=True))
    parsed_by = datetime.now(UTC)
    # An HTTP date has whole seconds; the wait runs to it from the moment it was parsed.
    assert seconds is not None
    assert (later.replace(microsecond=0) - parsed_by).total_seconds() <= seconds <= 30
    assert parse_retry_after("soon") is None


def test_backoff_is_jittered_and_capped() -> None:
    random.seed(3)
    waits = [backoff(attempt) for attempt in range(12)]
    assert all(0 <= wait <= min(MAX_BACKOFF_SECONDS, 0.5 * 2**n) for n, wait in enumerate(waits))
    assert len(set(waits)) == len(waits)


def test_a_pause_holds_every_caller_until_it_ends_then_spreads_them_over_its_length() -> None:
    now = [100.0]
    slept: list[float] = []
    pause = RetryPause(clock=lambda: now[0], sleep=slept.append, rng=random.Random(7))
    pause.wait()
    assert slept == []  # no pause asked for: nobody waits
    pause.extend(10)
    pause.extend(4)  # a shorter pause does not cut the longer one short
    now[0] = 103.0
    pause.wait()
    pause.wait()
    assert len(slept) == 2
    assert all(7 <= seconds <= 17 for seconds in slept)  # the 7 s left, plus up to 10
