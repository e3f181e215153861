"""Serving the gateway's application: request-head limits with their own statuses, and a
graceful stop on SIGTERM.

aiohttp refuses an oversized head while parsing it, before any middleware runs, and answers
every such refusal with 400. The gateway answers as HTTP says instead: 431 Request Header
Fields Too Large for too many or too long header fields (RFC 6585), 414 URI Too Long for a
request line past its limit (RFC 9110).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from verinet.gateway.problems import problem

log = logging.getLogger(__name__)

#: Where Linux keeps the ceiling it puts on every listen backlog (per network namespace).
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")

#: At most this many header fields (aiohttp's default) ...
MAX_HEADERS = 128
#: ... whose name, and whose value, have at most this many bytes (aiohttp's default).
MAX_FIELD_BYTES = 8190
#: The request line (method, target, version). It differs from MAX_FIELD_BYTES on purpose:
#: aiohttp reports both overflows as LineTooLong, and the limit it names tells them apart.
MAX_REQUEST_LINE_BYTES = 8192
#: aiohttp's own text for too many header fields (its C and Python parsers agree).
TOO_MANY_HEADERS = "Too many headers received"


def status_for_parse_error(error: BaseException | None) -> int | None:
    """431 or 414 when the request head broke one of the limits above; None otherwise."""
    if isinstance(error, LineTooLong):
        limit = error.args[1] if len(error.args) > 1 else None
        return 414 if str(limit) == str(MAX_REQUEST_LINE_BYTES) else 431
    if isinstance(error, BadHttpMessage) and error.message == TOO_MANY_HEADERS:
        return 431
    return None


class HeadLimitsRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering head-limit refusals with 431 or 414."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        limit_status = status_for_parse_error(exc) if status == 400 else None
        if limit_status is None:
            return super().handle_error(request, status, exc, message)
        # Logged like any refused request (one line, no traceback): a flood is not a bug.
        self.logger.info("Refused a request head with %d: %s", limit_status, type(exc).__name__)
        if limit_status == 414:
            answer = problem(414, "request.uri_too_long", f"The request line is longer than {MAX_REQUEST_LINE_BYTES} bytes.")
        else:
            answer = problem(
                431,
                "request.headers_too_large",
                f"At most {MAX_HEADERS} header fields of at most {MAX_FIELD_BYTES} bytes each are accepted.",
            )
        answer.force_close()  # the rest of the head is unread: the connection cannot be reused
        return answer


class GatewayServer(web.Server):
    """aiohttp's low-level server, making :class:`HeadLimitsRequestHandler` connections."""

    def __call__(self) -> RequestHandler:
        return HeadLimitsRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections answer head-limit refusals with 431 or 414."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("max_headers", MAX_HEADERS)
        kwargs.setdefault("max_field_size", MAX_FIELD_BYTES)
        kwargs.setdefault("max_line_size", MAX_REQUEST_LINE_BYTES)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # Same state, one overridden protocol factory: AppRunner offers no hook for the class.
        server.__class__ = GatewayServer
        return server


def backlog_warning(backlog: int, somaxconn: Path = SOMAXCONN) -> str | None:
    """What to tell the operator when the kernel caps ``backlog`` lower (None when it does not,
    or when this is not Linux): past the cap, a burst of new connections has SYNs dropped."""
    try:
        cap = int(somaxconn.read_text().strip())
    except (OSError, ValueError):
        return None
    if cap >= backlog:
        return None
    return (
        f"The kernel caps the listen backlog at {cap} (net.core.somaxconn), below LISTEN_BACKLOG={backlog}: "
        f"a burst of more new connections than that waits a second or more; raise it with "
        f"'sysctl -w net.core.somaxconn={backlog}' (in Kubernetes, a pod sysctl)."
    )


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None,
    shutdown_timeout: float,
    backlog: int,
    keepalive_timeout: float = 75.0,
    reuse_port: bool = False,
) -> None:
    """Serves until SIGTERM or SIGINT, then stops as web.run_app does: readiness goes 503
    (on_shutdown), in-flight requests get ``shutdown_timeout`` seconds, then cleanup. With
    ``reuse_port`` other gateway processes may listen on the same port (SO_REUSEPORT)."""
    runner = GatewayRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    if warning := backlog_warning(backlog):
        log.warning(warning)
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=backlog, reuse_port=reuse_port or None).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
