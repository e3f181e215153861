"""The gateway's clients: gRPC stubs and Redis, created in the app's cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import redis.asyncio as aioredis
from aiohttp import web

from verinet.gateway.app_keys import CLIENTS, PARTNER_STORE
from verinet.gateway.lms_batches import LmsVerifier
from verinet.gateway.settings import Settings
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.partners import PartnerStore
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import call, channel
from verinet.store import connect
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc


@dataclass
class Clients:
    redis: aioredis.Redis
    verifier: verifier_grpc.VerifierServiceStub
    lookup: lookup_grpc.LookupServiceStub
    recall_status: rs_grpc.RecallStatusServiceStub
    channels: dict[str, grpc.aio.Channel]
    rpc_timeout: float
    lms: LmsVerifier

    async def ask(self, rpc: Callable[..., Any], message: Any, *, timeout: float | None = None) -> Any:
        """Sends ``message`` to ``rpc`` (a stub's unary method, e.g. ``self.lookup.GetRemoteNetwork``)
        within the gateway's deadline, or ``timeout`` for the slow ones; a gRPC error comes back as
        the VerinetError it carries, for the error middleware to answer."""
        return await call(rpc, message, timeout=self.rpc_timeout if timeout is None else timeout)


def clients_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app's cleanup context: opens Redis and the gRPC channels from ``settings`` at start
    (``CLIENTS``, ``PARTNER_STORE``) and closes them at shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        redis = connect(settings.redis_url, timeout=settings.redis_timeout)
        tls = settings.internal_tls
        channels = {
            "verifier": channel(settings.verifier_addr, tls),
            "lookup": channel(settings.lookup_addr, tls),
            "recall-status": channel(settings.recall_status_addr, tls),
        }
        verifier = verifier_grpc.VerifierServiceStub(channels["verifier"])
        lms = LmsVerifier(
            verifier,
            settings.rpc_timeout,
            in_flight=settings.lms_batch_in_flight,
            max_batch=settings.lms_batch_max,
            streamed=settings.streamed_calls,
            sockets=settings.verifier_call_sockets,
        )
        app[CLIENTS] = Clients(
            redis=redis,
            verifier=verifier,
            lookup=lookup_grpc.LookupServiceStub(channels["lookup"]),
            recall_status=rs_grpc.RecallStatusServiceStub(channels["recall-status"]),
            channels=channels,
            rpc_timeout=settings.rpc_timeout,
            lms=lms,
        )
        app[PARTNER_STORE] = PartnerStore(redis)
        yield
        await lms.aclose()
        for ch in channels.values():
            await ch.close()
        await redis.aclose()

    return context
