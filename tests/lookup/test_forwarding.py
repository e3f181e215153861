"""The forwarder against a real HTTP server on a free port: retries, deadlines, breakers,
connection pooling, size limits, metrics; and the lookup process exposing them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from prometheus_client import REGISTRY

from tests.lookup.fake_remote import FAKE_GLN, FakeRemote, serving
from verinet.backoff import Backoff
from verinet.common.v1 import common_pb2 as common_pb
from verinet.embedded_redis import EmbeddedRedis, free_port
from verinet.errors import BadUpstream, UpstreamTimeout
from verinet.lookup.directory import DirectoryEntry
from verinet.lookup.forwarding import (
    Forwarder,
    ForwardSettings,
    lms_query,
    passed_headers,
)
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.outbound import OutboundPolicy
from verinet.outbound_http import GuardedConnector

GTIN = "00614141000012"
FAST = ForwardSettings(timeout=0.5, max_attempts=3, backoff=Backoff(0.04, 0.1), breaker_failures=2, breaker_open_seconds=0.3)


def entry(url: str, credential: str = "tok") -> DirectoryEntry:
    return DirectoryEntry(kind="prefix", key="0614141", owner_partner_id="p_x", route="remote", remote_base_url=url, responder_gln=FAKE_GLN, remote_credential=credential)


def run(scenario: Callable[[FakeRemote, Forwarder], Awaitable[None]], settings: ForwardSettings = FAST) -> None:
    async def main() -> None:
        async with serving() as remote, aiohttp.ClientSession() as session:
            await scenario(remote, Forwarder(session, settings, rng=random.Random(7)))

    asyncio.run(main())


async def verify(forwarder: Forwarder, url: str, **query: str) -> Any:
    return await forwarder.verify(entry(url), GTIN, "L1", "S1", {"exp": "301231", "reqGLN": "0614141000005", **query}, forwarder.settings.timeout)


def test_a_503_is_retried_and_the_second_answer_passed_on_unchanged() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        answer = await verify(forwarder, remote.url("flaky"), corrUUID="c1")
        assert answer.status == 200 and answer.attempts == 2
        assert b'"corrUUID":"c1"' in answer.body
        assert answer.headers["content-type"].startswith("application/json")

    run(scenario)


@pytest.mark.parametrize(("behaviour", "attempts"), [("error500", 1), ("refuse", 1), ("garbage", 1), ("notlms", 1), ("redirect", 1), ("reset", 3), ("switch", 3)])
def test_only_408_502_503_504_and_connection_failures_are_retried(behaviour: str, attempts: int) -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        remote.failing.add("switch")
        with contextlib.suppress(BadUpstream, UpstreamTimeout):
            await verify(forwarder, remote.url(behaviour))
        if behaviour == "reset":
            # aiohttp itself resends a GET once when a connection breaks (RFC 9112 section 9.3.1)
            assert attempts <= remote.hits[behaviour] <= 2 * attempts
        else:
            assert remote.hits[behaviour] == attempts

    run(scenario)


def test_retries_wait_a_jittered_growing_backoff_and_stop_before_the_deadline() -> None:
    settings = ForwardSettings(timeout=0.5, max_attempts=10, backoff=Backoff(0.05, 0.2), breaker_failures=100)

    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        remote.failing.add("switch")
        started = time.monotonic()
        with pytest.raises(BadUpstream, match="answered 503 after"):
            await verify(forwarder, remote.url("switch"))
        elapsed = time.monotonic() - started
        times = [seen.at for seen in remote.seen("switch")]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert 3 <= len(times) < 10
        assert elapsed < settings.timeout
        assert gaps[0] >= 0.025 and gaps[1] >= 0.05  # half the ceiling at least, growing
        assert len({round(g, 3) for g in gaps}) == len(gaps)  # jittered

    run(scenario, settings)


def test_a_hanging_remote_times_out_at_the_deadline_as_504() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="did not answer in time"):
            await verify(forwarder, remote.url("hang"))
        assert FAST.timeout * 0.95 <= time.monotonic() - started < FAST.timeout + 0.3

    run(scenario)


def test_a_remote_that_is_down_is_unreachable_502() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        with pytest.raises(BadUpstream) as failure:
            await verify(forwarder, f"http://127.0.0.1:{free_port()}")
        assert failure.value.code == "upstream.unreachable"

    run(scenario)


def test_an_unreachable_remote_is_described_in_words_without_addresses_ports_or_errno() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        port = free_port()
        with pytest.raises(BadUpstream) as failure:
            await verify(forwarder, f"http://127.0.0.1:{port}")
        message = failure.value.message.replace(f"http://127.0.0.1:{port}", "<url>")
        assert message == "Remote network <url> is unreachable: could not connect after 3 attempts."

    run(scenario)


def run_guarded(scenario: Callable[[FakeRemote, Forwarder], Awaitable[None]], policy: OutboundPolicy) -> None:
    """A forwarder as lookup runs it: admins' entries through a plain session, manufacturers'
    through one whose connector applies ``policy``."""

    async def main() -> None:
        async with serving() as remote, aiohttp.ClientSession() as trusted, aiohttp.ClientSession(connector=GuardedConnector(policy)) as guarded:
            await scenario(remote, Forwarder(trusted, FAST, guarded=guarded, rng=random.Random(7)))

    asyncio.run(main())


def test_a_manufacturers_entry_pointing_at_loopback_is_not_connected_with_outbound_allow_cidrs_unset() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        with pytest.raises(BadUpstream) as failure:
            await forwarder.verify(entry(remote.url("ok")), GTIN, "L1", "S1", {"exp": "301231"}, FAST.timeout)
        assert failure.value.code == "upstream.not_public"
        assert failure.value.message.endswith("is not called: its address is not a public internet address (outbound policy).")
        assert remote.hits["ok"] == 0
        trusted = replace(entry(remote.url("ok")), trusted=True)  # the same URL, written by an admin
        answer = await forwarder.verify(trusted, GTIN, "L1", "S1", {"exp": "301231"}, FAST.timeout)
        assert answer.status == 200 and remote.hits["ok"] == 1

    run_guarded(scenario, OutboundPolicy())


def test_a_manufacturers_entry_pointing_at_loopback_is_forwarded_with_outbound_allow_cidrs_set() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        answer = await forwarder.verify(entry(remote.url("ok")), GTIN, "L1", "S1", {"exp": "301231"}, FAST.timeout)
        assert answer.status == 200 and remote.hits["ok"] == 1

    run_guarded(scenario, OutboundPolicy.from_text("127.0.0.0/8"))


@pytest.mark.parametrize(("behaviour", "code"), [("garbage", "upstream.bad_response"), ("big", "upstream.bad_response"), ("redirect", "upstream.status"), ("error500", "upstream.status")])
def test_an_unusable_answer_is_a_bad_upstream_with_its_own_code(behaviour: str, code: str) -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        with pytest.raises(BadUpstream) as failure:
            await verify(forwarder, remote.url(behaviour))
        assert failure.value.code == code

    run(scenario)


def test_connections_to_a_remote_are_pooled_and_reused() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        for _ in range(10):
            assert (await verify(forwarder, remote.url("ok"))).status == 200
        ports = {seen.client_port for seen in remote.seen("ok")}
        assert len(ports) == 1, f"10 questions used {len(ports)} connections"

    run(scenario)


def test_the_breaker_refuses_at_once_when_open_and_probes_after_its_open_time() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        url = remote.url("switch")
        remote.failing.add("switch")
        for _ in range(FAST.breaker_failures):
            with pytest.raises(BadUpstream):
                await verify(forwarder, url)
        sent = remote.hits["switch"]
        with pytest.raises(BadUpstream) as refused:
            await verify(forwarder, url)
        assert refused.value.code == "upstream.circuit_open"
        assert remote.hits["switch"] == sent
        assert forwarder.breaker_state(url) == "open"
        remote.failing.clear()
        await asyncio.sleep(FAST.breaker_open_seconds)
        assert (await verify(forwarder, url)).status == 200
        assert forwarder.breaker_state(url) == "closed"

    run(scenario)


def test_a_cancelled_probe_lets_the_next_question_probe() -> None:
    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        url = remote.url("hang")
        for _ in range(FAST.breaker_failures):
            with pytest.raises(UpstreamTimeout):
                await verify(forwarder, url)
        await asyncio.sleep(FAST.breaker_open_seconds)
        probe = asyncio.create_task(verify(forwarder, url))
        await asyncio.sleep(0.1)
        assert forwarder.breaker_state(url) == "half_open"
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        with pytest.raises(UpstreamTimeout):  # went through as the next probe, not refused
            await verify(forwarder, url)

    run(scenario)


def test_metrics_count_requests_outcomes_latency_and_breaker_state_per_endpoint() -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    async def scenario(remote: FakeRemote, forwarder: Forwarder) -> None:
        ok, flaky, dead = remote.url("ok", "metrics"), remote.url("flaky", "metrics"), remote.url("switch", "metrics")
        remote.failing.add("switch.metrics")
        before = {
            "requests": sample("verinet_remote_requests_total", endpoint=flaky, operation="verify"),
            "ok": sample("verinet_remote_outcomes_total", endpoint=ok, operation="verify", outcome="ok"),
            "latency": sample("verinet_remote_seconds_count", endpoint=ok, operation="verify"),
            "open": sample("verinet_remote_outcomes_total", endpoint=dead, operation="verify", outcome="circuit_open"),
        }
        await verify(forwarder, ok)
        await verify(forwarder, flaky)
        for _ in range(FAST.breaker_failures + 1):
            with pytest.raises(BadUpstream):
                await verify(forwarder, dead)
        assert sample("verinet_remote_requests_total", endpoint=flaky, operation="verify") - before["requests"] == 2
        assert sample("verinet_remote_outcomes_total", endpoint=ok, operation="verify", outcome="ok") - before["ok"] == 1
        assert sample("verinet_remote_seconds_count", endpoint=ok, operation="verify") - before["latency"] == 1
        assert sample("verinet_remote_outcomes_total", endpoint=dead, operation="verify", outcome="circuit_open") - before["open"] == 1
        assert sample("verinet_remote_breaker_state", endpoint=dead) == 2  # open
        assert sample("verinet_remote_breaker_state", endpoint=ok) == 0  # closed

    run(scenario)


def test_the_query_is_rebuilt_from_the_lms_parameters_only_in_a_fixed_order_with_17_as_exp() -> None:
    assert lms_query({"corrUUID": "a b/c", "ctrlPossessAtt": "true", "17": "281231", "reqGLN": "0614141000005"}) == (
        "exp=281231&reqGLN=0614141000005&corrUUID=a%20b%2Fc&ctrlPossessAtt=true"
    )
    assert lms_query({"exp": "281231", "17": "290101"}) == "exp=281231"
    # a name that is not an LMS parameter never travels, whatever it looks like
    assert lms_query({"reqGLN": "0614141000005", "reqgln": "0614141000012", "reqGLN ": "x", "callback": "http://x"}) == "reqGLN=0614141000005"


def test_only_header_safe_signature_headers_are_taken_from_a_remote_answer() -> None:
    taken = passed_headers({"content-type": "application/json", "signature": "sig1=:AA==:", "signature-input": "x\u00e9", "set-cookie": "a=b", "content-digest": "d" * 9000})
    assert taken == {"content-type": "application/json", "signature": "sig1=:AA==:"}


# -- the lookup process ---------------------------------------------------------------------------


def test_the_lookup_process_forwards_and_exposes_per_endpoint_metrics_on_its_metrics_port(tmp_path: Path) -> None:
    """``python -m verinet.lookup`` with METRICS_PORT: the remote's verdict through gRPC, then
    the counters on /metrics, then a clean drain on SIGTERM."""
    from verinet.partners import NewPartner, PartnerStore
    from verinet.store import connect

    with EmbeddedRedis(tmp_path / "redis") as redis_server:
        async def admin() -> str:
            redis = connect(redis_server.url)
            partner, _ = await PartnerStore(redis).create(NewPartner(name="admin", roles=["admin"]), dt.datetime.now(dt.UTC))
            await redis.aclose()
            return partner.id

        admin_id = asyncio.run(admin())
        port, metrics_port = free_port(), free_port()
        env = {**os.environ, "REDIS_URL": redis_server.url, "PORT": str(port), "METRICS_PORT": str(metrics_port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
        process = subprocess.Popen([sys.executable, "-m", "verinet.lookup"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            async def scenario() -> None:
                async with serving() as remote:
                    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
                    stub = lookup_grpc.LookupServiceStub(channel)
                    await channel.channel_ready()
                    caller = common_pb.Caller(partner_id=admin_id, roles=["admin"])
                    await stub.PutDirectoryEntry(
                        lookup_pb.PutDirectoryEntryRequest(
                            caller=caller,
                            entry=lookup_pb.DirectoryEntry(kind=lookup_pb.ENTRY_KIND_PREFIX, key="0614141", route=lookup_pb.ROUTE_KIND_REMOTE, remote_base_url=remote.url("ok"), responder_gln=FAKE_GLN, remote_credential="tok"),
                        ),
                        timeout=5,
                    )
                    answer = await stub.ForwardVerification(
                        lookup_pb.ForwardVerificationRequest(pack=common_pb.PackIdentifier(gtin=GTIN, serial="S1", lot="L1", expiry="301231"), query={"exp": "301231", "corrUUID": "c9"}),
                        timeout=5,
                    )
                    assert answer.http_status == 200 and answer.remote.remote_base_url == remote.url("ok")
                    assert not answer.remote.remote_credential and answer.remote.has_credential
                    assert remote.seen("ok")[-1].headers["Authorization"] == "Bearer tok"
                    route = await stub.ResolveRoute(lookup_pb.ResolveRouteRequest(gtin=GTIN), timeout=5)
                    assert route.found and not route.entry.remote_credential  # the credential stays in lookup
                    assert route.forward_timeout_seconds == pytest.approx(0.6)
                    await channel.close()

            asyncio.run(scenario())
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            assert 'verinet_remote_requests_total{endpoint="http://127.0.0.1:' in metrics
            assert 'outcome="ok"' in metrics
            assert "verinet_remote_seconds_bucket" in metrics
            assert "verinet_remote_breaker_state" in metrics
        finally:
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=20)[0].decode()
        assert process.returncode == 0, output
