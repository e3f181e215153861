"""Runs the recall-status service: ``python -m verinet.recall_status``."""

from __future__ import annotations

import asyncio
import logging
import os

from prometheus_client import start_http_server

from verinet import logs
from verinet.recall_status.alerts import AlertStore
from verinet.recall_status.packs import PackRepository
from verinet.recall_status.servicer import RecallStatusServicer
from verinet.recall_status.settings import Settings
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import install_event_loop_policy, run_until_signalled, start_server
from verinet.store import connect

log = logging.getLogger("verinet.recall_status")


async def serve(settings: Settings) -> None:
    redis = connect(settings.redis_url, timeout=settings.redis_timeout)
    await redis.ping()
    servicer = RecallStatusServicer(
        PackRepository(redis), AlertStore(redis), settings.max_packs_per_request
    )
    handle = await start_server(
        "verinet.recall_status.v1.RecallStatusService",
        [lambda server: rs_grpc.add_RecallStatusServiceServicer_to_server(servicer, server)],
        settings.port,
        settings.bind_host,
    )
    log.info("recall-status listening", extra={"port": handle.port})
    await run_until_signalled(handle, settings.shutdown_grace, on_stop=redis.aclose)


def main() -> None:
    settings = Settings.from_env(os.environ)
    logs.configure("recall-status", settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    install_event_loop_policy()
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
