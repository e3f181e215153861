"""Exponential backoff: how long to wait before trying again after a failure.

One rule for every retry in verinet (forwarding to other networks, webhook deliveries,
restarting a process that exited): ``base`` seconds after the first failure, doubling with
each further one, never more than ``maximum``. Callers that retry against a shared peer ask
for jitter so that the retries of one outage spread out; a local restart needs none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]

#: Beyond this many doublings every delay is the cap anyway; it keeps ``2.0 ** n`` finite.
_MAX_DOUBLINGS = 62


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays that double from ``base`` seconds up to ``maximum`` seconds.

    >>> restart = Backoff(base=0.5, maximum=8.0)
    >>> [restart.delay(attempt) for attempt in (1, 2, 3, 5, 6, 100)]
    [0.5, 1.0, 2.0, 8.0, 8.0, 8.0]
    >>> 1.0 <= restart.delay(3, random.Random(0)) <= 2.0  # jittered: within the upper half
    True
    """

    base: float
    maximum: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failure number ``attempt`` (counted from 1). With ``rng``,
        "equal jitter": half of the delay fixed, the other half random."""
        ceiling = min(self.maximum, self.base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
        if rng is None:
            return ceiling
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)
