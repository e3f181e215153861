"""Long jobs inside a serving process's event loop: done in slices that give way between them.

A job of milliseconds (recall-status recording a batch of sightings, say) holds the event loop
and the CPU while questions wait on both. An ``await`` between slices gives the loop its turn, so
what waits is read and its calls are sent; but it does not give up the CPU. Linux often puts a
process woken over a local socket on the waker's CPU, expecting the waker to sleep soon, and
an event loop in a long job does not: the Redis that a status read woke then waits behind the
whole job while the other CPU idles (`bench/tail.py --sched` showed Redis 2 ms in that queue).
So each turn also yields the CPU, which lets such a process run at once; with nothing else
ready to run, that costs a system call and returns.

Background writes to a shared server go further: sent just after a latency-sensitive call to
that server ended (``Gaps``), a write is furthest from the next such call. Redis runs one
command at a time and, with `appendfsync always`, syncs its log after every turn of its loop
that wrote, before it reads more commands; a status read that arrives meanwhile waits for both.
"""

from __future__ import annotations

import asyncio
import os
import time

_yield_cpu = getattr(os, "sched_yield", lambda: None)


async def give_way() -> None:
    """Between two slices of a long job: the event loop's turn, then the CPU's."""
    await asyncio.sleep(0)
    _yield_cpu()


class Gaps:
    """The gaps between the calls of a latency-sensitive flow (recall-status's status reads),
    for background work to go in: ``ended()`` when such a call ends, ``await next(longest)``
    before a piece of the background work."""

    def __init__(self) -> None:
        self._last_end = float("-inf")
        self._waiting: list[asyncio.Future[None]] = []

    def ended(self) -> None:
        """A call of the flow has just ended: what waits for a gap goes now."""
        self._last_end = time.monotonic()
        if not self._waiting:  # the usual case on the status-read path: no list to swap
            return
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.done():  # cancelled meanwhile
                waiter.set_result(None)

    async def next(self, longest: float) -> None:
        """Waits until a call of the flow ends, ``longest`` seconds at most; returns at once
        when none ended in the last ``longest`` seconds (the flow is idle, nothing to avoid)."""
        if time.monotonic() - self._last_end > longest:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        timer = loop.call_later(longest, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
