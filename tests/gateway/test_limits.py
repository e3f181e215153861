"""Admission control and transport security: rate, concurrency and body limits, throttled
sign-in failures, the overload guard, and HTTPS with a certificate the test makes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from aiohttp import web

from tests.conftest import RunningNetwork, start_network
from verinet.embedded_redis import free_port
from verinet.errors import RateLimited
from verinet.gateway.app_keys import OVERLOAD
from verinet.gateway.limits import Limits, Overload
from verinet.gateway.routing import RouteTable
from verinet.internal_tls import ensure_certificates


@pytest.fixture(scope="module")
def strict_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    env = {
        "RATE_LIMIT_PER_SECOND": "2",
        "RATE_LIMIT_BURST": "5",
        "AUTH_FAILURES_PER_MINUTE": "3",
        "MAX_BODY_BYTES": "4096",
    }
    network = start_network(tmp_path_factory.mktemp("strict"), extra_env=env)
    try:
        yield RunningNetwork(network)
    finally:
        network.stop()


def test_a_partner_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected(strict_network: RunningNetwork) -> None:
    _, busy = strict_network.add_partner(["wholesaler"])
    _, calm = strict_network.add_partner(["wholesaler"])
    statuses = [busy.get("/v1/partners/me") for _ in range(8)]
    assert [s.status_code for s in statuses[:5]] == [200] * 5
    refused = statuses[-1]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "rate_limited"
    assert calm.get("/v1/partners/me").status_code == 200


def test_repeated_failed_sign_ins_from_one_address_are_throttled(strict_network: RunningNetwork) -> None:
    forged = strict_network.client("vn_not-a-real-token")
    statuses = [forged.get("/v1/partners/me").status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[-1] == 429
    _, valid = strict_network.add_partner(["dispenser"])
    assert valid.get("/v1/partners/me").status_code == 200  # same address, real token


def test_an_oversized_body_is_refused_with_413(strict_network: RunningNetwork) -> None:
    # The admin is rate limited too; a fresh manufacturer keeps this test independent.
    _, manufacturer = strict_network.add_partner(["manufacturer"])
    big = {"packs": [{"gtin": "0" * 14, "serial": "X" * 20, "lot": "L", "expiry": "300101"}] * 200}
    answer = manufacturer.post("/v1/packs/commission", json=big)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_partner_spends_its_burst_then_earns_a_token_at_the_rate_and_no_more_than_the_burst() -> None:
    now = [0.0]
    limits = Limits(rate_per_second=2.0, burst=3, concurrency=10, auth_failures_per_minute=60, clock=lambda: now[0])

    def admitted() -> bool:
        try:
            limits.admit("p1")
        except RateLimited as refused:
            assert refused.code == "rate_limited" and refused.details["retry_after"] == 1
            return False
        limits.release("p1")
        return True

    assert [admitted() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.25  # half a token earned
    assert not admitted()
    now[0] = 0.5
    assert [admitted(), admitted()] == [True, False]
    now[0] = 100.0  # a long pause earns the burst back, no more
    assert [admitted() for _ in range(4)] == [True, True, True, False]
    assert admitted() is False and limits.clock() == 100.0


def test_a_partner_runs_at_most_its_concurrency_at_once() -> None:
    limits = Limits(rate_per_second=1000.0, burst=1000, concurrency=2, auth_failures_per_minute=60)
    limits.admit("p1")
    limits.admit("p1")
    with pytest.raises(RateLimited) as refused:
        limits.admit("p1")
    assert refused.value.code == "rate_limited.concurrency"
    limits.admit("p2")  # another partner is not held up
    limits.release("p1")
    limits.admit("p1")


def test_the_overload_guard_answers_503_instead_of_queueing_and_health_still_answers() -> None:
    release = asyncio.Event()
    routes = RouteTable()

    @routes.route("GET", "/slow", roles=(), summary="Waits")
    async def slow(request: web.Request, partner: None) -> web.Response:
        await release.wait()
        return web.Response(text="done")

    @routes.route("GET", "/healthz", roles=(), summary="Alive")
    async def healthz(request: web.Request, partner: None) -> web.Response:
        return web.Response(text="ok")

    async def scenario() -> list[int]:
        app = web.Application()
        app[OVERLOAD] = Overload(max_in_flight=2)
        for spec in routes:
            app.router.add_route(spec.method, spec.path, spec.handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with aiohttp.ClientSession() as session:
                first = [asyncio.create_task(session.get(f"http://127.0.0.1:{port}/slow")) for _ in range(2)]
                await asyncio.sleep(0.2)
                async with session.get(f"http://127.0.0.1:{port}/slow") as third:
                    refused = [third.status, int(third.headers["Retry-After"])]
                    assert (await third.json())["code"] == "overloaded"
                async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                    refused.append(health.status)
                release.set()
                done = [(await task).status for task in first]
                async with session.get(f"http://127.0.0.1:{port}/slow") as later:
                    done.append(later.status)  # the count came back down
                return refused + done
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == [503, 1, 200, 200, 200, 200]


def test_the_gateway_serves_https_with_the_configured_certificate(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path / "tls", ["gateway"])["gateway"]  # names 127.0.0.1
    env = {"TLS_CERT_FILE": str(files.cert), "TLS_KEY_FILE": str(files.key), "TLS_CA_FILE": str(files.ca)}
    network = start_network(tmp_path / "net", extra_env=env)
    try:
        assert network.gateway_url.startswith("https://")
        answer = requests.get(network.gateway_url + "/healthz", verify=str(files.ca), timeout=10)
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(network.gateway_url + "/healthz", timeout=10)  # untrusted without the CA
        plain = network.gateway_url.replace("https://", "http://")
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(plain + "/healthz", timeout=5)
    finally:
        network.stop()


