"""A long job in an event loop gives way between its slices: what is ready runs meanwhile; and
background work goes in the gaps between the calls of a latency-sensitive flow."""

from __future__ import annotations

import asyncio
import time

from verinet.cooperative import Gaps, give_way


def test_giving_way_runs_what_the_event_loop_has_ready_before_the_job_goes_on() -> None:
    async def main() -> list[str]:
        order: list[str] = []
        loop = asyncio.get_running_loop()
        loop.call_soon(order.append, "ready callback")
        order.append("slice 1")
        await give_way()
        order.append("slice 2")
        return order

    assert asyncio.run(main()) == ["slice 1", "ready callback", "slice 2"]



def test_background_work_waits_for_the_next_end_of_a_call_while_the_flow_is_busy() -> None:
    async def main() -> None:
        gaps = Gaps()
        gaps.ended()
        waiting = asyncio.ensure_future(gaps.next(60.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        gaps.ended()
        await asyncio.wait_for(waiting, 1.0)

    asyncio.run(main())


def test_background_work_goes_at_once_when_no_call_ended_lately() -> None:
    async def main() -> None:
        gaps = Gaps()
        await asyncio.wait_for(gaps.next(60.0), 1.0)  # never a call
        gaps.ended()
        await asyncio.sleep(0.06)
        await asyncio.wait_for(gaps.next(0.05), 0.04)  # the last call ended longer ago than that

    asyncio.run(main())


def test_background_work_waits_no_longer_than_it_is_told_for_a_gap() -> None:
    async def main() -> None:
        gaps = Gaps()
        gaps.ended()
        started = time.monotonic()
        await asyncio.wait_for(gaps.next(0.05), 2.0)
        assert time.monotonic() - started >= 0.05  # it did wait, for no call ended

    asyncio.run(main())


def test_a_waiter_cancelled_meanwhile_does_not_trouble_the_end_of_the_next_call() -> None:
    async def main() -> None:
        gaps = Gaps()
        gaps.ended()
        cancelled = asyncio.ensure_future(gaps.next(60.0))
        kept = asyncio.ensure_future(gaps.next(60.0))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        gaps.ended()
        await asyncio.wait_for(kept, 1.0)
        assert cancelled.cancelled()

    asyncio.run(main())
