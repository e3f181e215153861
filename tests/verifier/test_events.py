"""The verifier's sightings batcher: each event is built into its batch when it happens, a
batch goes when full or late by ``max_delay``, and an event that cannot be built is lost on its
own without failing the verdict it came from."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import REGISTRY

from verinet.verifier.events import EventBatcher


class Sent:
    """What the batcher delivered: each batch, with the count it was sent with."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], int]] = []

    async def send(self, batch: list[str], count: int) -> None:
        self.batches.append((list(batch), count))


def batcher(
    send: Callable[[list[str], int], Awaitable[None]],
    append: Callable[[list[str], str], None] = list.append,
    *,
    max_batch: int,
    max_delay: float = 60.0,
) -> EventBatcher[str, list[str]]:
    """A batcher of strings into lists (``max_delay`` long enough not to matter by default)."""
    return EventBatcher(send, list, append, max_batch=max_batch, max_delay=max_delay)


def lost() -> float:
    return REGISTRY.get_sample_value("verinet_pack_events_lost_total") or 0.0


def test_each_event_is_in_its_batch_as_soon_as_it_is_added_so_sending_builds_nothing() -> None:
    async def main() -> None:
        built: list[list[str]] = []

        def append(batch: list[str], event: str) -> None:
            batch.append(event.upper())
            built.append(list(batch))

        sent = Sent()
        events = batcher(sent.send, append, max_batch=3)
        events.add("a")
        assert built == [["A"]]  # before any turn of the loop
        events.add("b")
        assert built[-1] == ["A", "B"]
        await asyncio.sleep(0)
        assert sent.batches == []
        await events.close()
        assert sent.batches == [(["A", "B"], 2)]

    asyncio.run(main())


def test_a_full_batch_is_sent_at_once_and_the_next_events_start_a_new_one() -> None:
    async def main() -> None:
        sent = Sent()
        events = batcher(sent.send, max_batch=2)
        for event in "abcde":
            events.add(event)
        await asyncio.sleep(0)
        assert sent.batches == [(["a", "b"], 2), (["c", "d"], 2)]
        await events.close()
        assert sent.batches[-1] == (["e"], 1)

    asyncio.run(main())


def test_a_batch_that_is_not_full_is_sent_max_delay_after_its_first_event() -> None:
    async def main() -> None:
        sent = Sent()
        events = batcher(sent.send, max_batch=500, max_delay=0.5)
        loop = asyncio.get_running_loop()
        first = loop.time()
        events.add("a")
        await asyncio.sleep(0.05)
        events.add("b")
        assert sent.batches == []
        while not sent.batches:
            assert loop.time() - first < 5, "the batch was never sent"
            await asyncio.sleep(0.01)
        assert loop.time() - first >= 0.5  # not before max_delay
        assert sent.batches == [(["a", "b"], 2)]
        await events.close()
        assert sent.batches == [(["a", "b"], 2)]

    asyncio.run(main())


def test_an_event_that_cannot_be_built_is_counted_lost_and_neither_fails_its_caller_nor_its_batch() -> None:
    async def main() -> None:
        def append(batch: list[str], event: str) -> None:
            if event == "bad":
                raise ValueError("surrogates not allowed")
            batch.append(event)

        sent = Sent()
        events = batcher(sent.send, append, max_batch=2)
        before = lost()
        events.add("bad")  # does not raise
        events.add("a")
        events.add("bad")
        assert lost() == before + 2
        events.add("b")  # the second good event fills the batch of two
        await asyncio.sleep(0)
        assert sent.batches == [(["a", "b"], 2)]
        await events.close()
        assert sent.batches == [(["a", "b"], 2)]

    asyncio.run(main())


def test_a_batch_whose_delivery_fails_counts_all_its_events_lost() -> None:
    async def main() -> None:
        async def send(batch: list[str], count: int) -> None:
            raise ConnectionError("recall-status is down")

        events = batcher(send, max_batch=3)
        before = lost()
        for event in "abc":
            events.add(event)
        await events.close()
        assert lost() == before + 3

    asyncio.run(main())
