"""The verifier's route cache against a real lookup (gRPC on a free port, private Redis):
cached answers equal direct ones, before and after every directory change, with no waiting;
the cache is bypassed while its change stream is down; and it saves the lookup hop."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from verinet.common.v1 import common_pb2 as common_pb
from verinet.embedded_redis import EmbeddedRedis
from verinet.lookup.directory import Directory, DirectoryEntry
from verinet.lookup.servicer import LookupServicer
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.lookup.watch import DirectoryWatch
from verinet.network import with_check_digit
from verinet.partners import NewPartner, PartnerStore
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import STREAM_RENEWAL_SECONDS
from verinet.signing import KeyRing
from verinet.store import connect
from verinet.verifier.servicer import VerifierServicer

PREFIX = "0614141"
GTINS = [with_check_digit(body) for body in ("0061414100001", "0061414100002", "0061414110001", "0061414200001", "0099999900001")]


@dataclass
class Parts:
    lookup: lookup_grpc.LookupServiceStub
    directory: Directory
    watch: DirectoryWatch
    verifier: VerifierServicer
    admin: common_pb.Caller


@asynccontextmanager
async def parts(
    redis_url: str,
    key_dir: Path,
    route_cache_seconds: int = 30,
    poll_seconds: float = 0.05,
    server_options: list[tuple[str, int]] | None = None,
    watch_renew_seconds: float = STREAM_RENEWAL_SECONDS,
) -> AsyncIterator[Parts]:
    redis = connect(redis_url)
    admin, _ = await PartnerStore(redis).create(NewPartner(name="admin", roles=["admin"]), dt.datetime.now(dt.UTC))
    directory = Directory(redis)
    watch = DirectoryWatch(directory.version, poll_seconds=poll_seconds)
    server = grpc.aio.server(options=server_options)
    lookup_grpc.add_LookupServiceServicer_to_server(LookupServicer(directory, route_cache_seconds, watch=watch), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    poller = asyncio.create_task(watch.run())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    unused = grpc.aio.insecure_channel("127.0.0.1:9")
    verifier = VerifierServicer(
        lookup=lookup_grpc.LookupServiceStub(channel),
        recall_status=rs_grpc.RecallStatusServiceStub(unused),
        keys=KeyRing.load_or_create(key_dir),
        responder_gln="",
        rpc_timeout=2.0,
        watch_renew_seconds=watch_renew_seconds,
    )
    try:
        yield Parts(lookup_grpc.LookupServiceStub(channel), directory, watch, verifier, common_pb.Caller(partner_id=admin.id, roles=["admin"]))
    finally:
        await verifier.routes.aclose()
        poller.cancel()
        watch.close()
        await channel.close()
        await unused.close()
        await server.stop(0)
        await redis.aclose()


def run(tmp_path: Path, scenario: Callable[[Parts], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        with EmbeddedRedis(tmp_path / "redis") as redis_server:
            async with parts(redis_server.url, tmp_path / "keys", **options) as p:  # type: ignore[arg-type]
                await scenario(p)

    asyncio.run(main())


async def direct(p: Parts, gtin: str) -> lookup_pb.DirectoryEntry | None:
    answer = await p.lookup.ResolveRoute(lookup_pb.ResolveRouteRequest(gtin=gtin), timeout=2)
    return answer.entry if answer.found else None


def random_entry(rng: random.Random) -> lookup_pb.DirectoryEntry:
    if rng.random() < 0.5:
        kind, key = lookup_pb.ENTRY_KIND_GTIN, rng.choice(GTINS)
    else:
        kind, key = lookup_pb.ENTRY_KIND_PREFIX, rng.choice([PREFIX, PREFIX + "1", "0614142", "06141"])
    if rng.random() < 0.5:
        return lookup_pb.DirectoryEntry(kind=kind, key=key, route=lookup_pb.ROUTE_KIND_HOSTED, responder_gln="0614141000005")
    n = rng.randrange(5)
    return lookup_pb.DirectoryEntry(kind=kind, key=key, route=lookup_pb.ROUTE_KIND_REMOTE, remote_base_url=f"https://vrs{n}.example.net", responder_gln="0614141000005", remote_credential="tok")


def test_cached_routes_equal_direct_answers_before_and_after_every_route_change(tmp_path: Path) -> None:
    async def scenario(p: Parts) -> None:
        rng = random.Random(4)
        routes = p.verifier.routes
        for change in range(80):
            entry = random_entry(rng)
            if rng.random() < 0.25:
                await p.lookup.DeleteDirectoryEntry(lookup_pb.DeleteDirectoryEntryRequest(caller=p.admin, kind=entry.kind, key=entry.key), timeout=2)
            else:
                await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=entry), timeout=2)
            # no waiting: the write answered once the cache had applied it
            for _ in range(2):  # the second round is served from the cache
                for gtin in GTINS:
                    assert await routes.get(gtin) == await direct(p, gtin), f"change {change}, GTIN {gtin}"
        assert routes.hits > 200, "the cache was used"
        assert routes.live

    run(tmp_path, scenario)


def test_a_write_made_elsewhere_reaches_the_cache_through_the_version_poll(tmp_path: Path) -> None:
    """Another lookup replica writes Redis directly; this one notices within its poll."""

    async def scenario(p: Parts) -> None:
        routes = p.verifier.routes
        await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=random_entry(random.Random(1))), timeout=2)
        entry = DirectoryEntry(kind="prefix", key=PREFIX, owner_partner_id=p.admin.partner_id, route="hosted")
        await routes.get(GTINS[0])
        _, _, version = await p.directory.put(entry, dt.datetime.now(dt.UTC))
        await routes.wait_for_version(version, timeout=5)
        assert await routes.get(GTINS[0]) == await direct(p, GTINS[0])

    run(tmp_path, scenario)


def test_the_cache_asks_lookup_for_every_route_while_its_change_stream_is_down(tmp_path: Path) -> None:
    async def scenario(p: Parts) -> None:
        routes = p.verifier.routes
        entry = DirectoryEntry(kind="prefix", key=PREFIX, owner_partner_id=p.admin.partner_id, route="hosted")
        await p.directory.put(entry, dt.datetime.now(dt.UTC))
        await routes.get(GTINS[0])
        await routes.wait_for_version(await p.directory.version(), timeout=5)
        p.watch.close()  # lookup drains: streams end, nothing is announced any more
        deadline = time.monotonic() + 5
        while routes.live and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not routes.live
        remote = DirectoryEntry(kind="prefix", key=PREFIX, owner_partner_id=p.admin.partner_id, route="remote", remote_base_url="https://x.example", responder_gln="0614141000005")
        await p.directory.put(remote, dt.datetime.now(dt.UTC))  # unannounced
        loads = routes.loads
        cached = await routes.get(GTINS[0])
        assert cached is not None and cached.route == lookup_pb.ROUTE_KIND_REMOTE
        assert routes.loads == loads + 1

    run(tmp_path, scenario)


def test_a_route_is_not_cached_past_the_expiry_of_its_record(tmp_path: Path) -> None:
    async def scenario(p: Parts) -> None:
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).isoformat()
        entry = lookup_pb.DirectoryEntry(kind=lookup_pb.ENTRY_KIND_PREFIX, key=PREFIX, route=lookup_pb.ROUTE_KIND_HOSTED, expires_at=expires)
        await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=entry), timeout=2)
        answer = await p.lookup.ResolveRoute(lookup_pb.ResolveRouteRequest(gtin=GTINS[0]), timeout=2)
        assert answer.found and 1 <= answer.cache_seconds <= 3
        forever = lookup_pb.DirectoryEntry(kind=lookup_pb.ENTRY_KIND_PREFIX, key=PREFIX, route=lookup_pb.ROUTE_KIND_HOSTED)
        await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=forever), timeout=2)
        assert (await p.lookup.ResolveRoute(lookup_pb.ResolveRouteRequest(gtin=GTINS[0]), timeout=2)).cache_seconds == 30

    run(tmp_path, scenario)


def test_the_cache_saves_the_lookup_hop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Measured, not asserted on timing: a cached route against a ResolveRoute RPC each time."""

    async def scenario(p: Parts) -> None:
        entry = lookup_pb.DirectoryEntry(kind=lookup_pb.ENTRY_KIND_PREFIX, key=PREFIX, route=lookup_pb.ROUTE_KIND_HOSTED)
        await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=entry), timeout=2)
        routes = p.verifier.routes
        await routes.get(GTINS[0])
        await routes.wait_for_version(await p.directory.version(), timeout=5)
        await routes.get(GTINS[0])
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            await routes.get(GTINS[0])
        cached = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for _ in range(n // 4):
            await direct(p, GTINS[0])
        uncached = (time.perf_counter() - started) / (n // 4)
        assert routes.hits >= n
        with capsys.disabled():
            print(f"\nroute for a verification: cached {cached * 1e6:.1f} us, ResolveRoute RPC {uncached * 1e6:.0f} us")

    run(tmp_path, scenario)


def test_a_stale_cached_remote_route_is_dropped_when_lookup_says_it_changed(tmp_path: Path) -> None:
    """A change the cache has not heard of (made behind lookup's back, no poll): lookup refuses
    to forward a GTIN that is no longer remote, and the verifier answers from the new route."""
    from verinet.verifier.v1 import verifier_pb2 as verifier_pb

    async def scenario(p: Parts) -> None:
        remote = lookup_pb.DirectoryEntry(kind=lookup_pb.ENTRY_KIND_PREFIX, key=PREFIX, route=lookup_pb.ROUTE_KIND_REMOTE, remote_base_url="https://x.example", responder_gln="0614141000005")
        await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=remote), timeout=2)
        routes = p.verifier.routes
        await routes.get(GTINS[0])
        await routes.wait_for_version(await p.directory.version(), timeout=5)
        assert (await routes.get(GTINS[0])).route == lookup_pb.ROUTE_KIND_REMOTE  # type: ignore[union-attr]
        hits = routes.hits
        hosted = DirectoryEntry(kind="prefix", key=PREFIX, owner_partner_id=p.admin.partner_id, route="hosted", responder_gln="0860000100007")
        await p.directory.put(hosted, dt.datetime.now(dt.UTC))  # unannounced
        request = verifier_pb.CheckConnectivityRequest(caller=common_pb.Caller(partner_id="p_w", roles=["wholesaler"]), gtin=GTINS[0], req_gln="0860000100007")
        answer = await p.verifier.CheckConnectivity(request, None)  # type: ignore[arg-type]
        assert answer.response.http_status == 200
        assert answer.response.body == b'{"responderGLN":"0860000100007"}'
        assert routes.hits == hits + 1  # the stale route was served once, then dropped
        assert (await routes.get(GTINS[0])).route == lookup_pb.ROUTE_KIND_HOSTED  # type: ignore[union-attr]

    run(tmp_path, scenario, poll_seconds=3600)


def test_the_cache_stays_live_and_applies_every_change_while_watch_streams_renew_and_connections_age_out(tmp_path: Path) -> None:
    # A lookup that cuts aged connections after a short grace; the watch renews well within it,
    # as it does in production (STREAM_RENEWAL_SECONDS).
    age, grace = 1.0, 1.5
    renew = 0.5
    ageing = [("grpc.max_connection_age_ms", int(age * 1000)), ("grpc.max_connection_age_grace_ms", int(grace * 1000))]

    async def scenario(p: Parts) -> None:
        routes = p.verifier.routes
        await routes.get(GTINS[0])
        await routes.wait_for_version(await p.directory.version(), timeout=5)
        bypassed = 0

        async def sample() -> None:
            nonlocal bypassed
            while True:
                bypassed += not routes.live
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        rng = random.Random(9)
        until = time.monotonic() + 6 * age
        changes = 0
        while time.monotonic() < until:
            await p.lookup.PutDirectoryEntry(lookup_pb.PutDirectoryEntryRequest(caller=p.admin, entry=random_entry(rng)), timeout=2)
            changes += 1
            for gtin in GTINS:  # no waiting: the write answered once the cache had applied it
                assert await routes.get(gtin) == await direct(p, gtin), f"change {changes}, GTIN {gtin}"
            await asyncio.sleep(0.1)
        sampler.cancel()
        assert bypassed == 0, f"the cache was bypassed in {bypassed} samples"
        assert changes > 20

    run(tmp_path, scenario, server_options=ageing, watch_renew_seconds=renew)
