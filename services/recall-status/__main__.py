"""Runs the recall-status service: ``python -m verinet.recall_status``.

Besides the gRPC server it runs the webhook delivery worker (signing each delivery with its own
keys from WEBHOOK_KEY_DIR, reloaded when they rotate) and the recall follow-up (due
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

from verinet.recall_status import event_store
from verinet.recall_status.alerts import AlertStore
from verinet.recall_status.delivery_worker import DeliveryWorker
from verinet.recall_status.notifications import Notifier
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.servicer import RecallStatusServicer
from verinet.recall_status.settings import Settings
from verinet.recall_status.subscriptions import SubscriptionStore
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.recall_status.webhook_keys import WebhookKeys
from verinet.service_main import (
    run_service,
    serve_until_signalled,
    start_call_sockets,
    start_grpc_server,
)
from verinet.signing import KeyRing
from verinet.store import connect, wait_until_answering
from verinet.tls_reload import follow_signing_keys

log = logging.getLogger("verinet.recall_status")


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
    webhook_keys = WebhookKeys(KeyRing.load_or_create(settings.webhook_key_dir))
    subscriptions = SubscriptionStore(redis, settings.notify.outbound)
    notifier = Notifier(redis, subscriptions)
    worker = DeliveryWorker(redis, webhook_keys.sign, settings.notify)
    servicer = RecallStatusServicer(
        PackRepository(redis),
        AlertStore(redis),
        settings.max_packs_per_request,
        notifier=notifier,
        subscriptions=subscriptions,
        webhook_keys=webhook_keys,
    )
    sockets = await start_call_sockets(settings.call_socket, servicer)
    handle = await start_grpc_server(
        settings,
        "verinet.recall_status.v1.RecallStatusService",
        lambda server: rs_grpc.add_RecallStatusServiceServicer_to_server(servicer, server),
    )
    await worker.start()
    background = [
        asyncio.create_task(follow_up_loop(servicer, settings.follow_up_seconds)),
        asyncio.create_task(follow_signing_keys(settings.webhook_key_dir, webhook_keys.use_keys)),
    ]
    if settings.event_retention_days:
        background.append(asyncio.create_task(prune_loop(redis, settings.event_retention_days)))
    log.info("recall-status listening", extra={"port": handle.port})

    async def close() -> None:
        await worker.drain(settings.shutdown_grace)
        await redis.aclose()

    await serve_until_signalled(settings, handle, servicer, sockets, background=background, on_stop=close)


def main() -> None:
    run_service("recall-status", Settings.from_env(os.environ), serve)


if __name__ == "__main__":
    main()
