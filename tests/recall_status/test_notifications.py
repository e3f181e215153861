"""Webhook notifications against a private Redis and a real HTTP receiver: subscriptions,
signed deliveries, retries with backoff, delivery deadlines, dead letters, take-over of
stale entries, draining, the delivery log and the recall's audit chain."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from redis.crc import key_slot

from verinet.backoff import Backoff
from verinet.embedded_redis import EmbeddedRedis
from verinet.errors import ConfigError, Conflict, InvalidInput, NotFound
from verinet.outbound import OutboundPolicy
from verinet.recall_status.delivery_worker import DeliverySettings, DeliveryWorker
from verinet.recall_status.notifications import (
    DEAD_STREAM,
    GROUP,
    NOTIFY_STREAM,
    RETRY_KEY,
    Delivery,
    Notifier,
    RecallAudit,
    audit_head_key,
    audit_key,
    deliveries_key,
)
from verinet.recall_status.settings import Settings
from verinet.recall_status.subscriptions import SubscriptionStore
from verinet.recall_status.webhook_keys import WebhookKeys
from verinet.signing import KeyRing, ResponseSigner, verify_request
from verinet.store import connect

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
FAST = DeliverySettings(
    backoff=Backoff(base=0.05, maximum=0.2),
    max_attempts=3,
    delivery_timeout=0.5,
    sign_timeout=1.0,
    concurrency=4,
    claim_idle=5.0,
    poll_interval=0.05,
    # The receivers of these tests listen on loopback.
    outbound=OutboundPolicy.from_text("127.0.0.0/8"),
)


# -- a real receiver -------------------------------------------------------------------------


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes
    signed_by: str | None
    signature_error: str | None
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server that answers each POST with ``answer(n)`` (n counts from 1)."""

    jwks: dict[str, Any]
    answer: Callable[[int], Awaitable[int]]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            kid, error = (
                verify_request("POST", str(request.url), request.headers, body, self.jwks),
                None,
            )
        except InvalidInput as failure:
            kid, error = None, failure.code
        self.received.append(
            Received(str(request.url), dict(request.headers), body, kid, error, time.monotonic())
        )
        return web.Response(status=await self.answer(len(self.received)))


@asynccontextmanager
async def receiving(
    jwks: dict[str, Any], answer: Callable[[int], Awaitable[int]]
) -> AsyncIterator[Receiver]:
    receiver = Receiver(jwks, answer)
    app = web.Application()
    app.router.add_post("/hooks/{name}", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/pharmacy?tenant=7"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def answering(*statuses: int, then: int = 200) -> Callable[[int], Awaitable[int]]:
    async def answer(n: int) -> int:
        return statuses[n - 1] if n <= len(statuses) else then

    return answer


# -- the parts under test -----------------------------------------------------------------------


def outcomes(deliveries: list[Delivery]) -> list[tuple[int, str, int]]:
    return [(d.attempt, d.outcome, d.http_status) for d in deliveries]


def settled(deliveries: list[Delivery]) -> bool:
    return bool(deliveries) and deliveries[-1].outcome in ("delivered", "dead")


@asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[DeliveryWorker]:
    """The worker delivers inside the block and is drained on the way out, even on failure."""
    await worker.start()
    try:
        yield worker
    finally:
        await worker.drain(5.0)


@dataclass
class Parts:
    redis: Any  # redis.asyncio.Redis or RedisCluster
    subscriptions: SubscriptionStore
    notifier: Notifier
    keys: KeyRing

    def worker(self, settings: DeliverySettings = FAST, **kwargs: Any) -> DeliveryWorker:
        sign = WebhookKeys(self.keys).sign  # recall-status's own signer, as it runs
        return DeliveryWorker(self.redis, sign, settings, rng=random.Random(7), **kwargs)

    async def subscribe(
        self, partner: str, url: str, events: tuple[str, ...] = ("recall.published",)
    ) -> None:
        await self.subscriptions.put(partner, "main", url, events, NOW)

    async def deliveries_until(
        self, recall_id: str, done: Callable[[list[Delivery]], bool], timeout: float = 10.0
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            found = await self.notifier.deliveries(recall_id)
            if done(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"deliveries of {recall_id} never settled: {found}")
            await asyncio.sleep(0.02)

    async def deliver(
        self,
        recall_id: str,
        settings: DeliverySettings = FAST,
        *,
        done: Callable[[list[Delivery]], bool] = settled,
        **worker_kwargs: Any,
    ) -> list[Delivery]:
        """Runs a worker until the deliveries of ``recall_id`` are done, then drains it."""
        async with running(self.worker(settings, **worker_kwargs)):
            return await self.deliveries_until(recall_id, done)


def run(redis_url: str, tmp_path: Path, scenario: Callable[[Parts], Awaitable[None]]) -> None:
    async def main() -> None:
        client = connect(redis_url)
        store = SubscriptionStore(client, FAST.outbound)
        parts = Parts(
            client,
            store,
            Notifier(client, store, now=lambda: NOW),
            KeyRing.load_or_create(tmp_path / "keys"),
        )
        try:
            await scenario(parts)
        finally:
            await client.aclose()

    asyncio.run(main())


def redis_scenario(test: Callable[[Parts], Awaitable[None]]) -> Callable[[str, Path], None]:
    """``async def test_...(parts)`` as a test: it runs against the private Redis (``redis_url``,
    standalone and cluster) with keys in its own ``tmp_path``."""

    def run_test(redis_url: str, tmp_path: Path) -> None:
        run(redis_url, tmp_path, test)

    run_test.__name__ = test.__name__
    run_test.__doc__ = test.__doc__
    return run_test


# -- subscriptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "events", "code", "field"),
    [
        ("bad name!", "https://example.com/h", ["recall.published"], "subscription.name", "name"),
        ("", "https://example.com/h", ["recall.published"], "subscription.name", "name"),
        ("main", "ftp://example.com/h", ["recall.published"], "subscription.url", "url"),
        ("main", "https:///no-host", ["recall.published"], "subscription.url", "url"),
        (
            "main",
            "https://user:secret@example.com/h",
            ["recall.published"],
            "subscription.url",
            "url",
        ),
        ("main", "https://example.com/h#part", ["recall.published"], "subscription.url", "url"),
        ("main", "https://example.com/a b", ["recall.published"], "subscription.url", "url"),
        ("main", "https://example.com:99999/h", ["recall.published"], "subscription.url", "url"),
        (
            "main",
            "https://example.com/" + "a" * 2000,
            ["recall.published"],
            "subscription.url",
            "url",
        ),
        ("main", "https://example.com/h", [], "subscription.events", "events"),
        (
            "main",
            "https://example.com/h",
            ["recall.published", "recall.eaten"],
            "subscription.event_unknown",
            "events[1]",
        ),
        (
            "main",
            "https://example.com/h",
            ["recall.closed", "recall.closed"],
            "subscription.event_duplicate",
            "events[1]",
        ),
    ],
)
def test_a_subscription_is_refused_with_a_code_and_the_field_at_fault(
    redis_url: str,
    tmp_path: Path,
    name: str,
    url: str,
    events: list[str],
    code: str,
    field: str,
) -> None:
    async def scenario(parts: Parts) -> None:
        with pytest.raises(InvalidInput) as refused:
            await parts.subscriptions.put("p_pharmacy", name, url, events, NOW)
        assert (refused.value.code, refused.value.field) == (code, field)
        assert await parts.subscriptions.list("p_pharmacy") == []

    run(redis_url, tmp_path, scenario)


@redis_scenario
async def test_a_subscription_is_created_then_replaced_and_listed(parts: Parts) -> None:
    first, created = await parts.subscriptions.put(
        "p_a", "ops", "https://a.example/hook", ["recall.published"], NOW
    )
    assert (
        created
        and first.events == ("recall.published",)
        and first.updated_at == NOW.isoformat()
    )
    again, created = await parts.subscriptions.put(
        "p_a", "ops", "https://a.example/v2", ["recall.closed"], NOW
    )
    assert not created and again.url == "https://a.example/v2"
    assert await parts.subscriptions.list("p_a") == [again]
    assert await parts.subscriptions.subscribers("recall.published") == []
    assert await parts.subscriptions.subscribers("recall.closed") == ["p_a"]


@redis_scenario
async def test_each_event_of_a_partner_goes_to_one_of_its_subscriptions(parts: Parts) -> None:
    await parts.subscriptions.put(
        "p_a", "ops", "https://a.example/ops", ["recall.published", "recall.closed"], NOW
    )
    with pytest.raises(Conflict) as taken:
        await parts.subscriptions.put(
            "p_a", "qa", "https://a.example/qa", ["recall.drill", "recall.closed"], NOW
        )
    assert (taken.value.code, taken.value.field) == ("subscription.event_taken", "events[1]")
    await parts.subscriptions.put(
        "p_a", "ops", "https://a.example/ops", ["recall.published"], NOW
    )
    await parts.subscriptions.put(
        "p_a", "qa", "https://a.example/qa", ["recall.drill", "recall.closed"], NOW
    )
    await parts.subscriptions.put("p_b", "all", "http://b.example/", ["recall.closed"], NOW)
    assert (await parts.subscriptions.for_event("p_a", "recall.closed")).name == "qa"  # type: ignore[union-attr]
    assert await parts.subscriptions.for_event("p_a", "recall.updated") is None
    assert await parts.notifier.subscribers("recall.closed") == ["p_a", "p_b"]
    assert await parts.notifier.subscribers("recall.published") == ["p_a"]


@redis_scenario
async def test_a_partner_without_a_subscription_to_the_event_is_not_queued(parts: Parts) -> None:
    await parts.subscribe("p_a", "https://a.example/hook", ("recall.closed",))
    assert (
        await parts.notifier.enqueue(
            "rc_1", "p_a", "recall.published", {"units": []}, drill=False
        )
        is None
    )
    assert (
        await parts.notifier.enqueue(
            "rc_1", "p_nobody", "recall.published", {"units": []}, drill=False
        )
        is None
    )
    assert await parts.redis.exists(NOTIFY_STREAM) == 0
    notification_id = await parts.notifier.enqueue(
        "rc_1", "p_a", "recall.closed", {"units": []}, drill=False
    )
    assert notification_id and notification_id.startswith("nt_20260302093000_")
    [(_, fields)] = await parts.redis.xrange(NOTIFY_STREAM)
    assert {k.decode(): v.decode() for k, v in fields.items()} == {
        "id": notification_id,
        "recall_id": "rc_1",
        "partner_id": "p_a",
        "url": "https://a.example/hook",
        "event": "recall.closed",
        "payload": '{"units":[]}',
        "drill": "0",
        "attempt": "1",
    }


def test_keys_a_script_touches_together_share_one_cluster_slot() -> None:
    assert (
        key_slot(NOTIFY_STREAM.encode())
        == key_slot(RETRY_KEY.encode())
        == key_slot(DEAD_STREAM.encode())
    )
    recall = "rc_20260302_ab12"
    slots = {key_slot(k(recall).encode()) for k in (deliveries_key, audit_key, audit_head_key)}
    assert len(slots) == 1


# -- deliveries -------------------------------------------------------------------------------


@redis_scenario
async def test_a_subscriber_receives_a_signed_notification_that_verifies_with_the_jwks(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        payload = {
            "recall": {"id": "rc_1", "class": "I"},
            "units": [{"gtin": "09506000134352", "serial": "S1"}],
        }
        notification_id = await parts.notifier.enqueue(
            "rc_1", "p_pharmacy", "recall.published", payload, drill=False
        )
        [delivery] = await parts.deliver("rc_1", now=lambda: NOW)
    [got] = receiver.received
    assert got.signature_error is None and got.signed_by == parts.keys.active.kid
    assert got.url == receiver.url
    assert got.headers["Content-Type"] == "application/json"
    assert "Verinet-Drill" not in got.headers
    assert got.json == {
        "id": notification_id,
        "event": "recall.published",
        "recall_id": "rc_1",
        "drill": False,
        "data": payload,
        "sent_at": NOW.isoformat(timespec="milliseconds"),
    }
    assert (delivery.notification_id, delivery.partner_id, delivery.url) == (
        notification_id,
        "p_pharmacy",
        receiver.url,
    )
    assert outcomes([delivery]) == [(1, "delivered", 200)]
    assert delivery.error == "" and not delivery.drill
    assert await parts.notifier.delivered_at("rc_1") == {"p_pharmacy": NOW.timestamp()}
    assert await parts.redis.xlen(NOTIFY_STREAM) == 0
    assert await parts.redis.xpending(NOTIFY_STREAM, GROUP) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


@redis_scenario
async def test_a_drill_notification_carries_the_drill_header_and_flag(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url, ("recall.drill",))
        await parts.notifier.enqueue(
            "rc_drill", "p_pharmacy", "recall.drill", {"units": []}, drill=True
        )
        [delivery] = await parts.deliver("rc_drill")
    [got] = receiver.received
    assert got.headers["Verinet-Drill"] == "true"
    assert got.json["drill"] is True and got.signature_error is None
    assert delivery.drill and delivery.outcome == "delivered"


@redis_scenario
async def test_failed_deliveries_are_retried_with_backoff_until_delivered(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering(500, 503)) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        notification_id = await parts.notifier.enqueue(
            "rc_1", "p_pharmacy", "recall.published", {"n": 1}, drill=False
        )
        deliveries = await parts.deliver("rc_1")
    assert outcomes(deliveries) == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "delivered", 200),
    ]
    assert [d.error for d in deliveries] == ["HTTP 500", "HTTP 503", ""]
    assert {d.notification_id for d in deliveries} == {notification_id}
    assert {r.json["id"] for r in receiver.received} == {notification_id}
    assert all(r.signature_error is None for r in receiver.received)
    # equal jitter: at least half the exponential delay (0.05 s, then 0.1 s) passes
    sent = [r.at for r in receiver.received]
    assert sent[1] - sent[0] >= 0.025 and sent[2] - sent[1] >= 0.05
    assert await parts.redis.zcard(RETRY_KEY) == 0
    assert await parts.redis.xlen(DEAD_STREAM) == 0


@redis_scenario
async def test_a_receiver_that_hangs_is_cut_off_at_the_delivery_deadline(parts: Parts) -> None:
    release = asyncio.Event()

    async def hang_first(n: int) -> int:
        if n == 1:
            with suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), 10)
        return 200

    async with receiving(parts.keys.jwks(), hang_first) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        await parts.notifier.enqueue("rc_1", "p_pharmacy", "recall.published", {}, drill=False)
        async with running(parts.worker()):
            try:
                deliveries = await parts.deliveries_until("rc_1", settled)
            finally:
                release.set()  # lets the hung answer end before the worker drains
    assert outcomes(deliveries) == [(1, "failed", 0), (2, "delivered", 200)]
    assert deliveries[0].error == "No answer within 0.5 s."
    assert 450 <= deliveries[0].latency_ms < 3000


@redis_scenario
async def test_a_notification_that_always_fails_is_dead_lettered_after_the_last_attempt(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering(then=500)) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        notification_id = await parts.notifier.enqueue(
            "rc_1", "p_pharmacy", "recall.published", {}, drill=False
        )
        async with running(parts.worker()):
            deliveries = await parts.deliveries_until("rc_1", settled)
            await asyncio.sleep(0.3)  # nothing more is attempted
    assert outcomes(deliveries) == [(1, "failed", 500), (2, "failed", 500), (3, "dead", 500)]
    assert len(receiver.received) == 3
    [(_, dead)] = await parts.redis.xrange(DEAD_STREAM)
    dead_fields = {k.decode(): v.decode() for k, v in dead.items()}
    assert dead_fields["id"] == notification_id and dead_fields["attempt"] == "3"
    assert dead_fields["dead_error"] == "HTTP 500" and dead_fields["dead_http_status"] == "500"
    assert await parts.redis.zcard(RETRY_KEY) == 0
    assert await parts.redis.xlen(NOTIFY_STREAM) == 0
    assert await parts.notifier.delivered_at("rc_1") == {}


@redis_scenario
async def test_an_unreachable_receiver_or_a_failing_signer_is_a_failed_attempt(parts: Parts) -> None:
    await parts.subscriptions.put(
        "p_closed", "main", "http://127.0.0.1:9/nobody-listens", ["recall.published"], NOW
    )
    await parts.subscriptions.put(
        "p_signless", "main", "http://127.0.0.1:9/x", ["recall.published"], NOW
    )
    await parts.notifier.enqueue("rc_1", "p_closed", "recall.published", {}, drill=False)
    await parts.notifier.enqueue("rc_2", "p_signless", "recall.published", {}, drill=False)

    async def broken_sign(method: str, url: str, body: bytes) -> dict[str, str]:
        if "/x" in url:
            raise ConnectionError("verifier down")
        return ResponseSigner(parts.keys).sign_request(method, url, body)

    async with running(DeliveryWorker(parts.redis, broken_sign, replace(FAST, max_attempts=1))):
        [closed] = await parts.deliveries_until("rc_1", settled)
        [signless] = await parts.deliveries_until("rc_2", settled)
    assert (closed.outcome, closed.http_status) == ("dead", 0)
    # Partners read these in their delivery log: what failed in words, no address, port
    # or internal error text.
    assert closed.error == "Failed to deliver: could not connect."
    assert (signless.outcome, signless.error) == (
        "dead",
        "Failed to sign the delivery: verinet's signer did not answer.",
    )


@redis_scenario
async def test_a_notification_left_pending_by_a_dead_consumer_is_taken_over(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        await parts.notifier.enqueue("rc_1", "p_pharmacy", "recall.published", {}, drill=False)
        await DeliveryWorker.ensure_group(parts.redis)
        [[_, [(entry_id, _)]]] = await parts.redis.xreadgroup(
            GROUP, "crashed-pod", {NOTIFY_STREAM: ">"}, count=1
        )
        [delivery] = await parts.deliver(
            "rc_1",
            replace(FAST, claim_idle=0.3, delivery_timeout=0.2, sign_timeout=0.05),
            consumer="healthy-pod",
        )
    assert delivery.outcome == "delivered" and len(receiver.received) == 1
    assert await parts.redis.xpending(NOTIFY_STREAM, GROUP) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }
    assert entry_id


@redis_scenario
async def test_draining_finishes_the_deliveries_in_flight_and_takes_no_new_work(parts: Parts) -> None:
    arrived = asyncio.Event()

    async def slow(n: int) -> int:
        arrived.set()
        await asyncio.sleep(0.3)
        return 204

    async with receiving(parts.keys.jwks(), slow) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        await parts.notifier.enqueue("rc_1", "p_pharmacy", "recall.published", {}, drill=False)
        worker = parts.worker(replace(FAST, delivery_timeout=2.0))
        await worker.start()
        await asyncio.wait_for(arrived.wait(), 5)
        await worker.drain(5.0)
        [delivery] = await parts.notifier.deliveries("rc_1")
        await parts.notifier.enqueue("rc_2", "p_pharmacy", "recall.published", {}, drill=False)
        await asyncio.sleep(0.2)
    assert outcomes([delivery]) == [(1, "delivered", 204)]
    assert await parts.notifier.deliveries("rc_2") == []
    assert await parts.redis.xlen(NOTIFY_STREAM) == 1  # left for the next worker
    groups = await parts.redis.xinfo_groups(NOTIFY_STREAM)
    assert groups[0]["consumers"] == 0  # the drained consumer removed itself
    assert len(receiver.received) == 1


@redis_scenario
async def test_many_notifications_are_delivered_concurrently_and_each_once(parts: Parts) -> None:
    open_requests = [0]
    peak = [0]

    async def slowish(n: int) -> int:
        open_requests[0] += 1
        peak[0] = max(peak[0], open_requests[0])
        await asyncio.sleep(0.1)
        open_requests[0] -= 1
        return 200

    async with receiving(parts.keys.jwks(), slowish) as receiver:
        partners = [f"p_{n:02d}" for n in range(20)]
        for partner in partners:
            await parts.subscribe(partner, receiver.url)
            await parts.notifier.enqueue(
                "rc_many", partner, "recall.published", {"partner": partner}, drill=False
            )
        deliveries = await parts.deliver(
            "rc_many", replace(FAST, concurrency=10), done=lambda d: len(d) == 20
        )
    assert sorted(d.partner_id for d in deliveries) == partners
    assert {d.outcome for d in deliveries} == {"delivered"}
    assert sorted(r.json["data"]["partner"] for r in receiver.received) == partners
    assert 1 < peak[0] <= 10  # in parallel, never more than NOTIFY_CONCURRENCY


# -- the delivery log and the audit chain ------------------------------------------------------------


@redis_scenario
async def test_every_delivery_outcome_is_appended_to_the_recall_audit_chain(parts: Parts) -> None:
    first_hash = await RecallAudit(parts.redis).append(
        "rc_1", {"action": "recall.published", "partner": "p_maker"}
    )
    async with receiving(parts.keys.jwks(), answering(500)) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        notification_id = await parts.notifier.enqueue(
            "rc_1", "p_pharmacy", "recall.published", {}, drill=False
        )
        await parts.deliver("rc_1")
    last_hash = await RecallAudit(parts.redis).append(
        "rc_1", {"action": "recall.acknowledged", "partner": "p_pharmacy"}
    )
    chain = await parts.redis.xrange(audit_key("rc_1"))
    previous = b""
    for _, fields in chain:
        assert set(fields) == {b"entry", b"prev", b"hash"}
        assert fields[b"prev"] == previous
        assert (
            fields[b"hash"]
            == hashlib.sha1(previous + b"\n" + fields[b"entry"]).hexdigest().encode()
        )
        previous = fields[b"hash"]
    assert (
        previous.decode()
        == last_hash
        == (await parts.redis.get(audit_head_key("rc_1"))).decode()
    )
    assert chain[0][1][b"hash"].decode() == first_hash
    entries = [orjson.loads(fields[b"entry"]) for _, fields in chain]
    assert [e["action"] for e in entries] == [
        "recall.published",
        "notification.failed",
        "notification.delivered",
        "recall.acknowledged",
    ]
    assert entries[1] | {"at": 0} == {
        "at": 0,
        "action": "notification.failed",
        "recall": "rc_1",
        "notification": notification_id,
        "partner": "p_pharmacy",
        "event": "recall.published",
        "url": receiver.url.split("?")[0],  # the manufacturer reads the chain: redacted
        "attempt": 1,
        "http_status": 500,
        "error": "HTTP 500",
        "drill": False,
    }


@redis_scenario
async def test_tampering_with_an_audit_entry_breaks_its_link(parts: Parts) -> None:
    await RecallAudit(parts.redis).append("rc_1", {"action": "a"})
    await RecallAudit(parts.redis).append("rc_1", {"action": "b"})
    [(_, first), (_, second)] = await parts.redis.xrange(audit_key("rc_1"))
    assert second[b"prev"] == first[b"hash"]
    forged = b'{"action":"x"}'
    assert hashlib.sha1(first[b"prev"] + b"\n" + forged).hexdigest().encode() != first[b"hash"]


@redis_scenario
async def test_deliveries_are_shown_in_full_to_admin_and_the_manufacturer_and_otherwise_only_ones_own(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        for partner in ("p_a", "p_b"):
            await parts.subscribe(partner, receiver.url)
            await parts.notifier.enqueue("rc_1", partner, "recall.published", {}, drill=False)
        await parts.deliver("rc_1", done=lambda d: len(d) == 2)

    async def seen(
        viewer: str, *, admin: bool = False, owner: str | None = "p_maker"
    ) -> list[str]:
        shown = await parts.notifier.deliveries_for(
            "rc_1", viewer_id=viewer, is_admin=admin, owner_id=owner
        )
        return sorted(d.partner_id for d in shown)

    assert await seen("p_maker") == ["p_a", "p_b"]
    assert await seen("p_admin", admin=True) == ["p_a", "p_b"]
    assert await seen("p_a") == ["p_a"]
    assert await seen("p_a", owner=None) == ["p_a"]
    with pytest.raises(NotFound):
        await seen("p_stranger")
    with pytest.raises(NotFound):
        await parts.notifier.deliveries_for(
            "rc_none", viewer_id="p_admin", is_admin=True, owner_id=None
        )
    assert (
        await parts.notifier.deliveries_for(
            "rc_new", viewer_id="p_maker", is_admin=False, owner_id="p_maker"
        )
        == []
    )
    with pytest.raises(InvalidInput) as bad:
        await parts.notifier.deliveries("rc}{x")
    assert bad.value.code == "recall.id"


# -- backoff and settings ----------------------------------------------------------------------------


def test_settings_read_the_notification_variables_with_their_defaults() -> None:
    base = {"REDIS_URL": "redis://r:6379/0"}
    defaults = Settings.from_env(base)
    assert defaults.webhook_key_dir == Path("/var/run/verinet/webhook-keys")
    assert defaults.rpc_timeout == 0.8
    assert defaults.notify == DeliverySettings()
    tuned = Settings.from_env(
        base
        | {
            "NOTIFY_BACKOFF_BASE_SECONDS": "1",
            "NOTIFY_BACKOFF_MAX_SECONDS": "30",
            "NOTIFY_MAX_ATTEMPTS": "4",
            "NOTIFY_DELIVERY_TIMEOUT_SECONDS": "3",
            "NOTIFY_CONCURRENCY": "8",
            "NOTIFY_CLAIM_IDLE_SECONDS": "20",
            "NOTIFY_POLL_SECONDS": "0.5",
            "RPC_TIMEOUT_SECONDS": "0.5",
        }
    )
    assert tuned.notify == DeliverySettings(Backoff(1.0, 30.0), 4, 3.0, 0.5, 8, 20.0, 0.5)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"NOTIFY_CLAIM_IDLE_SECONDS": "5"}, "NOTIFY_CLAIM_IDLE_SECONDS"),
        ({"NOTIFY_BACKOFF_MAX_SECONDS": "1"}, "NOTIFY_BACKOFF_MAX_SECONDS"),
        ({"NOTIFY_POLL_SECONDS": "3"}, "NOTIFY_POLL_SECONDS"),
        ({"NOTIFY_MAX_ATTEMPTS": "0"}, "NOTIFY_MAX_ATTEMPTS"),
    ],
)
def test_settings_refuse_values_that_cannot_work_and_name_the_variable(
    extra: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"REDIS_URL": "redis://r:6379/0"} | extra)
    assert named in refused.value.message


@redis_scenario
async def test_a_malformed_queue_entry_is_dead_lettered_instead_of_blocking_the_queue(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        await parts.redis.xadd(NOTIFY_STREAM, {"id": "nt_broken", "attempt": "one"})
        await parts.notifier.enqueue("rc_1", "p_pharmacy", "recall.published", {}, drill=False)
        [delivery] = await parts.deliver("rc_1")
    assert delivery.outcome == "delivered"
    [(_, dead)] = await parts.redis.xrange(DEAD_STREAM)
    assert dead[b"id"] == b"nt_broken" and dead[b"dead_error"].startswith(b"malformed")
    assert await parts.redis.xlen(NOTIFY_STREAM) == 0


@redis_scenario
async def test_the_worker_recreates_a_deleted_queue_and_goes_on(parts: Parts) -> None:
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_pharmacy", receiver.url)
        async with running(parts.worker()):
            await parts.redis.delete(NOTIFY_STREAM)
            await parts.notifier.enqueue(
                "rc_1", "p_pharmacy", "recall.published", {}, drill=False
            )
            [delivery] = await parts.deliveries_until("rc_1", settled)
    assert delivery.outcome == "delivered"


def test_a_running_worker_resumes_delivering_after_redis_is_killed_and_restarted(tmp_path: Path) -> None:
    """The append-only Redis comes back with the queue and its consumer group; the worker, left
    running through the outage, takes new entries again without a restart of its process."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()

    async def scenario(parts: Parts) -> None:
        async with receiving(parts.keys.jwks(), answering()) as receiver:
            await parts.subscribe("p_pharmacy", receiver.url)
            async with running(parts.worker()):
                await parts.notifier.enqueue("rc_1", "p_pharmacy", "recall.published", {}, drill=False)
                await parts.deliveries_until("rc_1", settled)
                server.kill()  # SIGKILL
                await asyncio.sleep(0.5)  # the worker's reads fail meanwhile
                await asyncio.to_thread(server.start)  # same port, same append-only file
                await parts.notifier.enqueue("rc_2", "p_pharmacy", "recall.published", {}, drill=False)
                [delivery] = await parts.deliveries_until("rc_2", settled, timeout=20)
        assert delivery.outcome == "delivered"
        assert [r.json["recall_id"] for r in receiver.received] == ["rc_1", "rc_2"]

    try:
        run(server.url, tmp_path, scenario)
    finally:
        server.stop()


# -- the outbound policy ------------------------------------------------------------------------

SETTINGS_ENV = {"REDIS_URL": "redis://r:6379/0", "NOTIFY_POLL_SECONDS": "0.05"}


@redis_scenario
async def test_a_webhook_to_the_metadata_address_is_refused(parts: Parts) -> None:
    strict = SubscriptionStore(parts.redis, Settings.from_env(SETTINGS_ENV).notify.outbound)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/", "http://0xa9fea9fe/"):
        with pytest.raises(InvalidInput) as refused:
            await strict.put("p_1", "main", url, ["recall.published"], NOW)
        assert (refused.value.code, refused.value.field) == ("subscription.url_not_public", "url")
        assert "link-local" in refused.value.message
    assert await strict.list("p_1") == []


@redis_scenario
async def test_with_outbound_allow_cidrs_unset_a_loopback_receiver_gets_nothing(parts: Parts) -> None:
    """The URL was accepted when loopback was allowed (or its name resolved elsewhere); the
    worker checks again when it connects, under the policy of the settings it runs with."""
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_1", receiver.url)
        await parts.notifier.enqueue("rc_1", "p_1", "recall.published", {}, drill=False)
        unset = Settings.from_env(SETTINGS_ENV).notify
        [delivery] = await parts.deliver(
            "rc_1", replace(FAST, max_attempts=1, outbound=unset.outbound)
        )
        assert receiver.received == []
        assert (delivery.outcome, delivery.http_status) == ("dead", 0)
        assert delivery.error == (
            "Failed to deliver: refused by the outbound policy: the URL's host is not a "
            "public internet address."
        )


@redis_scenario
async def test_with_outbound_allow_cidrs_set_to_loopback_delivery_works(parts: Parts) -> None:
    allowed = Settings.from_env(SETTINGS_ENV | {"OUTBOUND_ALLOW_CIDRS": "127.0.0.0/8"}).notify
    async with receiving(parts.keys.jwks(), answering()) as receiver:
        await parts.subscribe("p_1", receiver.url)
        await parts.notifier.enqueue("rc_1", "p_1", "recall.published", {}, drill=False)
        [delivery] = await parts.deliver("rc_1", replace(FAST, outbound=allowed.outbound))
        assert delivery.outcome == "delivered" and len(receiver.received) == 1
