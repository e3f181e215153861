"""A real HTTP server standing in for another network, for fault tests.

Each behaviour is a path prefix, so one server gives every directory entry its own endpoint
(and its own circuit breaker): ``http://127.0.0.1:<port>/<behaviour>`` is the base URL, and
``/<behaviour>.<instance>`` another endpoint with the same behaviour.

=========  ====================================================================================
ok         answers 200 with an LMS verification (responderGLN ``FAKE_GLN``), corrUUID echoed
hang       never answers (until the server stops)
reset      resets the connection (TCP RST) without an answer
flaky      503 on odd requests, 200 LMS on even ones
garbage    200 with a body that is not JSON
notlms     200 with JSON that is not an LMS answer
error500   500
refuse     403 with a plain-text reason
big        200 with a 100 kB body
redirect   302 to another host
switch     fails with 503 while ``failing`` holds the endpoint, answers 200 LMS otherwise
=========  ====================================================================================

Every request is recorded (path, query, headers, client port, the raw target) in ``requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.lookup.fake_serving import Received, serve, served, served_in_thread

FAKE_GLN = "0614141999996"


@dataclass
class FakeRemote:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    failing: set[str] = field(default_factory=set)
    responder_gln: dict[str, str] = field(default_factory=dict)
    runner: web.AppRunner | None = None

    def url(self, behaviour: str, instance: str = "") -> str:
        """The base URL of a behaviour; another ``instance`` is another endpoint (breaker)."""
        return f"http://{self.host}:{self.port}/{behaviour}{'.' + instance if instance else ''}"

    def seen(self, endpoint: str) -> list[Received]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def lms(self, request: web.Request, behaviour: str) -> web.Response:
        body: dict[str, Any] = {
            "verificationTimestamp": "2026-11-25T10:00:00.000Z",
            "responderGLN": self.responder_gln.get(behaviour, FAKE_GLN),
            "data": {"verified": True},
        }
        if "corrUUID" in request.query:
            body["corrUUID"] = request.query["corrUUID"]
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def arrived(self, request: web.Request) -> tuple[str, str]:
        """Counts and records ``request``; answers its endpoint and behaviour (or never: hang)."""
        endpoint = request.match_info["behaviour"]
        self.hits[endpoint] += 1
        self.requests.append(Received.of(request, endpoint))
        behaviour = endpoint.partition(".")[0]
        if behaviour == "hang":
            await asyncio.sleep(3600)
        return endpoint, behaviour

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint, behaviour = await self.arrived(request)
        if behaviour == "reset":
            transport = request.transport
            assert transport is not None
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            await asyncio.sleep(3600)  # cancelled: the connection is gone
        if behaviour == "flaky" and self.hits[endpoint] % 2 == 1:
            return web.Response(status=503, text="maintenance\n")
        if behaviour == "switch" and endpoint in self.failing:
            return web.Response(status=503, text="down for the test\n")
        if behaviour == "garbage":
            return web.Response(body=b"{not json", content_type="application/json")
        if behaviour == "notlms":
            return web.json_response({"status": "ok"})
        if behaviour == "error500":
            return web.Response(status=500, text="boom\n")
        if behaviour == "refuse":
            return web.Response(status=403, text="credential refused\n")
        if behaviour == "big":
            return web.Response(body=b"{" + b" " * 100_000 + b"}", content_type="application/json")
        if behaviour == "redirect":
            raise web.HTTPFound("https://elsewhere.example/verify")
        return self.lms(request, endpoint)

    async def connectivity(self, request: web.Request) -> web.StreamResponse:
        _, behaviour = await self.arrived(request)
        if behaviour == "refuse":
            return web.Response(status=403, text="credential refused\n")
        return web.Response(status=200)  # LMS: checkConnectivity has no body

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{behaviour}/verify/gtin/{gtin}/lot/{lot}/ser/{serial}", self.handle)
        app.router.add_get("/{behaviour}/checkConnectivity", self.connectivity)
        return app

    async def start(self) -> None:
        self.runner, self.port = await serve(self.app(), self.host, self.port, handler_cancellation=True)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def serving() -> contextlib.AbstractAsyncContextManager[FakeRemote]:
    """The fake remote in the running loop (for in-process tests)."""
    return served(FakeRemote())


@contextlib.contextmanager
def serving_in_thread() -> Iterator[FakeRemote]:
    """The fake remote on its own loop in a thread (for tests that call a network over HTTP)."""
    with served_in_thread("fake-remote", [FakeRemote()]) as (remote,):
        yield remote
