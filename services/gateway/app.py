"""The gateway's aiohttp application factory."""

from __future__ import annotations

import asyncio

from aiohttp import web

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
from verinet.gateway.app_keys import (
    BODY_LIMITS,
    DRAINING,
    JWKS_CACHE,
    LIMITS,
    OVERLOAD,
    ROUTES,
    SETTINGS,
)
from verinet.gateway.clients import clients_context
from verinet.gateway.jsonscan import BodyLimits
from verinet.gateway.limits import Limits, Overload
from verinet.gateway.routing import RouteTable, http_error_problem
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
def create_app(settings: Settings) -> web.Application:
    # No middlewares: each route's wrapper (routing.RouteTable) guards and maps errors itself,
    # and what no route takes ends at ``unrouted``.
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[OVERLOAD] = Overload(settings.max_in_flight, settings.max_body_bytes)
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
    app.router.add_route("*", "/{path:.*}", unrouted)  # last: only what no route above takes
    return app


async def unrouted(request: web.Request) -> web.Response:
    """A request no declared route takes: 405 with the methods another route of its path
    allows (``Allow``), else 404; problem documents both, as aiohttp's router would refuse it."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        match, methods = await resource.resolve(request)
        if match is not None and match.handler is unrouted:
            continue
        allowed |= methods
    if allowed:
        return http_error_problem(web.HTTPMethodNotAllowed(request.method, allowed))
    return http_error_problem(web.HTTPNotFound())
