"""Where packs are seen: verifications feed the last known location used by recalls.

Verifications are the hot path, so their events are batched and sent in the background
(a lost event costs recall precision, never a verdict); pack operations send theirs before
answering.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from prometheus_client import Counter

log = logging.getLogger(__name__)

Event = TypeVar("Event")
Batch = TypeVar("Batch")

EVENTS_SENT = Counter("verinet_pack_events_sent_total", "Pack location events sent to recall-status")
EVENTS_LOST = Counter("verinet_pack_events_lost_total", "Pack location events that could not be sent")


class EventBatcher(Generic[Event, Batch]):
    """Builds events into a batch as they happen and sends the batch once it holds
    ``max_batch`` events or its first is ``max_delay`` seconds old.

    ``append(batch, event)`` puts each event into the batch being filled when it is added, so
    sending a batch costs nothing an event: built at once, a batch of 500 sightings held up the
    questions arriving meanwhile for about half a millisecond (issue 25). An event ``append``
    refuses is counted lost and logged; it never fails the caller. ``send(batch, count)``
    delivers a batch of ``count`` events.
    """

    def __init__(
        self,
        send: Callable[[Batch, int], Awaitable[None]],
        new_batch: Callable[[], Batch],
        append: Callable[[Batch, Event], None],
        max_batch: int = 500,
        max_delay: float = 0.02,
    ) -> None:
        self._send = send
        self._new_batch = new_batch
        self._append = append
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._batch: Batch | None = None
        self._count = 0
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def add(self, event: Event) -> None:
        batch = self._batch
        if batch is None:
            batch = self._batch = self._new_batch()
        try:
            self._append(batch, event)
        except Exception:  # a sighting never fails the verdict it comes from
            EVENTS_LOST.inc()
            log.warning("Failed to add a pack event to its batch", exc_info=True)
            return
        self._count += 1
        if self._count >= self._max_batch:
            self._start_send()
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_delay)
        self._flusher = None
        self._start_send()

    def _start_send(self) -> None:
        if self._batch is None or not self._count:
            return
        batch, count = self._batch, self._count
        self._batch, self._count = None, 0
        task = asyncio.get_running_loop().create_task(self._deliver(batch, count))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, batch: Batch, count: int) -> None:
        try:
            await self._send(batch, count)
            EVENTS_SENT.inc(count)
        except Exception:
            EVENTS_LOST.inc(count)
            log.warning("Failed to record %d pack events", count, exc_info=True)

    async def close(self) -> None:
        """Sends what is pending and waits for batches in flight (on SIGTERM)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self._start_send()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
