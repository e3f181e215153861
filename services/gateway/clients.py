"""The gateway's clients: gRPC stubs and Redis, created in the app's cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
import redis.asyncio as aioredis
from aiohttp import web

from verinet.config import InternalTls
from verinet.gateway.lms_batches import LmsVerifier
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.partners import PartnerStore
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import channel
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


CLIENTS = web.AppKey("clients", Clients)


def clients_context(
    redis_url: str,
    redis_timeout: float,
    verifier_addr: str,
    lookup_addr: str,
    recall_status_addr: str,
    rpc_timeout: float,
    internal_tls: InternalTls | None = None,
    lms_batch_in_flight: int = 2,
    lms_batch_max: int = 64,
    streamed_calls: bool = True,
    verifier_sockets: Sequence[str] = (),
) -> object:
    from verinet.gateway.routing import PARTNER_STORE

    async def context(app: web.Application) -> AsyncIterator[None]:
        redis = connect(redis_url, timeout=redis_timeout)
        channels = {
            "verifier": channel(verifier_addr, internal_tls),
            "lookup": channel(lookup_addr, internal_tls),
            "recall-status": channel(recall_status_addr, internal_tls),
        }
        verifier = verifier_grpc.VerifierServiceStub(channels["verifier"])
        lms = LmsVerifier(
            verifier,
            rpc_timeout,
            in_flight=lms_batch_in_flight,
            max_batch=lms_batch_max,
            streamed=streamed_calls,
            sockets=verifier_sockets,
        )
        app[CLIENTS] = Clients(
            redis=redis,
            verifier=verifier,
            lookup=lookup_grpc.LookupServiceStub(channels["lookup"]),
            recall_status=rs_grpc.RecallStatusServiceStub(channels["recall-status"]),
            channels=channels,
            rpc_timeout=rpc_timeout,
            lms=lms,
        )
        app[PARTNER_STORE] = PartnerStore(redis)
        yield
        await lms.aclose()
        for ch in channels.values():
            await ch.close()
        await redis.aclose()

    return context
