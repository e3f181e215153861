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
from verinet.gateway.app_keys import LIMITS, OVERLOAD, PARTNER_STORE
from verinet.gateway.limits import Overload
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
OVERLOAD_REFUSALS = Counter("verinet_http_overload_refusals_total", "Requests refused by the overload guard")

#: Routes that stream their body and enforce their own, larger limit (EPCIS documents).
STREAMED_UPLOADS = frozenset({"/v1/events"})
#: Routes that answer even at capacity: probes and scrapes must see an overloaded gateway.
UNGUARDED = frozenset({"/healthz", "/readyz", "/metrics"})
#: The problem codes of aiohttp's own refusals (a body past the app's limit, routing).
HTTP_ERROR_CODES = {404: "route.not_found", 405: "method.not_allowed", 413: "body.too_large"}


def http_error_problem(error: web.HTTPException) -> web.Response:
    """An aiohttp refusal (4xx, 5xx) as a problem document, its Allow header kept."""
    response = problem(error.status, HTTP_ERROR_CODES.get(error.status, "http.error"), error.reason or "HTTP error")
    if error.status == 405 and "Allow" in error.headers:
        response.headers["Allow"] = error.headers["Allow"]
    return response


def overload_refusal(request: web.Request, overload: Overload, *, sized: bool, guarded: bool) -> web.Response | None:
    """413 for a declared body past the gateway's limit (before authentication or reading: an
    oversized upload costs nothing), 503 past ``max_in_flight`` requests in progress; None to go on."""
    length = request.content_length
    if sized and length is not None and length > overload.max_body_bytes:
        return problem(413, "body.too_large", f"The body is {length} bytes; at most {overload.max_body_bytes} are accepted.")
    if guarded and overload.in_flight >= overload.max_in_flight:
        OVERLOAD_REFUSALS.inc()
        response = problem(503, "overloaded", "The gateway is at capacity; retry shortly.")
        response.headers["Retry-After"] = "1"
        return response
    return None


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
        """Declares a route: guards against overload, authenticates, checks roles, maps errors
        (aiohttp's refusals among them) to problem documents, records metrics. Here rather than
        in aiohttp middlewares, which would wrap every request in three more coroutines.

        ``roles=()`` declares a public route, whose handler takes None for the partner."""

        def decorate(handler: AuthedHandler | PublicHandler) -> AuthedHandler | PublicHandler:
            seconds = HTTP_SECONDS.labels(path, method)  # bound once: no label lookup per request
            responses_by_status: dict[int, Any] = {}
            sized, guarded = path not in STREAMED_UPLOADS, path not in UNGUARDED

            @functools.wraps(handler)
            async def wrapped(request: web.Request) -> web.StreamResponse:
                started = time.perf_counter()
                status = 500
                app = request.app  # read once: aiohttp finds it through the match info each time
                overload = app[OVERLOAD]
                refusal = overload_refusal(request, overload, sized=sized, guarded=guarded)
                if refusal is not None:
                    return refusal  # not timed, nothing ran (a 503 is counted in OVERLOAD_REFUSALS)
                overload.in_flight += 1
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
                    limits = app[LIMITS]
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
                except web.HTTPException as error:
                    if error.status < 400:
                        raise  # a redirect is an answer, not an error
                    response = http_error_problem(error)
                    status = response.status
                    return response
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
                    overload.in_flight -= 1
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
