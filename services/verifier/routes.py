"""A small in-process cache of directory routes, so a verification skips the lookup hop.

Routes are kept for the time lookup allows (``ROUTE_CACHE_SECONDS``, never past a record's
expiry) and dropped at once when the directory changes: the cache follows lookup's
``WatchDirectory`` stream, which sends the directory version when it connects and after every
write. While that stream is down the cache is bypassed (every question asks lookup), so a
change can never be missed; when it comes back with the version the cache last saw, the
entries are kept, otherwise they are dropped.

A load that started before a change is not stored after it (a generation counter), so a
stale route cannot slip in behind a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from verinet.callers import Role

log = logging.getLogger(__name__)

Route = TypeVar("Route")


@dataclass(slots=True)
class _Cached(Generic[Route]):
    route: Route
    expires: float


class RouteCache(Generic[Route]):
    """Caches found routes; a missing route is never cached, so a product registered a moment
    ago is reachable at once."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[tuple[Route | None, float]]],
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
        *,
        watch: Callable[[], AsyncIterator[int]] | None = None,
        reconnect_seconds: float = 0.5,
    ) -> None:
        self._load = load
        self._clock = clock
        self._entries: dict[str, _Cached[Route]] = {}
        self._max_entries = max_entries
        self._watch = watch
        self._reconnect_seconds = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        # Without a watch the cache lives on TTLs alone; with one, only while it is connected.
        self._live = watch is None
        self._generation = 0
        self.version: int | None = None
        self._version_seen = asyncio.Event()
        self.hits = 0
        self.loads = 0

    @property
    def live(self) -> bool:
        """Whether cached routes are used (the watch stream is connected)."""
        return self._live

    async def get(self, gtin: str) -> Route | None:
        self._start_watching()
        now = self._clock()
        if self._live:
            cached = self._entries.get(gtin)
            if cached is not None and cached.expires > now:
                self.hits += 1
                return cached.route
        generation = self._generation
        self.loads += 1
        route, ttl = await self._load(gtin)
        if route is None:
            self._entries.pop(gtin, None)
            return None
        if ttl > 0 and self._live and generation == self._generation:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[gtin] = _Cached(route, now + ttl)
        return route

    def cached(self, gtin: str) -> Route | None:
        """The route of ``gtin`` when a live one is cached, without waiting; None means
        ask :meth:`get` (which loads it)."""
        if not self._live:
            return None
        cached = self._entries.get(gtin)
        if cached is None or cached.expires <= self._clock():
            return None
        self.hits += 1
        return cached.route

    def drop(self, gtin: str) -> None:
        """Forgets one route (lookup said it changed)."""
        self._entries.pop(gtin, None)

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def wait_for_version(self, version: int, timeout: float) -> None:
        """Waits until the watch has delivered ``version`` (for tests and tools)."""
        async with asyncio.timeout(timeout):
            while self.version != version or not self._live:
                seen = self._version_seen
                await seen.wait()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _start_watching(self) -> None:
        if self._watch is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())

    def _saw(self, version: int) -> None:
        if version != self.version or not self._live:
            if version != self.version:
                self.invalidate()
            self.version = version
        self._live = True
        seen, self._version_seen = self._version_seen, asyncio.Event()
        seen.set()

    async def _follow(self) -> None:
        assert self._watch is not None
        while True:
            try:
                async for version in self._watch():
                    self._saw(version)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - lookup restarting or draining
                log.info("Directory watch interrupted (%s); asking lookup for every route until it is back", type(error).__name__)
            else:
                log.info("Directory watch ended; asking lookup for every route until it is back")
            if self._live:
                self._live = False
                self._generation += 1
            await asyncio.sleep(self._reconnect_seconds)


# -- answers relayed from remote routes ------------------------------------------------------

#: The remote network's own signature headers, passed on under these names so that a receiver
#: can check the remote's signature too (rename them back and verify with its JWKS).
REMOTE_HEADER_NAMES = {
    "content-type": "Remote-Content-Type",
    "content-digest": "Remote-Content-Digest",
    "signature-input": "Remote-Signature-Input",
    "signature": "Remote-Signature",
}
RESPONDER_NETWORK_HEADER = "Verinet-Responder-Network"
RESPONDER_GLN_HEADER = "Verinet-Responder-GLN"
#: On an answer a lenient remote-network profile relayed: its deviation codes from LMS 1.3.
REMOTE_CONFORMANCE_HEADER = "Verinet-Remote-Conformance"
DEFAULT_CONTENT_TYPE = "application/json"


def relay_headers(
    base_url: str, responder_gln: str, remote_headers: dict[str, str], *, with_remote_signature: bool
) -> dict[str, str]:
    """Extra headers for a relayed answer, all covered by this network's signature: who
    answered (the remote network's base URL and the responder GLN of the directory entry),
    and, when the body is the remote's unchanged, the remote's own signature headers."""
    out = {RESPONDER_NETWORK_HEADER: base_url}
    if responder_gln:
        out[RESPONDER_GLN_HEADER] = responder_gln
    if with_remote_signature and "signature" in remote_headers and "signature-input" in remote_headers:
        for name, renamed in REMOTE_HEADER_NAMES.items():
            if name in remote_headers:
                out[renamed] = remote_headers[name]
    return out


def relayed_content_type(remote_headers: dict[str, str]) -> str:
    return remote_headers.get("content-type") or DEFAULT_CONTENT_TYPE


def is_relayed(roles: Collection[str]) -> bool:
    """A question from another network (role ``network``, or relayed by a verinet): this
    network answers it only for GTINs it hosts, so two networks routing a GTIN to each other
    cannot bounce a question forever."""
    return Role.NETWORK in roles


def connectivity_responder(body: bytes) -> str | None:
    """The responderGLN of a remote checkConnectivity body, when it has one."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("responderGLN"), str):
        return str(doc["responderGLN"])
    return None
