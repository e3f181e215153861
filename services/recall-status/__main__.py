"""Runs the recall-status service: ``python -m verinet.recall_status``.

Besides the gRPC server it runs the webhook delivery worker and the recall follow-up (due
reminders, every RECALL_FOLLOW_UP_SECONDS) as background tasks; on SIGTERM
the server drains first, then the worker finishes the deliveries in flight (within the grace
period) and leaves anything else in the stream for another replica.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from prometheus_client import start_http_server

from verinet import logs
from verinet.recall_status import event_store
from verinet.recall_status.alerts import AlertStore
from verinet.recall_status.notifications import (
    DeliveryWorker,
    Notifier,
    Sign,
    SubscriptionStore,
)
from verinet.recall_status.packs import PackRepository
from verinet.recall_status.servicer import RecallStatusServicer
from verinet.recall_status.settings import Settings
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import call, channel, install_event_loop_policy, run_until_signalled, start_server
from verinet.store import connect, wait_until_answering
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc

log = logging.getLogger("verinet.recall_status")


def verifier_signer(stub: verifier_grpc.VerifierServiceStub, timeout: float) -> Sign:
    """Signs webhook requests with the network key, which only the verifier holds."""

    async def sign(method: str, url: str, body: bytes) -> dict[str, str]:
        answer = await call(
            stub.SignRequest,
            verifier_pb.SignRequestRequest(
                method=method, url=url, body=body, content_type="application/json"
            ),
            timeout=timeout,
        )
        return dict(answer.headers)

    return sign


async def follow_up_loop(servicer: RecallStatusServicer, every: float) -> None:
    """Sends due recall reminders every ``every`` seconds (replicas may all run it: each
    reminder step is recorded once, see ``RecallService.remind``)."""
    while True:
        await asyncio.sleep(every)
        try:
            sent = await servicer.recalls.follow_up()
        except Exception:  # a failed pass is retried at the next one
            log.exception("Recall follow-up pass failed")
            continue
        if sent:
            log.info("Recall reminders sent", extra={"reminders": len(sent)})


async def prune_loop(redis: Any, retention_days: int, every: float = 3600.0) -> None:
    """Takes EPCIS events past their retention out of the query store, now and every hour
    (replicas may all run it: removing what is already gone does nothing)."""
    while True:
        try:
            removed = await event_store.prune(redis, time.time() - retention_days * 86400.0)
        except Exception:  # a failed pass is retried at the next one
            log.exception("EPCIS event pruning failed")
        else:
            if removed:
                log.info("EPCIS events past their retention removed", extra={"events": removed})
        await asyncio.sleep(every)


async def serve(settings: Settings) -> None:
    redis = connect(settings.redis_url, timeout=settings.redis_timeout)
    await wait_until_answering(redis)
    verifier_channel = channel(settings.verifier_addr, settings.internal_tls)
    subscriptions = SubscriptionStore(redis, settings.notify.outbound)
    notifier = Notifier(redis, subscriptions)
    worker = DeliveryWorker(
        redis,
        verifier_signer(verifier_grpc.VerifierServiceStub(verifier_channel), settings.rpc_timeout),
        settings.notify,
    )
    servicer = RecallStatusServicer(
        PackRepository(redis),
        AlertStore(redis),
        settings.max_packs_per_request,
        notifier=notifier,
        subscriptions=subscriptions,
    )
    handle = await start_server(
        "verinet.recall_status.v1.RecallStatusService",
        [lambda server: rs_grpc.add_RecallStatusServiceServicer_to_server(servicer, server)],
        settings.port,
        settings.bind_host,
        tls=settings.internal_tls,
        health_port=settings.health_port,
    )
    await worker.start()
    follow_up = asyncio.create_task(follow_up_loop(servicer, settings.follow_up_seconds))
    pruning = asyncio.create_task(prune_loop(redis, settings.event_retention_days)) if settings.event_retention_days else None
    log.info("recall-status listening", extra={"port": handle.port})

    async def stop() -> None:
        follow_up.cancel()
        if pruning is not None:
            pruning.cancel()
        await worker.drain(settings.shutdown_grace)
        await verifier_channel.close()
        await redis.aclose()

    await run_until_signalled(handle, settings.shutdown_grace, on_stop=stop, on_drain=servicer.drain)


def main() -> None:
    settings = Settings.from_env(os.environ)
    logs.configure("recall-status", settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    install_event_loop_policy()
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
