"""Public system routes: health, readiness, metrics, JWKS, OpenAPI."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from verinet.gateway.app_keys import CLIENTS, DRAINING, JWKS_CACHE, ROUTES
from verinet.gateway.clients import Clients
from verinet.gateway.routing import RouteTable
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import call
from verinet.verifier.v1 import verifier_pb2 as verifier_pb

routes = RouteTable()

log = logging.getLogger(__name__)

JWKS_CACHE_SECONDS = 60.0
#: How long a JWKS missing one service's keys is kept before asking again.
JWKS_PARTIAL_SECONDS = 5.0
METRICS_PATH = "/metrics"


@routes.route("GET", "/healthz", roles=(), tag="System", summary="Liveness: the gateway process answers")
async def healthz(request: web.Request, partner: None) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.route("GET", "/readyz", roles=(), tag="System", summary="Readiness: Redis and every internal service answer")
async def readyz(request: web.Request, partner: None) -> web.Response:
    if request.app[DRAINING].is_set():
        return web.json_response({"status": "draining"}, status=503)
    clients = request.app[CLIENTS]
    checks: dict[str, str] = {}

    async def check_redis() -> None:
        await asyncio.wait_for(clients.redis.ping(), clients.rpc_timeout)

    async def check_service(name: str) -> None:
        stub = health_pb2_grpc.HealthStub(clients.channels[name])
        # types-grpcio-health-checking declares HealthStub without its methods.
        answer: health_pb2.HealthCheckResponse = await stub.Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(service=""), timeout=clients.rpc_timeout
        )
        if answer.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))

    async def run(name: str, check: object) -> None:
        try:
            await check  # type: ignore[misc]
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - reported, not raised
            checks[name] = f"failing: {type(error).__name__}"

    await asyncio.gather(
        run("redis", check_redis()),
        *(run(name, check_service(name)) for name in clients.channels),
    )
    ready = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


@routes.route("GET", METRICS_PATH, roles=(), tag="System", summary="Prometheus metrics (here only when METRICS_PORT is 0; else on that port)")
async def metrics(request: web.Request, partner: None) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def verdict_keys(clients: Clients) -> list[dict[str, Any]]:
    answer = await call(clients.verifier.GetJwks, verifier_pb.GetJwksRequest(), timeout=clients.rpc_timeout)
    return list(orjson.loads(answer.jwks_json)["keys"])


async def webhook_keys(clients: Clients) -> list[dict[str, Any]]:
    answer = await call(clients.recall_status.GetWebhookKeys, rs_pb.GetWebhookKeysRequest(), timeout=clients.rpc_timeout)
    return [MessageToDict(jwk, preserving_proto_field_name=True) for jwk in answer.keys]


@routes.route("GET", "/.well-known/jwks.json", roles=(), tag="System", summary="Public keys that sign verdicts and webhook deliveries (JWKS)")
async def jwks(request: web.Request, partner: None) -> web.Response:
    cache = request.app[JWKS_CACHE]
    max_age = JWKS_CACHE_SECONDS
    if cache.get("expires", 0.0) < time.monotonic():
        clients = request.app[CLIENTS]
        # One JWKS for the network: the verifier's verdict keys, then recall-status's webhook keys.
        answers = await asyncio.gather(verdict_keys(clients), webhook_keys(clients), return_exceptions=True)
        verdicts: list[dict[str, Any]] | BaseException = answers[0]
        webhooks: list[dict[str, Any]] | BaseException = answers[1]
        # One service down must not hide the other's keys: verdicts stay verifiable while
        # recall-status restarts. The missing part is its last known keys, if any, and the
        # answer is cached briefly so that the whole set comes back soon.
        if isinstance(verdicts, BaseException):
            if "verdicts" not in cache:
                raise verdicts
        else:
            cache["verdicts"] = verdicts
        if isinstance(webhooks, BaseException):
            log.warning("JWKS: recall-status's webhook keys unavailable (%s); serving the verdict keys", type(webhooks).__name__)
        else:
            cache["webhooks"] = webhooks
        complete = not isinstance(verdicts, BaseException) and not isinstance(webhooks, BaseException)
        max_age = JWKS_CACHE_SECONDS if complete else JWKS_PARTIAL_SECONDS
        keys = [*cache["verdicts"], *cache.get("webhooks", [])]
        cache.update(body=orjson.dumps({"keys": keys}), expires=time.monotonic() + max_age)
    else:
        max_age = max(0.0, cache["expires"] - time.monotonic())
    return web.Response(
        body=cache["body"],
        content_type="application/jwk-set+json",
        headers={"Cache-Control": f"public, max-age={int(max_age)}"},
    )


@routes.route("GET", "/openapi.json", roles=(), tag="System", summary="This API's OpenAPI document")
async def openapi(request: web.Request, partner: None) -> web.Response:
    from verinet.gateway.openapi import build

    declared = request.app[ROUTES]
    return web.Response(body=orjson.dumps(build(declared)), content_type="application/json")
