"""Directory change notification for route caches.

Every directory write bumps ``dir:version``. A lookup process tells its watchers (verifier
route caches, over the ``WatchDirectory`` stream) the version at once when they connect and
again after every change:

- a write made through this process is announced at once, and the write's RPC answers only
  when every connected watcher has acknowledged that it applied the change (a bounded wait,
  ``NOTIFY_WAIT_SECONDS`` in the servicer), so the next question through any verifier
  connected here sees the new route;
- a write made through another lookup replica is noticed by polling ``dir:version`` every
  ``poll_seconds`` (one GET per replica, whatever the traffic; no pub/sub connection to keep
  and cluster-safe).

A watcher that loses its stream must stop trusting its cache until it reconnects.

The announced version only grows while Redis keeps its data: a write's version lower than the
announced one is already covered by it (INCR orders the writes), and a poll whose read an
announcement overtook is dropped (it may predate the write). Either, announced, would take a
watcher back to a version it already had and let a write be answered before caches saw it.
After Redis lost its data the version restarts lower; a poll announces that within its interval.

Lookup's own memo of what it derives from the directory for forwarded questions
(:class:`ByVersion`) follows the same version: it is used only while the polling works, and
forgotten when the version moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Watcher:
    """One connected route cache."""

    acked: int = -1  # the last change sequence number it has applied


class DirectoryWatch:
    def __init__(
        self, read_version: Callable[[], Awaitable[int]], poll_seconds: float = 0.25
    ) -> None:
        self._read_version = read_version
        self.poll_seconds = poll_seconds
        self.version = 0
        self.sequence = 0
        self._changed = asyncio.Event()
        self._acked = asyncio.Event()
        self._watchers: set[Watcher] = set()
        self._closed = False
        #: When ``run`` last read the version (monotonic); None before it has.
        self.polled_at: float | None = None

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    async def run(self) -> None:
        """Polls the version until closed (run as a task)."""
        while not self._closed:
            try:
                before = self.sequence
                version = await self._read_version()
                # A read that a write's announcement overtook may predate that write: announcing
                # it would take the version back and hide the write from a watcher that already
                # had the older version. The next poll reads again.
                if self.sequence == before and version != self.version:
                    # Nothing announced meanwhile, so this is current: another replica's write,
                    # or a lower version after Redis lost its data.
                    self._announce(version)
                self.polled_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis hiccup: keep polling
                log.warning("Failed to read the directory version: %s", error)
            await asyncio.sleep(self.poll_seconds)

    @property
    def current(self) -> bool:
        """Whether ``version`` is known to be the directory's (less a poll interval): the
        polling runs and its last read is recent (four intervals, at least a second)."""
        return (
            not self._closed
            and self.polled_at is not None
            and time.monotonic() - self.polled_at < max(1.0, 4 * self.poll_seconds)
        )

    def publish(self, version: int) -> int:
        """Records the version a write through this process left (its own INCR of the
        version); returns the change sequence number to wait for. An older version than the
        one announced is covered by it (INCR orders the writes), so it changes nothing."""
        if version > self.version:
            self._announce(version)
        return self.sequence

    def _announce(self, version: int) -> None:
        self.version = version
        self.sequence += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def applied(self, sequence: int, timeout: float) -> bool:
        """Waits (at most ``timeout``) until every connected watcher has applied ``sequence``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(w.acked < sequence for w in self._watchers):
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closed:
                return False
            acked = self._acked
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(acked.wait(), remaining)
        return True

    def subscribe(self) -> Watcher:
        watcher = Watcher()
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        self._wake_writers()

    def ack(self, watcher: Watcher, sequence: int) -> None:
        watcher.acked = max(watcher.acked, sequence)
        self._wake_writers()

    def _wake_writers(self) -> None:
        acked, self._acked = self._acked, asyncio.Event()
        acked.set()

    async def updates(self, watcher: Watcher) -> AsyncIterator[tuple[int, int]]:
        """(sequence, version) now, then after each change, until the watch closes."""
        while not self._closed:
            sequence, version, changed = self.sequence, self.version, self._changed
            yield sequence, version
            if self.sequence == sequence and not self._closed:
                await changed.wait()

    def close(self) -> None:
        """Ends every stream (watchers reconnect elsewhere) and the polling."""
        self._closed = True
        self._changed.set()
        self._wake_writers()


K = TypeVar("K")
V = TypeVar("V")


class ByVersion(Generic[K, V]):
    """Values derived from the directory, kept while its version stays the same (and the watch
    is ``current``): a write through this process forgets them at once, one through another
    replica within the watch's poll interval, as for the verifiers' route caches.

    Read the version (``version()``) before reading what the value is derived from, and
    ``put`` it with that version: a value read across a change is then never used. The
    "version" here is the watch's change sequence, which only grows: a directory version seen
    again after Redis lost its data cannot bring back a value derived before.
    """

    def __init__(self, watch: DirectoryWatch, limit: int = 10_000) -> None:
        self.watch = watch
        self.limit = limit
        self.values: dict[K, tuple[int, V]] = {}

    def version(self) -> int:
        return self.watch.sequence

    def get(self, key: K) -> V | None:
        if not self.watch.current:
            return None
        known = self.values.get(key)
        if known is None or known[0] != self.watch.sequence:
            return None
        return known[1]

    def put(self, key: K, version: int, value: V) -> None:
        if len(self.values) >= self.limit:
            self.values.clear()
        self.values[key] = (version, value)
