"""A real HTTP server that receives webhooks in a thread of its own and checks each one's
RFC 9421 signature against the network's published JWKS."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import orjson
import requests
from aiohttp import web

from verinet.errors import InvalidInput
from verinet.signing import verify_request


@dataclass
class WebhookReceiver:
    """POSTs to ``/hooks/<name>`` are recorded per name and answered ``answer(name, n)``
    (n counts that name's deliveries from 1)."""

    jwks_url: str
    answer: Callable[[str, int], int] = lambda name, n: 200
    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    base_url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        jwks = await asyncio.to_thread(lambda: requests.get(self.jwks_url, timeout=10).json())
        try:
            kid, error = verify_request("POST", str(request.url), request.headers, body, jwks), None
        except InvalidInput as failure:
            kid, error = None, failure.code
        got = self.received[name]
        got.append({"headers": dict(request.headers), "body": orjson.loads(body), "kid": kid, "error": error, "jwks": jwks})
        return web.Response(status=self.answer(name, len(got)))

    def __enter__(self) -> Self:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/hooks/{name}", self._handle)
            self._runner = web.AppRunner(app, shutdown_timeout=1.0)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
            self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
