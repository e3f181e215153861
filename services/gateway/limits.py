"""Admission control: per-partner rate and concurrency limits, throttling of failed sign-ins,
and a global overload guard, so one partner or one attacker cannot starve the others.

Limits are per gateway process (no Redis round trip on the hot path); with N gateway replicas
the network admits up to N times the configured rates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from verinet.errors import RateLimited


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        """Adds the tokens earned since the last update, up to the burst."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> float:
        """Takes one token; returns 0 when allowed, else seconds until one is available."""
        self.refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return self.seconds_to_token()

    def seconds_to_token(self) -> float:
        return (1 - self.tokens) / self.rate


@dataclass(slots=True)
class Overload:
    """The gateway process's requests in progress, for its global guard: past ``max_in_flight``
    a request is answered 503 at once instead of queueing, and a declared body past
    ``max_body_bytes`` is refused before anything reads it (``routing.RouteTable``)."""

    max_in_flight: int
    max_body_bytes: int = 1 << 30
    in_flight: int = 0


#: Keys (partners, client addresses) a table keeps buckets for before it starts over, so a
#: flood of new keys cannot grow the gateway's memory.
MAX_BUCKETS = 100_000


def bucket_of(table: dict[str, TokenBucket], key: str, rate: float, burst: float, now: float) -> TokenBucket:
    """The bucket of ``key`` in ``table``, a full new one when it has none."""
    bucket = table.get(key)
    if bucket is None:
        if len(table) > MAX_BUCKETS:
            table.clear()
        bucket = table[key] = TokenBucket(rate, burst, burst, now)
    return bucket


@dataclass
class Limits:
    rate_per_second: float
    burst: int
    concurrency: int
    auth_failures_per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _failures: dict[str, TokenBucket] = field(default_factory=dict)

    def admit(self, partner_id: str) -> None:
        """Counts a request of a partner in; raises RateLimited with a Retry-After."""
        now = self.clock()
        wait = bucket_of(self._buckets, partner_id, self.rate_per_second, self.burst, now).take(now)
        if wait:
            raise RateLimited(
                f"Rate limit of {self.rate_per_second:g} requests a second exceeded; retry later.",
                code="rate_limited",
                retry_after=max(1, math.ceil(wait)),
            )
        in_flight = self._in_flight.get(partner_id, 0)
        if in_flight >= self.concurrency:
            raise RateLimited(
                f"At most {self.concurrency} requests of one partner run at once; retry later.",
                code="rate_limited.concurrency",
                retry_after=1,
            )
        self._in_flight[partner_id] = in_flight + 1

    def release(self, partner_id: str) -> None:
        left = self._in_flight.get(partner_id, 0) - 1
        if left > 0:
            self._in_flight[partner_id] = left
        else:
            self._in_flight.pop(partner_id, None)

    def check_auth_allowed(self, client: str) -> None:
        """Refuses a client (IP) whose failed sign-ins used up its allowance."""
        bucket = self._failures.get(client)
        if bucket is None:
            return
        bucket.refill(self.clock())
        if bucket.tokens < 1:
            raise RateLimited(
                "Too many failed sign-ins from this address; retry later.",
                code="rate_limited.auth",
                retry_after=max(1, math.ceil(bucket.seconds_to_token())),
            )

    def auth_failed(self, client: str) -> None:
        now = self.clock()
        per_minute = self.auth_failures_per_minute
        bucket_of(self._failures, client, per_minute / 60.0, per_minute, now).take(now)
