"""Recall scopes against a private Redis and a real Redis Cluster: filters evaluated inside
Redis, and a line-and-window recall that is one rule plus member lists, exact to the packs
present when it was published."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import redis

from tests.conftest import command_calls
from verinet.network import with_check_digit
from verinet.packs import PackState
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import NewPack, ScopeFilter
from verinet.store import connect

GTIN = with_check_digit("0061414154321")
DAY = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
MINUTE = int(DAY.timestamp()) // 60
PACKS = 20_000  # lines L1 and L2 alternate; pack n is commissioned at minute n of the day


def pack(n: int, *, serial: str = "") -> NewPack:
    return NewPack(GTIN, serial or f"S{n:06d}", f"LOT{n % 3}", "301231", f"L{1 + n % 2}", DAY.timestamp() + n * 60)


async def recalled(repository: PackRepository, serials: list[str]) -> set[str]:
    records = await repository.statuses([(GTIN, s) for s in serials])
    return {s for s, r in zip(serials, records, strict=True) if r is not None and r.record.lot_state is PackState.RECALLED}


async def commissioned(redis_url: str) -> tuple[Any, PackRepository]:
    client = connect(redis_url, timeout=10)
    repository = PackRepository(client)
    for start in range(0, PACKS, 5000):
        await repository.commission([pack(n) for n in range(start, min(start + 5000, PACKS))])
    return client, repository


def test_the_filters_run_in_redis_and_take_exactly_the_matching_packs(redis_url: str) -> None:
    async def scenario() -> None:
        client, repository = await commissioned(redis_url)
        where = ScopeFilter(lots=("LOT0", "LOT1"), line="L2", first_minute=MINUTE + 100, end_minute=MINUTE + 10_100)
        found: set[str] = set()
        counted = 0
        async for group in repository.scan_scope(GTIN, where, mode="list"):
            found.update(group.serials.decode().split("\n") if group.count else ())
        async for group in repository.scan_scope(GTIN, where, mode="count"):
            counted += group.count
        expected = {f"S{n:06d}" for n in range(100, 10_100) if n % 2 == 1 and n % 3 in (0, 1)}
        assert found == expected and counted == len(expected)
        await client.aclose()

    asyncio.run(scenario())


def test_a_line_and_window_recall_is_one_rule_and_bounded_member_lists_exact_to_the_packs_then_present(redis_url: str) -> None:
    async def scenario() -> None:
        client, repository = await commissioned(redis_url)
        inspect = redis.RedisCluster.from_url(redis_url.replace("redis-cluster://", "redis://")) if redis_url.startswith("redis-cluster") else redis.Redis.from_url(redis_url)
        where = ScopeFilter(line="L1", first_minute=MINUTE, end_minute=MINUTE + 12_000)
        before = command_calls(inspect, "hset")
        await repository.add_recall_rule(GTIN, "rc_test_1", 0, where)
        members = 0
        async for group in repository.scan_scope(GTIN, where, mode="mark", recall_id="rc_test_1"):
            members += group.count
        writes = command_calls(inspect, "hset") - before
        assert members == 6000
        assert writes <= 1 + 1024, "one rule, then at most one member list per 16 buckets"
        late = pack(2, serial="LATE-L1")  # matches the rule, commissioned after the recall
        await repository.commission([late])
        window_l1, window_l2, after_window = [f"S{n:06d}" for n in (0, 11_998)], ["S000001"], ["S012000"]
        assert await recalled(repository, [*window_l1, *window_l2, *after_window, late.serial]) == set(window_l1)
        # the same filters again take the late pack too, and recall it under the new recall only
        await repository.add_recall_rule(GTIN, "rc_test_2", 0, where)
        again = 0
        async for group in repository.scan_scope(GTIN, where, mode="mark", recall_id="rc_test_2"):
            again += group.count
        assert again == 6001
        assert await recalled(repository, [late.serial, "S000001"]) == {late.serial}
        inspect.close()
        await client.aclose()

    asyncio.run(scenario())
