"""verinet.task_deadline: a timer that cancels its task, and knows its own cancellation."""

from __future__ import annotations

import asyncio

from verinet.task_deadline import TaskDeadline


async def _deadline_then(seconds: float, cancel_after: float | None) -> tuple[bool, bool]:
    """Runs a task that sleeps under a TaskDeadline of ``seconds``, cancelled from outside after
    ``cancel_after`` seconds if given: (whether it ended cancelled, whether the deadline says so)."""
    said: list[bool] = []

    async def work() -> None:
        deadline = TaskDeadline(asyncio.get_running_loop(), seconds)
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            said.append(deadline.ended_it())
            raise
        finally:
            deadline.cancel()

    task = asyncio.get_running_loop().create_task(work())
    if cancel_after is not None:
        await asyncio.sleep(cancel_after)
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return task.cancelled(), said[0]


def test_a_task_deadline_cancels_its_task_and_owns_that_cancellation() -> None:
    assert asyncio.run(_deadline_then(0.01, None)) == (True, True)


def test_a_cancellation_from_elsewhere_is_not_the_task_deadlines() -> None:
    assert asyncio.run(_deadline_then(0.5, 0.01)) == (True, False)  # before the deadline
    assert asyncio.run(_deadline_then(0.0, 0.0)) == (True, False)  # both: the other one stands
