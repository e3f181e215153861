"""The guarded connector against a real receiver on loopback: what the policy refuses is never
connected, whatever the name resolves to at connection time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from verinet.outbound import OutboundPolicy
from verinet.outbound_http import GuardedConnector, connect_failure, refusal_of


class Receiver:
    """A real HTTP server on a loopback port that counts what reaches it."""

    def __init__(self) -> None:
        self.hits = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text="inside")


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    target.port = runner.addresses[0][1]
    try:
        yield target
    finally:
        await runner.cleanup()


class RebindingResolver(AbstractResolver):
    """A DNS answer that changed since the URL was set: the name now points at loopback."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None


async def fetch(policy: OutboundPolicy, url: str, **connector: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession(connector=GuardedConnector(policy, **connector), trust_env=False) as session:
        try:
            async with session.get(url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                return answer.status, await answer.text()
        except aiohttp.ClientError as error:
            assert refusal_of(error) is not None, error
            return 0, connect_failure(error)


def test_with_outbound_allow_cidrs_unset_a_loopback_receiver_gets_nothing() -> None:
    async def main() -> None:
        async with receiver() as inside:
            for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "localhost"):
                status, text = await fetch(OutboundPolicy(), f"http://{host}:{inside.port}/hook")
                assert status == 0 and "outbound policy" in text
                assert str(inside.port) not in text and "127.0.0.1" not in text
            assert inside.hits == 0

    asyncio.run(main())


def test_with_outbound_allow_cidrs_set_to_loopback_the_receiver_is_reached() -> None:
    async def main() -> None:
        async with receiver() as inside:
            status, text = await fetch(OutboundPolicy.from_text("127.0.0.0/8"), f"http://127.0.0.1:{inside.port}/hook")
            assert (status, text) == (200, "inside")
            assert inside.hits == 1

    asyncio.run(main())


def test_a_name_that_rebinds_to_loopback_at_connect_time_is_not_connected() -> None:
    async def main() -> None:
        async with receiver() as inside:
            rebinding = RebindingResolver()
            status, text = await fetch(OutboundPolicy(), f"http://hooks.partner.example:{inside.port}/hook", resolver=rebinding)
            assert rebinding.asked == ["hooks.partner.example"]  # the check ran on the connection's answer
            assert status == 0 and "outbound policy" in text
            assert inside.hits == 0

    asyncio.run(main())


def test_a_rebinding_name_reaches_an_allowed_range_only_at_its_checked_address() -> None:
    async def main() -> None:
        async with receiver() as inside:
            status, _ = await fetch(OutboundPolicy.from_text("127.0.0.1/32"), f"http://hooks.partner.example:{inside.port}/hook", resolver=RebindingResolver())
            assert status == 200 and inside.hits == 1

    asyncio.run(main())


@pytest.mark.parametrize("url", ["http://2130706433:{port}/", "http://0x7f.1:{port}/", "http://017700000001:{port}/", "http://127.1:{port}/"])
def test_numeric_spellings_of_loopback_never_connect(url: str) -> None:
    async def main() -> None:
        async with receiver() as inside:
            async with aiohttp.ClientSession(connector=GuardedConnector(OutboundPolicy()), trust_env=False) as session:
                with pytest.raises((aiohttp.ClientError, ValueError)):
                    async with session.get(url.format(port=inside.port), timeout=aiohttp.ClientTimeout(total=5)):
                        pass
            assert inside.hits == 0

    asyncio.run(main())
