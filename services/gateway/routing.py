"""Route declarations: every route names its roles, so authorization is never forgotten.

Each route module keeps a ``RouteTable`` (like aiohttp's ``web.RouteTableDef``, plus the roles,
tag and summary of each route) and declares its handlers with ``@routes.route(...)``. The app
factory adds every module's table to the app (``app.py``, ``ROUTE_TABLES``); the OpenAPI
document and the authorization tests walk the same routes.

>>> routes = RouteTable()
>>> @routes.route("GET", "/ping", roles=(), summary="Answers")
... async def ping(request: web.Request, partner: None) -> web.Response:
...     return web.Response(text="pong")
>>> [(spec.method, spec.path, spec.roles) for spec in routes]
[('GET', '/ping', ())]
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack, cast, overload

from aiohttp import web
from prometheus_client import Counter
from redis.exceptions import RedisError

from verinet.errors import Forbidden, Unauthenticated, Unavailable, VerinetError
from verinet.gateway.app_keys import LIMITS, PARTNER_STORE
from verinet.gateway.problems import lms_error, problem, problem_from_error
from verinet.metrics import Histogram
from verinet.partners import Partner

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthedHandler = Callable[[web.Request, Partner], Awaitable[web.StreamResponse]]
#: A public route's handler (``roles=()``): no token is read, its partner is always None.
PublicHandler = Callable[[web.Request, None], Awaitable[web.StreamResponse]]

HTTP_SECONDS = Histogram(
    "verinet_http_request_seconds",
    "Time to answer one HTTP request",
    ["route", "method"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
HTTP_RESPONSES = Counter(
    "verinet_http_responses_total", "HTTP responses by route and status", ["route", "status"]
)

@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    roles: tuple[str, ...]  # empty: public, no token needed; else Role members
    summary: str
    lms: bool = False
    tag: str = "verinet"
    params: tuple[dict[str, Any], ...] = ()
    request_body: dict[str, Any] | None = None
    responses: dict[str, str] = field(default_factory=dict)


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Missing bearer token: send 'Authorization: Bearer <token>'.", code="auth.missing"
        )
    return token.strip()


async def authenticate(request: web.Request) -> Partner:
    """The partner behind the bearer token. Failures are counted per address and, past the
    allowance, answered 429: probing slows down, while valid tokens behind the same address
    (a pharmacy chain's NAT) keep working."""
    try:
        return await request.app[PARTNER_STORE].authenticate(bearer_token(request))
    except Unauthenticated:
        # Looked up only on a failure: the peer's address costs each request ~0.4 µs to read.
        limits = request.app[LIMITS]
        client = request.remote or "unknown"
        limits.check_auth_allowed(client)
        limits.auth_failed(client)
        raise


class RouteOptions(TypedDict, total=False):
    """What a route may declare besides its method, path, roles and summary (defaults in
    :meth:`RouteTable.route`)."""

    lms: bool
    tag: str
    params: tuple[dict[str, Any], ...]
    request_body: dict[str, Any] | None
    responses: dict[str, str] | None


class RouteTable:
    """One module's routes, in declaration order; the app factory adds them to the app."""

    def __init__(self) -> None:
        self._specs: list[RouteSpec] = []

    def __iter__(self) -> Iterator[RouteSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    @overload
    def route(  # type: ignore[overload-overlap]  # roles=() picks this public overload first
        self, method: str, path: str, *, roles: tuple[()], summary: str, **options: Unpack[RouteOptions]
    ) -> Callable[[PublicHandler], PublicHandler]: ...
    @overload
    def route(  # roles: at least one (a Role group, or a tuple of Role members)
        self, method: str, path: str, *, roles: tuple[str, ...], summary: str, **options: Unpack[RouteOptions]
    ) -> Callable[[AuthedHandler], AuthedHandler]: ...
    def route(
        self,
        method: str,
        path: str,
        *,
        roles: tuple[str, ...],
        summary: str,
        lms: bool = False,
        tag: str = "verinet",
        params: tuple[dict[str, Any], ...] = (),
        request_body: dict[str, Any] | None = None,
        responses: dict[str, str] | None = None,
    ) -> Callable[[Any], Any]:
        """Declares a route: authenticates, checks roles, maps errors, records metrics.

        ``roles=()`` declares a public route, whose handler takes None for the partner."""

        def decorate(handler: AuthedHandler | PublicHandler) -> AuthedHandler | PublicHandler:
            seconds = HTTP_SECONDS.labels(path, method)  # bound once: no label lookup per request
            responses_by_status: dict[int, Any] = {}

            @functools.wraps(handler)
            async def wrapped(request: web.Request) -> web.StreamResponse:
                started = time.perf_counter()
                status = 500
                try:
                    if not roles:
                        # The overloads tie roles=() to a PublicHandler.
                        response = await cast(PublicHandler, handler)(request, None)
                        status = response.status
                        return response
                    partner = await authenticate(request)
                    if not partner.has_role(*roles):
                        raise Forbidden(
                            f"This route needs one of the roles {', '.join(roles)}; "
                            f"the partner has {', '.join(partner.roles)}.",
                            code="auth.role",
                        )
                    limits = request.app[LIMITS]
                    limits.admit(partner.id)
                    try:
                        response = await cast(AuthedHandler, handler)(request, partner)
                    finally:
                        limits.release(partner.id)
                    status = response.status
                    return response
                except VerinetError as error:
                    response = lms_error(error) if lms else problem_from_error(error)
                    status = response.status
                    if status >= 500:
                        log.warning("Request failed: %s", error.message, extra={"code": error.code})
                    return response
                except web.HTTPException:
                    raise
                except RedisError as error:
                    log.warning("Redis failed on %s %s: %s", method, path, type(error).__name__)
                    response = lms_error(Unavailable("The data store is unavailable; retry shortly.")) if lms else problem(503, "store.unavailable", "The data store is unavailable; retry shortly.")
                    response.headers["Retry-After"] = "1"
                    status = response.status
                    return response
                except Exception:
                    log.exception("Unhandled error on %s %s", method, path)
                    return problem(500, "internal", "Internal error; it has been logged.")
                finally:
                    seconds.observe(time.perf_counter() - started)
                    counter = responses_by_status.get(status)
                    if counter is None:
                        counter = responses_by_status[status] = HTTP_RESPONSES.labels(path, str(status))
                    counter.inc()

            self._specs.append(
                RouteSpec(
                    method=method,
                    path=path,
                    handler=wrapped,
                    roles=roles,
                    summary=summary,
                    lms=lms,
                    tag=tag,
                    params=params,
                    request_body=request_body,
                    responses=responses or {},
                )
            )
            return handler

        return decorate
