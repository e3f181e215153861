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

EVENTS_SENT = Counter("verinet_pack_events_sent_total", "Pack location events sent to recall-status")
EVENTS_LOST = Counter("verinet_pack_events_lost_total", "Pack location events that could not be sent")


class EventBatcher(Generic[Event]):
    """Collects events and sends them in batches at most ``max_delay`` seconds late."""

    def __init__(
        self,
        send: Callable[[list[Event]], Awaitable[None]],
        max_batch: int = 500,
        max_delay: float = 0.02,
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._pending: list[Event] = []
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def add(self, event: Event) -> None:
        self._pending.append(event)
        if len(self._pending) >= self._max_batch:
            self._start_send()
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_delay)
        self._flusher = None
        self._start_send()

    def _start_send(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._deliver(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, batch: list[Event]) -> None:
        try:
            await self._send(batch)
            EVENTS_SENT.inc(len(batch))
        except Exception:
            EVENTS_LOST.inc(len(batch))
            log.warning("Failed to record %d pack events", len(batch), exc_info=True)

    async def close(self) -> None:
        """Sends what is pending and waits for batches in flight (on SIGTERM)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self._start_send()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
