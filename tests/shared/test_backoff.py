"""One backoff rule for every retry: doubling from a base up to a cap, jittered on request."""

from __future__ import annotations

import doctest
import random

import verinet.backoff
from verinet.backoff import Backoff


def test_the_backoff_examples_hold() -> None:
    result = doctest.testmod(verinet.backoff)
    assert result.attempted > 0 and result.failed == 0


def test_without_jitter_the_delay_doubles_per_attempt_up_to_the_cap() -> None:
    backoff = Backoff(base=2.0, maximum=60.0)
    assert [backoff.delay(attempt) for attempt in (1, 2, 3, 5, 6, 200, 5000)] == [
        2.0, 4.0, 8.0, 32.0, 60.0, 60.0, 60.0,
    ]


def test_with_jitter_the_delay_stays_in_the_upper_half_and_spreads_out() -> None:
    backoff = Backoff(base=2.0, maximum=60.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (200, 60.0)]:
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # spread out, not in lockstep
