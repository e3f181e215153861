"""Runs the lookup service: ``python -m verinet.lookup``."""

from __future__ import annotations

import asyncio
import logging
import os

from prometheus_client import start_http_server

from verinet import logs
from verinet.lookup.directory import Directory
from verinet.lookup.servicer import LookupServicer
from verinet.lookup.settings import Settings
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.rpc import install_event_loop_policy, run_until_signalled, start_server
from verinet.store import connect

log = logging.getLogger("verinet.lookup")


async def serve(settings: Settings) -> None:
    redis = connect(settings.redis_url, timeout=settings.redis_timeout)
    await redis.ping()
    servicer = LookupServicer(Directory(redis), settings.route_cache_seconds)
    handle = await start_server(
        "verinet.lookup.v1.LookupService",
        [lambda server: lookup_grpc.add_LookupServiceServicer_to_server(servicer, server)],
        settings.port,
        settings.bind_host,
    )
    log.info("lookup listening", extra={"port": handle.port})
    await run_until_signalled(handle, settings.shutdown_grace, on_stop=redis.aclose)


def main() -> None:
    settings = Settings.from_env(os.environ)
    logs.configure("lookup", settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    install_event_loop_policy()
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
