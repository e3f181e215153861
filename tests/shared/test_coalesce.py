"""The opportunistic coalescer: alone at low load, together under load, each item with its own
deadline and its own fate. No timing assertions: batches are observed, not timed."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from verinet.coalesce import Coalescer


class Late(Exception):
    """The timeout error of these tests."""


class Refused(Exception):
    """An error for one item."""


class Sender:
    """A send_batch that records its batches; ``gate`` holds every batch until set (``held``:
    it starts closed). Like the calls it stands for, it ends by its ``timeout``, failing."""

    def __init__(self, answer: Callable[[str], Any] = str.upper, *, held: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.timeouts: list[float] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()
        self.answer = answer

    async def __call__(self, items: list[str], timeout: float) -> Sequence[Any]:
        self.batches.append(list(items))
        self.timeouts.append(timeout)
        try:
            await asyncio.wait_for(self.gate.wait(), timeout)
        except TimeoutError:
            raise Late("too late") from None
        return [self.answer(item) for item in items]


def upper_unless_x(item: str) -> Any:
    """The answer to one item: refused when it starts with "x", else in upper case."""
    return Refused(item) if item.startswith("x") else item.upper()


def coalescer(sender: Sender, **options: Any) -> Coalescer[str, Any]:
    return Coalescer(sender, name="test", timeout_error=lambda: Late("too late"), **options)


def in_a_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Runs the async ``test`` in a loop of its own (pytest calls plain functions)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@in_a_loop
async def test_an_item_at_low_load_is_sent_at_once_and_alone() -> None:
    sender = Sender()
    batches = coalescer(sender)
    assert await batches.submit("a", 5) == "A"
    assert await batches.submit("b", 5) == "B"
    assert sender.batches == [["a"], ["b"]]


@in_a_loop
async def test_arrivals_while_every_slot_is_busy_travel_together_in_the_next_batch() -> None:
    sender = Sender(held=True)
    batches = coalescer(sender, max_in_flight=2)
    waiters = [asyncio.create_task(batches.submit(x, 5)) for x in "abcdef"]
    await settle()
    assert sender.batches == [["a"], ["b"]], "the first two went at once, alone"
    assert batches.in_flight == 2
    sender.gate.set()
    assert await asyncio.gather(*waiters) == list("ABCDEF")
    assert sender.batches[2:] == [["c", "d", "e", "f"]]


@in_a_loop
async def test_a_batch_never_exceeds_its_maximum_size() -> None:
    sender = Sender(held=True)
    batches = coalescer(sender, max_in_flight=1, max_batch=2)
    waiters = [asyncio.create_task(batches.submit(x, 5)) for x in "abcde"]
    await settle()
    sender.gate.set()
    assert await asyncio.gather(*waiters) == list("ABCDE")
    assert sender.batches == [["a"], ["b", "c"], ["d", "e"]]


@in_a_loop
async def test_each_item_gets_its_own_result_or_its_own_error() -> None:
    sender = Sender(upper_unless_x, held=True)
    batches = coalescer(sender, max_in_flight=1)
    waiters = [asyncio.create_task(batches.submit(x, 5)) for x in ("a", "b", "x1", "c")]
    await settle()
    sender.gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "C"
    assert isinstance(outcomes[2], Refused) and outcomes[2].args == ("x1",)
    assert sender.batches == [["a"], ["b", "x1", "c"]]


@in_a_loop
async def test_a_failed_batch_call_fails_each_of_its_items_and_the_next_batch_still_goes() -> None:
    calls = 0

    async def flaky(items: list[str], timeout: float) -> Sequence[Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 2:
            raise Refused("down")
        return [item.upper() for item in items]

    batches: Coalescer[str, Any] = Coalescer(flaky, name="test", timeout_error=Late, max_in_flight=1)
    waiters = [asyncio.create_task(batches.submit(x, 5)) for x in "abc"]
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert outcomes[0] == "A"
    assert all(isinstance(o, Refused) for o in outcomes[1:])
    assert await batches.submit("d", 5) == "D"


@in_a_loop
async def test_an_item_past_its_deadline_fails_with_the_timeout_error_and_the_others_are_answered() -> None:
    sender = Sender(held=True)
    batches = coalescer(sender, max_in_flight=1)
    slow = asyncio.create_task(batches.submit("a", 5))
    hasty = asyncio.create_task(batches.submit("b", 0.01))  # queued behind "a"
    patient = asyncio.create_task(batches.submit("c", 5))
    with pytest.raises(Late):
        await hasty
    sender.gate.set()
    assert await slow == "A"
    assert await patient == "C"
    assert sender.batches == [["a"], ["c"]], "an expired item is not sent"


@in_a_loop
async def test_an_item_in_flight_past_its_deadline_fails_while_its_batch_goes_on() -> None:
    held: list[tuple[list[str], float, asyncio.Event]] = []

    async def send(items: list[str], timeout: float) -> Sequence[Any]:
        release = asyncio.Event()
        held.append((items, timeout, release))
        await release.wait()
        return [item.upper() for item in items]

    batches: Coalescer[str, Any] = Coalescer(send, name="test", timeout_error=Late, max_in_flight=1)
    first = asyncio.create_task(batches.submit("a", 5))
    await settle()
    hasty = asyncio.create_task(batches.submit("b", 0.05))
    patient = asyncio.create_task(batches.submit("c", 5))
    await settle()
    held[0][2].set()
    assert await first == "A"
    await settle()
    assert [items for items, _, _ in held] == [["a"], ["b", "c"]]
    assert held[1][1] > 1, "a batch gets the latest deadline of its items"
    with pytest.raises(Late):
        await hasty
    held[1][2].set()
    assert await patient == "C"


@in_a_loop
async def test_an_item_sent_alone_past_its_deadline_fails_with_the_timeout_error() -> None:
    sender = Sender(held=True)
    batches = coalescer(sender)
    with pytest.raises(Late):
        await batches.submit("a", 0.01)
    assert sender.batches == [["a"]]
    assert batches.in_flight == 0


@in_a_loop
async def test_an_item_sent_alone_gets_its_own_deadline_as_its_call_deadline_and_no_timer_beside_it() -> None:
    timeouts: list[float] = []

    async def send_late(items: list[str], timeout: float) -> Sequence[Any]:
        timeouts.append(timeout)
        await asyncio.sleep(timeout * 3)  # ending in time is the call's business, not the coalescer's
        return [item.upper() for item in items]

    batches: Coalescer[str, Any] = Coalescer(send_late, name="test", timeout_error=Late)
    assert await batches.submit("a", 0.01) == "A"
    assert timeouts == [0.01]
    assert batches.in_flight == 0


@in_a_loop
async def test_a_cancelled_waiter_leaves_the_others_of_its_batch_unharmed() -> None:
    sender = Sender(held=True)
    batches = coalescer(sender, max_in_flight=1)
    first = asyncio.create_task(batches.submit("a", 5))
    await settle()
    queued = [asyncio.create_task(batches.submit(x, 5)) for x in "bcd"]
    await settle()
    queued[1].cancel()  # "c" gives up before it is sent
    first.cancel()  # "a" gives up while its batch is in flight
    await settle()
    sender.gate.set()
    assert await queued[0] == "B"
    assert await queued[2] == "D"
    assert sender.batches == [["a"], ["b", "d"]]
    assert batches.in_flight == 0


@in_a_loop
async def test_items_submitted_together_share_a_batch_and_the_first_error_is_raised() -> None:
    sender = Sender(upper_unless_x)
    batches = coalescer(sender, max_in_flight=1)
    assert await batches.submit_many(["a", "b", "c"], 5) == ["A", "B", "C"]
    with pytest.raises(Refused):
        await batches.submit_many(["d", "x1", "x2"], 5)
    assert sender.batches == [["a", "b", "c"], ["d", "x1", "x2"]]
    assert await batches.submit_many([], 5) == []


def test_the_batch_sizes_are_counted_in_the_histogram() -> None:
    def samples(name: str) -> float:
        value = REGISTRY.get_sample_value(name, {"call": "histogram-test"} | ({"le": "1.0"} if "bucket" in name else {}))
        return value or 0.0

    async def scenario() -> None:
        sender = Sender(held=True)
        batches: Coalescer[str, Any] = Coalescer(sender, name="histogram-test", timeout_error=Late, max_in_flight=1)
        waiters = [asyncio.create_task(batches.submit(x, 5)) for x in "abcd"]
        await settle()
        sender.gate.set()
        await asyncio.gather(*waiters)

    count, alone = samples("verinet_coalesced_batch_size_count"), samples("verinet_coalesced_batch_size_bucket")
    asyncio.run(scenario())
    assert samples("verinet_coalesced_batch_size_count") == count + 2
    assert samples("verinet_coalesced_batch_size_bucket") == alone + 1
    assert samples("verinet_coalesced_batch_size_sum") >= 4


def test_a_coalescer_needs_a_slot_and_room_for_an_item() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        Coalescer(Sender(), name="test", timeout_error=Late, max_in_flight=0)
