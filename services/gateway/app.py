"""The gateway's aiohttp application factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import Counter

from verinet.gateway import (
    api,
    console,
    epcis_capture,
    epcis_export,
    epcis_query,
    epcis_received,
    lms,
    networks,
    pack_routes,
    recalls,
    subscriptions,
    system,
)
from verinet.gateway.app_keys import BODY_LIMITS, DRAINING, JWKS_CACHE, LIMITS, ROUTES, SETTINGS
from verinet.gateway.clients import clients_context
from verinet.gateway.jsonscan import BodyLimits
from verinet.gateway.limits import Limits
from verinet.gateway.problems import problem
from verinet.gateway.routing import RouteTable
from verinet.gateway.settings import Settings
from verinet.gateway.system import METRICS_PATH
from verinet.rpc import freeze_startup_objects

#: Every module's routes, added to the app by ``create_app`` (OpenAPI lists them in this order).
ROUTE_TABLES: tuple[RouteTable, ...] = (
    lms.routes,
    api.routes,
    console.routes,
    epcis_capture.routes,
    epcis_query.routes,
    epcis_export.routes,
    epcis_received.routes,
    networks.routes,
    pack_routes.routes,
    recalls.routes,
    subscriptions.routes,
    system.routes,
)
# Routes that stream their body and enforce their own, larger limit (EPCIS documents).
STREAMED_UPLOADS = frozenset({"/v1/events"})
OVERLOAD_REFUSALS = Counter("verinet_http_overload_refusals_total", "Requests refused by the overload guard")


@web.middleware
async def problem_for_http_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown routes, wrong methods and oversized bodies answer as problem documents too."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = {404: "route.not_found", 405: "method.not_allowed", 413: "body.too_large"}.get(
            error.status, "http.error"
        )
        response = problem(error.status, code, error.reason or "HTTP error")
        if error.status == 405 and "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response


def overload_guard(max_in_flight: int, max_body_bytes: int = 1 << 30) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Past ``max_in_flight`` requests in progress, answer 503 at once instead of queueing."""
    in_flight = 0

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        nonlocal in_flight
        if (
            request.content_length is not None
            and request.content_length > max_body_bytes
            and request.path not in STREAMED_UPLOADS
        ):
            # Refused before authentication or reading: an oversized upload costs nothing.
            return problem(413, "body.too_large", f"The body is {request.content_length} bytes; at most {max_body_bytes} are accepted.")
        if in_flight >= max_in_flight and request.path not in ("/healthz", "/readyz", "/metrics"):
            OVERLOAD_REFUSALS.inc()
            response = problem(503, "overloaded", "The gateway is at capacity; retry shortly.")
            response.headers["Retry-After"] = "1"
            return response
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return guard


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[overload_guard(settings.max_in_flight, settings.max_body_bytes), problem_for_http_errors],
    )
    app[LIMITS] = Limits(
        rate_per_second=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
        concurrency=settings.partner_concurrency,
        auth_failures_per_minute=settings.auth_failures_per_minute,
    )
    app[SETTINGS] = settings
    app[BODY_LIMITS] = BodyLimits(
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
        max_line_bytes=settings.max_json_line_bytes,
        max_values=settings.max_json_values,
        max_string_bytes=settings.max_json_string_bytes,
    )
    app[DRAINING] = asyncio.Event()
    app[JWKS_CACHE] = {}
    app.cleanup_ctx.append(clients_context(settings))

    async def start_draining(app: web.Application) -> None:
        app[DRAINING].set()

    app.on_shutdown.append(start_draining)

    async def freeze(app: web.Application) -> None:
        freeze_startup_objects()

    app.on_startup.append(freeze)
    app[ROUTES] = tuple(spec for table in ROUTE_TABLES for spec in table)
    for spec in app[ROUTES]:
        if spec.path == METRICS_PATH and settings.metrics_port:
            continue  # served on METRICS_PORT instead, never to partners
        app.router.add_route(spec.method, spec.path, spec.handler)
    return app
