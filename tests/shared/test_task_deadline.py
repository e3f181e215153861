"""verinet.task_deadline: many deadlines on one timer; tasks cancelled by theirs, which know that cancellation."""

from __future__ import annotations

import asyncio

from verinet.task_deadline import Deadlines, TaskDeadlines


async def _expired_keys(deadlines: dict[str, float], discarded: set[str], wait: float) -> list[str]:
    """Holds ``deadlines`` (key: seconds from now) on one ``Deadlines``, discards ``discarded``
    at once, and says which keys expired within ``wait`` seconds, in order."""
    loop = asyncio.get_running_loop()
    expired: list[str] = []
    held: Deadlines[str] = Deadlines(loop, expired.append)
    for key, seconds in deadlines.items():
        held.add(key, loop.time() + seconds)
    for key in discarded:
        held.discard(key)
    await asyncio.sleep(wait)
    held.close()
    return expired


def test_deadlines_on_one_timer_expire_each_key_in_turn_whatever_order_they_came_in() -> None:
    keys = {"late": 0.06, "early": 0.01, "middle": 0.03}
    assert asyncio.run(_expired_keys(keys, set(), 0.1)) == ["early", "middle", "late"]


def test_a_discarded_deadline_never_expires_and_the_others_still_do() -> None:
    keys = {"first": 0.01, "second": 0.02, "third": 0.03}
    assert asyncio.run(_expired_keys(keys, {"first", "third"}, 0.06)) == ["second"]


def test_closed_deadlines_expire_nothing() -> None:
    async def closed_at_once() -> list[str]:
        loop = asyncio.get_running_loop()
        expired: list[str] = []
        held: Deadlines[str] = Deadlines(loop, expired.append)
        held.add("key", loop.time() + 0.01)
        held.close()
        await asyncio.sleep(0.03)
        return expired

    assert asyncio.run(closed_at_once()) == []


async def _task_deadlines_then(seconds: float, cancel_after: float | None) -> tuple[bool, bool]:
    """As ``_deadline_then``, under ``TaskDeadlines`` shared with a second task that finishes."""
    deadlines = TaskDeadlines(asyncio.get_running_loop())
    said: list[bool] = []

    async def work(sleep: float, seconds: float) -> None:
        task = deadlines.start(seconds)
        try:
            await asyncio.sleep(sleep)
        except asyncio.CancelledError:
            said.append(deadlines.ended_it(task))
            raise
        finally:
            deadlines.finish(task)

    quick = asyncio.get_running_loop().create_task(work(0, 1))
    task = asyncio.get_running_loop().create_task(work(1, seconds))
    if cancel_after is not None:
        await asyncio.sleep(cancel_after)
        task.cancel()
    await asyncio.gather(quick, task, return_exceptions=True)
    deadlines.close()
    assert not quick.cancelled()
    return task.cancelled(), said[0]


def test_task_deadlines_cancel_their_task_and_own_that_cancellation() -> None:
    assert asyncio.run(_task_deadlines_then(0.01, None)) == (True, True)


def test_a_cancellation_from_elsewhere_is_not_the_task_deadlines_either() -> None:
    assert asyncio.run(_task_deadlines_then(0.5, 0.01)) == (True, False)  # before the deadline
    assert asyncio.run(_task_deadlines_then(0.0, 0.0)) == (True, False)  # both: the other stands
