"""A deadline for the running task, cheaper than a timeout scope.

The hot path puts a deadline on every call (a batch sent alone by ``verinet.coalesce``, each
call ``verinet.streamed_calls`` serves). ``asyncio.timeout`` costs about four times a
``call_later`` timer on uvloop (bench/RESULTS.md, issue 25), so the deadline here is that
timer, cancelling the task, and it tells its own cancellation from any other.
"""

from __future__ import annotations

import asyncio

__all__ = ["TaskDeadline"]


class TaskDeadline:
    """A deadline for the running task: a timer that cancels it, where ``asyncio.timeout``
    would (a quarter of a timeout scope's cost on uvloop; one on every call of the hot path).
    A ``CancelledError`` is the deadline's when :meth:`ended_it` says so; any other
    cancellation (a client gone, a stream ended) stays one. Call :meth:`cancel` when done."""

    __slots__ = ("_expired", "_timer", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        task = asyncio.current_task(loop)
        assert task is not None, "a deadline belongs to a task"
        self.task = task
        self._expired = False
        self._timer = loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        if not self.task.cancelling():  # cancelled already: that cancellation stands
            self._expired = True
            self.task.cancel()

    def ended_it(self) -> bool:
        """Whether the ``CancelledError`` being handled is this deadline's (and only its)."""
        return self._expired and self.task.uncancel() == 0

    def cancel(self) -> None:
        self._timer.cancel()
