"""The directory in a private Redis: which entry answers for a GTIN, expiry, the index of
remote entries the endpoint check walks, the version every write bumps, and validation."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from verinet.embedded_redis import EmbeddedRedis
from verinet.errors import InvalidInput
from verinet.lookup.directory import Directory, DirectoryEntry, validate_entry
from verinet.lookup.watch import ByVersion, DirectoryWatch
from verinet.network import with_check_digit
from verinet.store import connect

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
GTIN = "00614141000012"
GLN = "0614141000005"
OTHER_GLN = with_check_digit("950600013435")


def hosted(kind: str, key: str, **extra: str) -> DirectoryEntry:
    return DirectoryEntry(kind=kind, key=key, owner_partner_id="p_1", route="hosted", responder_gln=GLN, **extra)


def remote(kind: str, key: str, url: str = "https://vrs.example.net", **extra: str) -> DirectoryEntry:
    return DirectoryEntry(kind=kind, key=key, owner_partner_id="p_1", route="remote", remote_base_url=url, responder_gln=GLN, remote_credential="tok", **extra)


def run_with_redis(tmp_path: Path, scenario: Callable[[Redis], Awaitable[None]]) -> None:
    async def main() -> None:
        with EmbeddedRedis(tmp_path / "redis") as server:
            redis = connect(server.url)
            try:
                await scenario(redis)
            finally:
                await redis.aclose()

    asyncio.run(main())


def run(tmp_path: Path, scenario: Callable[[Directory], Awaitable[None]]) -> None:
    run_with_redis(tmp_path, lambda redis: scenario(Directory(redis)))


def test_a_gtin_entry_wins_over_any_prefix_and_the_longest_prefix_over_shorter_ones(tmp_path: Path) -> None:
    async def scenario(directory: Directory) -> None:
        await directory.put(remote("prefix", "0614"), NOW)
        assert (await directory.resolve(GTIN, NOW)).key == "0614"  # type: ignore[union-attr]
        await directory.put(remote("prefix", "0614141", url="https://other.example"), NOW)
        assert (await directory.resolve(GTIN, NOW)).key == "0614141"  # type: ignore[union-attr]
        await directory.put(hosted("gtin", GTIN), NOW)
        found = await directory.resolve(GTIN, NOW)
        assert found is not None and found.kind == "gtin" and found.route == "hosted"
        assert await directory.resolve("00999999000017", NOW) is None

    run(tmp_path, scenario)


def test_an_expired_entry_is_skipped_for_the_next_one_that_covers_the_gtin(tmp_path: Path) -> None:
    async def scenario(directory: Directory) -> None:
        await directory.put(remote("prefix", "0614141"), NOW)
        await directory.put(hosted("gtin", GTIN, expires_at=(NOW + dt.timedelta(hours=1)).isoformat()), NOW)
        assert (await directory.resolve(GTIN, NOW)).kind == "gtin"  # type: ignore[union-attr]
        later = NOW + dt.timedelta(hours=2)
        assert (await directory.resolve(GTIN, later)).kind == "prefix"  # type: ignore[union-attr]

    run(tmp_path, scenario)


def test_every_write_bumps_the_version_and_the_remote_index_follows_the_route(tmp_path: Path) -> None:
    async def scenario(directory: Directory) -> None:
        assert await directory.version() == 0
        _, created, v1 = await directory.put(remote("prefix", "0614141"), NOW)
        _, created_again, v2 = await directory.put(remote("gtin", GTIN), NOW)
        assert created and created_again and v2 == v1 + 1
        assert [e.member for e in await directory.remote_entries()] == [f"gtin:{GTIN}", "prefix:0614141"]
        _, replaced, _ = await directory.put(hosted("gtin", GTIN), NOW)
        assert not replaced
        assert [e.member for e in await directory.remote_entries()] == ["prefix:0614141"]
        deleted, v3 = await directory.delete("prefix", "0614141")
        assert deleted and v3 > v2
        assert await directory.remote_entries() == []
        assert await directory.delete("prefix", "0614141") == (False, v3)  # nothing changed

    run(tmp_path, scenario)


def test_many_entries_are_stored_in_one_round_trip_with_one_version(tmp_path: Path) -> None:
    async def scenario(directory: Directory) -> None:
        entries = [remote("prefix", f"06141{n:02d}") for n in range(50)] + [remote("prefix", "0614100")]
        stored, version = await directory.put_many(entries, NOW)
        assert version == 1
        assert [created for _, created in stored] == [True] * 50 + [False]
        assert len(await directory.remote_entries()) == 50

    run(tmp_path, scenario)


def test_a_stored_entry_is_normalized() -> None:
    entry = validate_entry(remote("prefix", "0614141", url="https://vrs.example.net/lms/"))
    assert entry.remote_base_url == "https://vrs.example.net/lms"
    assert entry.public().remote_credential == ""
    assert hosted("prefix", "0614141").sample_gtin() == with_check_digit("0061414100000")
    assert validate_entry(hosted("gtin", GTIN)).sample_gtin() == GTIN


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (hosted("prefix", "061"), "prefix"),
        (hosted("prefix", "06141410000000"), "prefix"),
        (hosted("gtin", "00614141000013"), "gtin"),
        (DirectoryEntry(kind="gtin", key=GTIN, owner_partner_id="p_1", route="elsewhere"), "route"),
        (DirectoryEntry(kind="gtin", key=GTIN, owner_partner_id="", route="hosted"), "owner"),
        (remote("gtin", GTIN, url="https://vrs.example.net#x"), "url"),
        (remote("gtin", GTIN, url="https://"), "url"),
        (remote("gtin", GTIN, url="https://vrs.example.net:99999"), "url"),
        (hosted("gtin", GTIN, remote_credential="tok"), "credential"),
        (hosted("gtin", GTIN, expires_at="tomorrow"), "expires_at"),
    ],
)
def test_an_invalid_entry_is_refused_naming_its_field(entry: DirectoryEntry, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_entry(entry)
    assert refused.value.field == field


@contextlib.asynccontextmanager
async def polling(watch: DirectoryWatch) -> AsyncIterator[None]:
    """The watch polling the directory version, until the block ends."""
    task = asyncio.create_task(watch.run())
    try:
        yield
    finally:
        watch.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_lookups_memo_of_forwarded_routes_is_forgotten_within_a_poll_of_another_replicas_write(tmp_path: Path) -> None:
    async def scenario(redis: Redis) -> None:
        here, other = Directory(redis), Directory(redis)
        watch = DirectoryWatch(here.version, poll_seconds=0.05)
        memo: ByVersion[str, str] = ByVersion(watch)
        assert memo.get(GTIN) is None
        memo.put(GTIN, memo.version(), "route")
        assert memo.get(GTIN) is None  # the watch does not poll: nothing is trusted
        async with polling(watch):
            while not watch.current:
                await asyncio.sleep(0.01)
            memo.put(GTIN, memo.version(), "route")
            assert memo.get(GTIN) == "route"
            await other.put(remote("prefix", "0614"), NOW)
            await asyncio.sleep(0.2)
            assert memo.get(GTIN) is None

    run_with_redis(tmp_path, scenario)


def test_a_poll_that_read_the_version_before_a_write_does_not_take_the_watch_back(tmp_path: Path) -> None:
    """The poll's GET answered before a write's INCR, but reached the watch after the write was
    announced: a watcher that acknowledges what it is told must still be told the write's
    version, or the write would be answered with route caches one change behind."""

    async def scenario(redis: Redis) -> None:
        directory = Directory(redis)
        read, deliver = asyncio.Event(), asyncio.Event()

        async def slow_read() -> int:
            version = await directory.version()
            read.set()
            await deliver.wait()  # the answer waits in the loop while the write goes on
            return version

        await directory.put(hosted("prefix", "0614141"), NOW)
        watch = DirectoryWatch(slow_read, poll_seconds=0.01)
        watch.publish(await directory.version())
        watcher = watch.subscribe()
        updates = watch.updates(watcher)
        sequence, before = await anext(updates)
        watch.ack(watcher, sequence)
        async with polling(watch):
            await read.wait()  # the poll has read the version as it was
            _, _, version = await directory.put(replace(hosted("prefix", "0614141"), responder_gln=OTHER_GLN), NOW)
            written = watch.publish(version)
            deliver.set()
            await asyncio.sleep(0.05)  # the stale read is handled, and more polls run
            sequence, told = await anext(updates)
            assert (sequence, told) == (written, version)
            assert told == before + 1
            assert watch.version == version

    run_with_redis(tmp_path, scenario)


def test_a_lower_version_after_redis_lost_its_data_is_announced_and_forgets_the_memo(tmp_path: Path) -> None:
    async def scenario(redis: Redis) -> None:
        directory = Directory(redis)
        for _ in range(3):
            await directory.put(hosted("prefix", "0614141"), NOW)
        watch = DirectoryWatch(directory.version, poll_seconds=0.01)
        watch.publish(await directory.version())
        memo: ByVersion[str, str] = ByVersion(watch)
        async with polling(watch):
            while not watch.current:
                await asyncio.sleep(0.01)
            memo.put(GTIN, memo.version(), "derived before")
            await redis.flushall()  # Redis restarted without its data
            await directory.put(hosted("prefix", "0614141"), NOW)  # version 1 again
            await asyncio.sleep(0.1)
            assert watch.version == 1
            assert memo.get(GTIN) is None

    run_with_redis(tmp_path, scenario)
