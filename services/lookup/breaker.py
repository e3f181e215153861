"""A circuit breaker per remote endpoint: closed, open, half-open.

Closed
    Questions go through. ``failure_threshold`` consecutive failures (timeouts, unreachable,
    5xx, garbage) open the circuit; any success resets the count.
Open
    Questions are refused at once (the caller answers 502) for ``open_seconds``.
Half-open
    After ``open_seconds`` one question goes through as a probe while the others are still
    refused. A success closes the circuit; a failure opens it for another ``open_seconds``.

Each lookup process keeps its own breakers: a replica learns an endpoint is down from its own
failures, which needs no coordination and errs towards trying.

>>> now = [0.0]
>>> breaker = CircuitBreaker(failure_threshold=2, open_seconds=10, clock=lambda: now[0])
>>> breaker.record_failure(); breaker.record_failure(); breaker.state
'open'
>>> breaker.allow()
False
>>> now[0] = 10.0
>>> breaker.allow(), breaker.allow()  # one probe, the next one waits for its outcome
(True, False)
>>> breaker.record_success(); breaker.state
'closed'
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
STATES = (CLOSED, HALF_OPEN, OPEN)


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a probe through (0 when not open)."""
        if self._state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def allow(self) -> bool:
        """Whether a question may go to the endpoint now. A True in half-open state makes
        that question the probe: its caller must record its outcome (or ``release`` it)."""
        if self._state == CLOSED:
            return True
        if self._state == OPEN:
            if self._clock() < self._opened_at + self.open_seconds:
                return False
            self._state = HALF_OPEN
            self._probe_in_flight = False
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self._state = CLOSED
        self._failures = 0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
            self._state = OPEN
            self._opened_at = self._clock()
        self._probe_in_flight = False

    def release(self) -> None:
        """Ends a probe whose outcome is unknown (cancelled): the next caller may probe."""
        self._probe_in_flight = False
