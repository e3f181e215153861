"""gRPC plumbing: connections between services survive long calls, keepalive pings and
connections ageing out."""

from __future__ import annotations

import asyncio

import grpc

from verinet.gateway.epcis_capture import CAPTURE_RPC_SECONDS
from verinet.gateway.recalls import RECALL_RPC_SECONDS, REPORT_MAX_SECONDS
from verinet.rpc import (
    MAX_CONNECTION_AGE_GRACE_SECONDS,
    MAX_CONNECTION_AGE_SECONDS,
    MAX_RECONNECT_BACKOFF_MS,
    SERVER_OPTIONS,
    STREAM_RENEWAL_SECONDS,
    start_server,
)
from verinet.streamed_calls import STREAM_SECONDS

KEEPALIVE_MS = 1_000  # the production interval scaled down, so pings pile up within seconds


def slow_echo(server: grpc.aio.Server) -> None:
    async def wait(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        await asyncio.sleep(6)  # six keepalive intervals with no data on the connection
        return request

    handler = grpc.unary_unary_rpc_method_handler(wait)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("verinet.test.v1.Slow", {"Wait": handler}),))


async def ask_slowly(port: int) -> bytes | grpc.StatusCode:
    # A client that pings at every interval while the call runs, as a verinet channel may.
    options = [("grpc.keepalive_time_ms", KEEPALIVE_MS), ("grpc.http2.max_pings_without_data", 0)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as client:
        call = client.unary_unary("/verinet.test.v1.Slow/Wait")
        try:
            answer: bytes = await call(b"still here", timeout=20)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return answer


async def long_call_to_a_verinet_server(connection_age_seconds: float = MAX_CONNECTION_AGE_SECONDS) -> bytes | grpc.StatusCode:
    handle = await start_server(
        "verinet.test.v1.Slow", [slow_echo], 0, "127.0.0.1", keepalive_ms=KEEPALIVE_MS, connection_age_seconds=connection_age_seconds
    )
    try:
        return await ask_slowly(handle.port)
    finally:
        await handle.stop(0)


async def long_call_to_a_server_without_the_ping_policy() -> bytes | grpc.StatusCode:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    slow_echo(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        return await ask_slowly(port)
    finally:
        await server.stop(0)


def test_a_call_longer_than_many_keepalive_intervals_is_not_cut_by_the_server() -> None:
    assert asyncio.run(long_call_to_a_verinet_server()) == b"still here"


def test_without_the_ping_policy_the_server_cuts_such_a_call_with_too_many_pings() -> None:
    assert asyncio.run(long_call_to_a_server_without_the_ping_policy()) == grpc.StatusCode.UNAVAILABLE


def test_a_call_still_running_when_its_connection_ages_out_is_answered() -> None:
    # The connection ages out several times over while the call runs (6 s): the server's
    # grace lets the call end on it.
    assert asyncio.run(long_call_to_a_verinet_server(connection_age_seconds=1.0)) == b"still here"


def test_no_call_deadline_outlasts_the_grace_an_aged_connection_gives_it() -> None:
    # Past the grace the server cuts whatever still runs on an aged connection: a recall
    # report or an EPCIS capture that long would fail midway.
    longest = {"recall report": REPORT_MAX_SECONDS, "EPCIS capture": CAPTURE_RPC_SECONDS, "recall call": RECALL_RPC_SECONDS}
    assert {name: s for name, s in longest.items() if s > MAX_CONNECTION_AGE_GRACE_SECONDS} == {}


def test_long_lived_streams_renew_many_times_within_a_connection_age() -> None:
    assert STREAM_SECONDS == STREAM_RENEWAL_SECONDS
    assert STREAM_RENEWAL_SECONDS * 10 <= MAX_CONNECTION_AGE_SECONDS


AWAY_SECONDS = 20.0  # long enough for gRPC's default backoff to wait 10 s between attempts


async def seconds_to_find_a_returned_peer() -> float:
    """A peer answers, goes away for AWAY_SECONDS while calls keep failing, comes back on its
    port: the seconds from its return to the first answered call."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from verinet.embedded_redis import free_port
    from verinet.rpc import channel

    port = free_port()
    client = channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(client)

    async def answers() -> bool:
        try:
            await health.Check(health_pb2.HealthCheckRequest(), timeout=1)  # type: ignore[attr-defined]
        except grpc.aio.AioRpcError:
            return False
        return True

    try:
        handle = await start_server("verinet.test.v1.Peer", [], port, "127.0.0.1")
        assert await answers()
        await handle.stop(0)
        loop = asyncio.get_running_loop()
        away_until = loop.time() + AWAY_SECONDS
        while loop.time() < away_until:
            assert not await answers()
            await asyncio.sleep(0.1)
        handle = await start_server("verinet.test.v1.Peer", [], port, "127.0.0.1")
        back = loop.time()
        try:
            while not await answers():
                await asyncio.sleep(0.05)
            return loop.time() - back
        finally:
            await handle.stop(0)
    finally:
        await client.close()


def test_a_channel_finds_a_peer_back_from_a_long_absence_within_its_reconnect_backoff() -> None:
    # gRPC's default waits grow to 120 s; verinet's channels wait at most 2 s between attempts.
    assert asyncio.run(seconds_to_find_a_returned_peer()) < 2 * MAX_RECONNECT_BACKOFF_MS / 1000
