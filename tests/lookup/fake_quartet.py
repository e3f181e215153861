"""A real HTTP server that behaves like the open-source QU4RTET VRS, as another network.

What matters about it for verinet (issue 22): it takes ``Authorization: Token <key>`` or Basic,
never Bearer (401 otherwise); its answers are unsigned; for a GTIN it does not know it answers
200 with an empty ``responderGLN`` and the non-LMS reason ``GTIN_not_found``; one GTIN takes
2 s. Packs are known by GTIN and serial; for the profile settings verinet adds, it also issues OAuth2 client-credentials tokens
(``POST /oauth/token``), can require a client certificate (a second, TLS, site) and has a GTIN
that answers 503 (to count attempts).

Any first path segment is a base path, so each profile can have its own endpoint (and breaker):
``http://127.0.0.1:<port>/<base>``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.lookup.fake_serving import Received, serve, served_in_thread

QUARTET_GLN = "0614141888887"
KNOWN_GTIN = "00614141888016"  # verified:true
SLOW_GTIN = "00614141888023"  # answers after SLOW_SECONDS
BUSY_GTIN = "00614141888030"  # 503 every time
KNOWN_SERIALS = ("S1",)  # of KNOWN_GTIN and SLOW_GTIN; any other pack is unknown
SLOW_SECONDS = 2.0
TOKEN_KEY = "quartet-api-key-7f3a"
BASIC_USER, BASIC_PASSWORD = "verinet", "s3cret-basic-pw"
CLIENT_ID, CLIENT_SECRET = "verinet-client", "oauth-client-secret-91b"


@dataclass
class FakeQuartet:
    host: str = "127.0.0.1"
    port: int = 0
    tls_port: int = 0
    requests: list[Received] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)
    token_seconds: float = 3600.0
    server_ssl: ssl.SSLContext | None = None
    runners: list[web.AppRunner] = field(default_factory=list)

    def url(self, base: str) -> str:
        return f"http://{self.host}:{self.port}/{base}"

    def tls_url(self, base: str) -> str:
        return f"https://localhost:{self.tls_port}/{base}"

    def asked(self, base: str) -> list[Received]:
        return [r for r in self.requests if r.endpoint == base]

    def authorized(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Token":
            return value == TOKEN_KEY
        if scheme == "Basic":
            return value == base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        if scheme == "Bearer":  # only tokens it issued itself (OAuth2), never a static bearer key
            return value in self.tokens_issued
        # The TLS site accepts a client certificate instead of a header.
        return request.transport is not None and request.transport.get_extra_info("peercert") is not None

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "invalid_client"}, status=401)
        issued = secrets.token_urlsafe(16)
        self.tokens_issued.append(issued)
        return web.json_response({"access_token": issued, "token_type": "Bearer", "expires_in": self.token_seconds})

    async def verify(self, request: web.Request) -> web.Response:
        self._record(request)
        if not self.authorized(request):
            return web.json_response({"detail": "Authentication credentials were not provided."}, status=401)
        gtin = request.match_info["gtin"]
        if gtin == BUSY_GTIN:
            return web.Response(status=503, text="busy")
        if gtin == SLOW_GTIN:
            await asyncio.sleep(SLOW_SECONDS)
        now = dt.datetime.now(dt.UTC).isoformat()
        body: dict[str, Any]
        if gtin in (KNOWN_GTIN, SLOW_GTIN) and request.match_info["serial"] in KNOWN_SERIALS:
            body = {"verificationTimestamp": now, "responderGLN": QUARTET_GLN, "data": {"verified": True}}
        else:
            body = {"verificationTimestamp": now, "responderGLN": "", "data": {"verified": False, "verificationFailureReason": "GTIN_not_found"}}
        if "corrUUID" in request.query:
            body["corrUUID"] = request.query["corrUUID"]
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def connectivity(self, request: web.Request) -> web.Response:
        self._record(request)
        if not self.authorized(request):
            return web.json_response({"detail": "Authentication credentials were not provided."}, status=401)
        return web.json_response({"responderGLN": QUARTET_GLN})

    def _record(self, request: web.Request) -> None:
        self.requests.append(Received.of(request, request.match_info["base"]))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/{base}/verify/gtin/{gtin}/lot/{lot}/ser/{serial}", self.verify)
        app.router.add_get("/{base}/checkConnectivity", self.connectivity)
        return app

    async def start(self) -> None:
        runner, self.port = await serve(self.app(), self.host, self.port, handler_cancellation=True)
        self.runners.append(runner)
        if self.server_ssl is not None:
            tls_runner, self.tls_port = await serve(
                self.app(), self.host, 0, self.server_ssl, handler_cancellation=True
            )
            self.runners.append(tls_runner)

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


@contextlib.contextmanager
def quartet_in_thread(server_ssl: ssl.SSLContext | None = None) -> Iterator[FakeQuartet]:
    """The fake QU4RTET on its own loop in a thread (verinet's processes call it over HTTP)."""
    with served_in_thread("fake-quartet", [FakeQuartet(server_ssl=server_ssl)]) as (quartet,):
        yield quartet
