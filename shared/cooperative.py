"""Long jobs inside a serving process's event loop: done in slices that give way between them.

A job of milliseconds (a batch of the verifier's sightings, say) holds the event loop and the
CPU while questions wait on both. An ``await`` between slices gives the loop its turn, so what
waits is read and its calls are sent; but it does not give up the CPU. Linux often puts a
process woken over a local socket on the waker's CPU, expecting the waker to sleep soon, and
an event loop in a long job does not: the Redis that a status read woke then waits behind the
whole job while the other CPU idles (`bench/tail.py --sched` showed Redis 2 ms in that queue).
So each turn also yields the CPU, which lets such a process run at once; with nothing else
ready to run, that costs a system call and returns.
"""

from __future__ import annotations

import asyncio
import os

_yield_cpu = getattr(os, "sched_yield", lambda: None)


async def give_way() -> None:
    """Between two slices of a long job: the event loop's turn, then the CPU's."""
    await asyncio.sleep(0)
    _yield_cpu()
