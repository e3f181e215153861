"""How the tests' fake servers (fake remote network, fake QU4RTET, reference OCI wallets)
serve: an aiohttp app on a port, in the test's loop or on a loop of their own in a daemon thread
when verinet's processes call them over HTTP from outside the test's thread."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


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
