"""The EPCIS query store is bounded: events past their retention are pruned from the store and
from every partner's index (a private Redis and a real Redis Cluster)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from typing import Any

from verinet.recall_status import event_store
from verinet.recall_status.custody import CustodyEvent
from verinet.store import connect

GTIN = "00614141000012"
DAY = 86400.0
NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC).timestamp()


def shipped(n: int, at: float) -> CustodyEvent:
    digest = hashlib.sha256(f"event {n}".encode()).digest()
    return CustodyEvent(
        index=n, event_id=f"urn:uuid:event-{n}", event_hash=digest, type="ObjectEvent", action="OBSERVE",
        biz_step="shipping", disposition="in_transit", event_time=at, location_gln="0614141000005", units=(f"{GTIN}S{n}",),
    )  # fmt: skip


async def visible(redis: Any, partner: str) -> list[str]:
    found, _ = await event_store.query(redis, partner, False, event_store.EventQuery(), 100)
    return [e["eventID"] for e in found]


def test_pruning_removes_the_events_before_the_cut_off_from_the_store_and_every_index(redis_url: str) -> None:
    async def main() -> None:
        redis = connect(redis_url)
        try:
            # Eight years, three years and one day ago; captured by the maker, seen by the wholesaler too.
            times = [NOW - 8 * 365 * DAY, NOW - 3 * 365 * DAY, NOW - DAY]
            entries = [(event_store.epcis_event(shipped(n, t), "maker"), t, ("maker", "wholesaler")) for n, t in enumerate(times)]
            await event_store.store(redis, "maker", entries)
            assert await visible(redis, "wholesaler") == ["urn:uuid:event-0", "urn:uuid:event-1", "urn:uuid:event-2"]
            removed = await event_store.prune(redis, NOW - 6 * 365 * DAY, batch=1)
            assert removed == 1
            for partner in ("maker", "wholesaler"):
                assert await visible(redis, partner) == ["urn:uuid:event-1", "urn:uuid:event-2"]
                assert await redis.zcard(event_store.visible_key(partner)) == 2
            stored_id = entries[0][0]["_id"]
            assert await redis.hget(event_store.events_key("maker", stored_id), stored_id) is None
            assert await event_store.prune(redis, NOW - 6 * 365 * DAY) == 0  # again: nothing left to remove
        finally:
            await redis.aclose()

    asyncio.run(main())
