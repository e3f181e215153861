"""A small in-process cache of directory routes, so a verification skips the lookup hop."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Route = TypeVar("Route")


@dataclass(slots=True)
class _Cached(Generic[Route]):
    route: Route
    expires: float


class RouteCache(Generic[Route]):
    """Caches found routes for the time lookup allows; a missing route is never cached, so a
    product registered a moment ago is reachable at once."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[tuple[Route | None, float]]],
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self._load = load
        self._clock = clock
        self._entries: dict[str, _Cached[Route]] = {}
        self._max_entries = max_entries

    async def get(self, gtin: str) -> Route | None:
        now = self._clock()
        cached = self._entries.get(gtin)
        if cached is not None and cached.expires > now:
            return cached.route
        route, ttl = await self._load(gtin)
        if route is None:
            self._entries.pop(gtin, None)
            return None
        if ttl > 0:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[gtin] = _Cached(route, now + ttl)
        return route

    def invalidate(self) -> None:
        self._entries.clear()
