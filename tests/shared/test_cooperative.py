"""A long job in an event loop gives way between its slices: what is ready runs meanwhile."""

from __future__ import annotations

import asyncio

from verinet.cooperative import give_way


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

