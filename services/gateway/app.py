"""The gateway's aiohttp application factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from verinet.gateway import api, epcis, lms, packs, recalls, subscriptions, system  # noqa: F401 - modules declare their routes
from verinet.gateway.api import SETTINGS
from verinet.gateway.clients import clients_context
from verinet.gateway.problems import problem
from verinet.gateway.routing import ROUTES
from verinet.gateway.settings import Settings
from verinet.gateway.system import DRAINING, JWKS_CACHE


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


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[problem_for_http_errors])
    app[SETTINGS] = settings
    app[DRAINING] = asyncio.Event()
    app[JWKS_CACHE] = {}
    app.cleanup_ctx.append(
        clients_context(  # type: ignore[arg-type]
            settings.redis_url,
            settings.redis_timeout,
            settings.verifier_addr,
            settings.lookup_addr,
            settings.recall_status_addr,
            settings.rpc_timeout,
        )
    )

    async def start_draining(app: web.Application) -> None:
        app[DRAINING].set()

    app.on_shutdown.append(start_draining)
    for spec in ROUTES:
        app.router.add_route(spec.method, spec.path, spec.handler)
    return app
