"""Deadlines for the hot path's calls, cheaper than a timeout scope or a timer each.

The hot path puts a deadline on every call ``verinet.streamed_calls`` sends and serves.
``asyncio.timeout`` costs about four times a ``call_later`` timer on uvloop (bench/RESULTS.md,
issue 25), and many calls come and go on one owner (a call stream): ``Deadlines`` keeps them
all on one timer, armed for the earliest, so a call's deadline is a dict entry, a sixth of a
uvloop timer's cost, and the timer fires about once per deadline period, not once per call.
``TaskDeadlines`` cancels each task whose deadline passes, and tells that cancellation from
any other.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["Deadlines", "TaskDeadlines"]

Key = TypeVar("Key", bound=Hashable)

#: How early a loop may run a timer: uvloop rounds a delay to the millisecond, asyncio runs
#: what is due within its clock's resolution. A deadline that close is due.
TIMER_SLACK_SECONDS = 0.001


class Deadlines(Generic[Key]):
    """Deadlines of many keys on one loop timer: ``expire(key)`` is called once a key's
    deadline (a ``loop.time()``) passes while it is still held. :meth:`discard` a key when
    its work is done; :meth:`close` stops the timer when the owner is done.

    The timer waits for the earliest deadline held when it was armed: a later deadline
    added costs no timer, an earlier one re-arms it, a key discarded leaves it be (it then
    fires with nothing due, and waits for the earliest left)."""

    __slots__ = ("_due", "_expire", "_timer", "_timer_at", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, expire: Callable[[Key], object]) -> None:
        self.loop = loop
        self._expire = expire
        self._due: dict[Key, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def add(self, key: Key, when: float) -> None:
        self._due[key] = when
        if when < self._timer_at:
            self._arm(when)

    def discard(self, key: Key) -> None:
        self._due.pop(key, None)

    def close(self) -> None:
        """Stops the timer; deadlines held no longer expire."""
        self._due.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self.loop.call_at(when, self._fire), when

    def _fire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        due = self._due
        due_by = self.loop.time() + TIMER_SLACK_SECONDS
        expired = [key for key, when in due.items() if when <= due_by]
        for key in expired:
            del due[key]
        if due:
            self._arm(min(due.values()))
        for key in expired:
            self._expire(key)


class TaskDeadlines:
    """Deadlines that cancel their tasks, on one timer (``Deadlines``): :meth:`start` puts the
    running task under a deadline, :meth:`ended_it` tells the deadline's cancellation from any
    other (a client gone, a stream ended), :meth:`finish` ends the task's deadline,
    :meth:`close` all of them."""

    __slots__ = ("_deadlines", "_expired")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._deadlines: Deadlines[asyncio.Task[Any]] = Deadlines(loop, self._expire)
        self._expired: set[asyncio.Task[Any]] = set()

    def start(self, seconds: float) -> asyncio.Task[Any]:
        """Puts the running task under a deadline ``seconds`` from now; returns the task."""
        loop = self._deadlines.loop
        task = asyncio.current_task(loop)
        assert task is not None, "a deadline belongs to a task"
        self._deadlines.add(task, loop.time() + seconds)
        return task

    def _expire(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelling():  # cancelled already: that cancellation stands
            self._expired.add(task)
            task.cancel()

    def ended_it(self, task: asyncio.Task[Any]) -> bool:
        """Whether the ``CancelledError`` ``task`` is handling is its deadline's (and only its)."""
        return task in self._expired and task.uncancel() == 0

    def finish(self, task: asyncio.Task[Any]) -> None:
        self._deadlines.discard(task)
        if self._expired:
            self._expired.discard(task)

    def close(self) -> None:
        self._deadlines.close()
        self._expired.clear()
