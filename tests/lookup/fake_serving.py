"""How the tests' fake servers (fake remote network, fake QU4RTET, reference OCI wallets)
serve: an aiohttp app on a port, in the test's loop or on a loop of their own in a daemon thread
when verinet's processes call them over HTTP from outside the test's thread; and what they
record of each request they receive."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

T = TypeVar("T")


class FakeServer(Protocol):
    """A fake that serves once started, until stopped (both in the loop it serves in)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=FakeServer)


@dataclass
class Received:
    """A request a fake server received, as the tests look at it afterwards."""

    endpoint: str  # the first path segment: the behaviour or base path the request chose
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_target: str  # the request target exactly as received: path and query, still encoded
    client_port: int
    client_cert: bool  # the client presented a certificate (the TLS site)
    at: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, request: web.Request, endpoint: str) -> Received:
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport else None
        peercert = transport.get_extra_info("peercert") if transport else None
        return cls(
            endpoint, request.path, dict(request.query), dict(request.headers), request.raw_path,
            peer[1] if peer else 0, peercert is not None,
        )  # fmt: skip


async def serve(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None, **runner_options: Any
) -> tuple[web.AppRunner, int]:
    """Serves ``app`` on ``host``:``port`` (0: a free port); answers its runner and the port."""
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@contextlib.contextmanager
def loop_in_thread(name: str) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop running in a thread named ``name`` for the block, stopped and closed after it."""
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run_on(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` on the thread's ``loop`` and answers its result (within 10 s)."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(10)


@contextlib.asynccontextmanager
async def served(server: S) -> AsyncIterator[S]:
    """``server`` serving in the running loop for the block (for in-process tests)."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def served_in_thread(name: str, servers: list[S]) -> Iterator[list[S]]:
    """``servers`` serving on one loop in a thread named ``name`` for the block (for tests whose
    verinet processes call them over HTTP)."""
    with loop_in_thread(name) as loop:
        started: list[S] = []
        try:
            for server in servers:
                run_on(loop, server.start())
                started.append(server)
            yield servers
        finally:
            for server in started:
                run_on(loop, server.stop())
