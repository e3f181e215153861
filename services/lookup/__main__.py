"""Runs the lookup service: ``python -m verinet.lookup``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

import aiohttp

from verinet.lookup.directory import Directory
from verinet.lookup.forwarding import Forwarder
from verinet.lookup.servicer import LookupServicer
from verinet.lookup.settings import Settings
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.lookup.watch import DirectoryWatch
from verinet.outbound_http import GuardedConnector
from verinet.partners import PartnerStore
from verinet.service_main import run_service, start_grpc_server
from verinet.store import connect, wait_until_answering

log = logging.getLogger("verinet.lookup")


def client_session(settings: Settings, *, guarded: bool = False) -> aiohttp.ClientSession:
    """An HTTP client of the process: pooled, keep-alive connections to remote networks.
    Deadlines are set per question, not here. A ``guarded`` one connects only where the
    outbound policy allows (for entries manufacturers wrote); the other is for admins'."""
    options: dict[str, Any] = {
        "limit": settings.forward_pool_size,
        "limit_per_host": settings.forward_pool_size,
        "ttl_dns_cache": 60,
        "keepalive_timeout": 30,
    }
    connector = (
        GuardedConnector(settings.outbound, **options) if guarded else aiohttp.TCPConnector(**options)
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
        raise_for_status=False,
    )


async def serve(settings: Settings) -> None:
    redis = connect(settings.redis_url, timeout=settings.redis_timeout)
    await wait_until_answering(redis)
    directory = Directory(redis)
    watch = DirectoryWatch(directory.version, settings.directory_poll_seconds)
    watch.publish(await directory.version())
    session = client_session(settings)
    guarded = client_session(settings, guarded=True)
    servicer = LookupServicer(
        directory,
        settings.route_cache_seconds,
        forwarder=Forwarder(session, settings.forward, guarded=guarded),
        watch=watch,
        partners=PartnerStore(redis),
        network_gln=settings.network_gln,
        outbound=settings.outbound,
        network_wallet=settings.network_wallet,
    )
    handle = await start_grpc_server(
        settings,
        "verinet.lookup.v1.LookupService",
        lambda server: lookup_grpc.add_LookupServiceServicer_to_server(servicer, server),
    )
    poller = asyncio.create_task(watch.run())
    log.info("lookup listening", extra={"port": handle.port})

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Draining: end the directory watch streams first (they never finish on their own, and
    # verifiers reconnect to another replica), then NOT_SERVING, then in-flight calls.
    log.info("Draining: health NOT_SERVING, grace %.1fs", settings.shutdown_grace)
    watch.close()
    poller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await poller
    await handle.health.enter_graceful_shutdown()
    await handle.stop(settings.shutdown_grace)
    await session.close()
    await guarded.close()
    await redis.aclose()
    log.info("Stopped")


def main() -> None:
    run_service("lookup", Settings.from_env(os.environ), serve)


if __name__ == "__main__":
    main()
