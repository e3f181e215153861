"""Opportunistic coalescing: concurrent single calls become batch calls under load.

A :class:`Coalescer` wraps an async ``send_batch(items, timeout)`` that answers many items in
one call. While fewer than ``max_in_flight`` batches are in flight, an item is sent at once, on
its own: at low load nothing waits. While ``max_in_flight`` batches are in flight, arrivals
queue, and the first slot to free up sends everything queued (at most ``max_batch`` items) as
one batch. No timers decide when to send, so a batch never waits to fill up: its size follows
the load by itself.

Every item has its own deadline. ``send_batch`` is given the latest deadline of its batch's
items and must end by it (the calls it makes carry it), failing with the error
``timeout_error()`` makes; an item whose deadline comes earlier than its batch's fails with
that error on the coalescer's own timer, whatever its batch is doing. So an item sent alone,
whose deadline is its batch's, costs no timer of the coalescer's. An item whose waiter is
cancelled (a client that went away) is left out of a batch not yet sent, or its answer is
dropped: the others are not disturbed.

Transport-free: ``send_batch`` is any coroutine function, the caller's concern.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from verinet.metrics import Histogram

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Items per batch call, by call; a 1 is a call sent alone (no concurrent arrivals).
BATCH_SIZE = Histogram(
    "verinet_coalesced_batch_size",
    "Items per coalesced batch call",
    ["call"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass(slots=True)
class _Waiting(Generic[Item, Result]):
    item: Item
    future: asyncio.Future[Result]
    deadline: float


class Coalescer(Generic[Item, Result]):
    """Turns concurrent ``submit`` calls into calls of ``send_batch``.

    ``send_batch(items, timeout)`` answers with one result or one exception per item, in order
    (an exception it raises fails every item of its batch). ``timeout`` is the seconds left
    until the latest deadline among ``items``: the call must end by then, failing with the
    error ``timeout_error()`` makes (or answering it for each item).
    """

    def __init__(
        self,
        send_batch: Callable[[list[Item], float], Awaitable[Sequence[Result | BaseException]]],
        *,
        name: str,
        timeout_error: Callable[[], BaseException],
        max_in_flight: int = 2,
        max_batch: int = 64,
    ) -> None:
        if max_in_flight < 1 or max_batch < 1:
            raise ValueError(
                f"A coalescer needs max_in_flight >= 1 and max_batch >= 1, got {max_in_flight} and {max_batch}."
            )
        self._send_batch = send_batch
        self._timeout_error = timeout_error
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self._queue: deque[_Waiting[Item, Result]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._sizes = BATCH_SIZE.labels(name)
        self.batches = 0
        self.items = 0

    @property
    def in_flight(self) -> int:
        """Batches sent and not yet answered."""
        return self._in_flight

    async def submit(self, item: Item, timeout: float) -> Result:
        """The result for one item, sent alone or with others; raises its error."""
        loop = asyncio.get_running_loop()
        if not self._queue and self._in_flight < self.max_in_flight:
            return await self._send_alone(item, timeout, loop)
        future: asyncio.Future[Result] = loop.create_future()
        deadline = loop.time() + timeout
        self._queue.append(_Waiting(item, future, deadline))
        if self._in_flight < self.max_in_flight:
            self._send_queued(loop)
        expiry = loop.call_at(deadline, self._expire, future)
        try:
            return await future
        finally:
            expiry.cancel()

    async def submit_many(self, items: Sequence[Item], timeout: float) -> list[Result]:
        """Results for several items that share one deadline (kept together in a batch when
        they fit); raises the first error among them."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        futures: list[asyncio.Future[Result]] = []
        for item in items:
            future: asyncio.Future[Result] = loop.create_future()
            futures.append(future)
            self._queue.append(_Waiting(item, future, deadline))
        while self._in_flight < self.max_in_flight and self._queue:
            self._send_queued(loop)
        expiry = loop.call_at(deadline, self._expire_all, futures)
        try:
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        finally:
            expiry.cancel()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return outcomes  # type: ignore[return-value]

    async def _send_alone(self, item: Item, timeout: float, loop: asyncio.AbstractEventLoop) -> Result:
        """A batch of one sent from the caller's own task: at low load no batch task, future
        or timer stands between the caller and the call. Items that arrive meanwhile queue,
        and are sent when it is answered, as after any batch."""
        self._in_flight += 1
        self.batches += 1
        self.items += 1
        self._sizes.observe(1)
        try:
            # The item's deadline is its batch's: send_batch ends by it.
            outcomes = await self._send_batch([item], max(timeout, 0.001))
            if len(outcomes) != 1:
                raise RuntimeError(f"send_batch answered {len(outcomes)} outcomes for 1 item.")
            (outcome,) = outcomes
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        finally:
            self._in_flight -= 1
            while self._queue and self._in_flight < self.max_in_flight:
                self._send_queued(loop)

    def _expire(self, future: asyncio.Future[Result]) -> None:
        if not future.done():
            future.set_exception(self._timeout_error())

    def _expire_all(self, futures: list[asyncio.Future[Result]]) -> None:
        for future in futures:
            self._expire(future)

    def _send_queued(self, loop: asyncio.AbstractEventLoop) -> None:
        """Takes up to ``max_batch`` live items off the queue and sends them as one batch."""
        batch: list[_Waiting[Item, Result]] = []
        queue = self._queue
        while queue and len(batch) < self.max_batch:
            waiting = queue.popleft()
            if not waiting.future.done():  # not cancelled, not expired
                batch.append(waiting)
        if not batch:
            return
        self._in_flight += 1
        task = loop.create_task(self._run(batch, loop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[_Waiting[Item, Result]], loop: asyncio.AbstractEventLoop) -> None:
        self.batches += 1
        self.items += len(batch)
        self._sizes.observe(len(batch))
        try:
            timeout = max(w.deadline for w in batch) - loop.time()
            try:
                outcomes: Sequence[Result | BaseException] = await self._send_batch(
                    [w.item for w in batch], max(timeout, 0.001)
                )
                if len(outcomes) != len(batch):
                    raise RuntimeError(
                        f"send_batch answered {len(outcomes)} outcomes for {len(batch)} items."
                    )
            except asyncio.CancelledError:
                for waiting in batch:
                    waiting.future.cancel()
                raise
            except Exception as error:  # noqa: BLE001 - every item of the batch gets it
                outcomes = [error] * len(batch)
            for waiting, outcome in zip(batch, outcomes, strict=True):
                future = waiting.future
                if future.done():  # expired or cancelled meanwhile: the answer is dropped
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        finally:
            self._in_flight -= 1
            while self._queue and self._in_flight < self.max_in_flight:
                self._send_queued(loop)

    async def aclose(self) -> None:
        """Waits for the batches in flight (on shutdown, after the last submit)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
