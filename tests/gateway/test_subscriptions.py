"""Webhook subscriptions and delivery logs through the gateway, end to end: a real network
(with fast retry settings) delivers to a real HTTP server here, signed by the verifier."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import LOOPBACK_OUTBOUND
from tests.webhook_receiver import WebhookReceiver
from verinet.embedded_redis import EmbeddedRedisCluster, free_port
from verinet.network import Network, with_check_digit
from verinet.recall_status.notifications import Notifier, SubscriptionStore
from verinet.signing import KeyRing
from verinet.store import connect

FAST_WEBHOOKS = {
    "NOTIFY_BACKOFF_BASE_SECONDS": "0.05",
    "NOTIFY_BACKOFF_MAX_SECONDS": "0.2",
    "NOTIFY_MAX_ATTEMPTS": "3",
    "NOTIFY_DELIVERY_TIMEOUT_SECONDS": "1",
    "NOTIFY_CLAIM_IDLE_SECONDS": "5",
    "NOTIFY_POLL_SECONDS": "0.05",
}


@dataclass
class Partner:
    id: str
    token: str
    base_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def request(
        self, method: str, path: str, token: str | None = "", **kwargs: Any
    ) -> requests.Response:
        token = self.token if token == "" else token
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=30, **kwargs
        )


@dataclass
class World:
    network: Network
    admin: Partner
    count: int = 0

    def partner(self, roles: list[str]) -> Partner:
        self.count += 1
        body: dict[str, Any] = {
            "name": f"{roles[0]} {self.count}",
            "roles": roles,
            "glns": [with_check_digit(f"07{self.count:05d}00001")],
        }
        if "manufacturer" in roles:
            body["company_prefixes"] = [f"07{self.count:05d}"]
        created = self.admin.request("POST", "/v1/partners", json=body)
        assert created.status_code == 201, created.text
        return Partner(created.json()["id"], created.json()["token"], self.network.gateway_url)

    def enqueue(
        self,
        recall_id: str,
        partner_id: str,
        event: str,
        payload: dict[str, Any],
        drill: bool = False,
    ) -> str | None:
        """What the recall code does on publish, against the network's Redis."""

        async def run() -> str | None:
            redis = connect(self.network.redis_url or "")
            try:
                return await Notifier(redis, SubscriptionStore(redis)).enqueue(
                    recall_id, partner_id, event, payload, drill=drill
                )
            finally:
                await redis.aclose()

        return asyncio.run(run())


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """A network with fast webhook retries, on one Redis or on a real 3-master cluster."""
    data_dir = tmp_path_factory.mktemp("webhooks")
    cluster = EmbeddedRedisCluster(data_dir / "cluster") if request.param == "cluster" else None
    if cluster is not None:
        cluster.start()
    network = Network(
        data_dir=data_dir,
        gateway_port=free_port(),
        redis_url=cluster.url if cluster is not None else None,
        extra_env={**FAST_WEBHOOKS, **LOOPBACK_OUTBOUND},
    )
    try:
        network.start()
        admin = Partner(
            network.info["admin_partner_id"], network.info["admin_token"], network.gateway_url
        )
        yield World(network, admin)
    finally:
        network.stop()
        if cluster is not None:
            cluster.stop()


# -- a real receiver, in a thread of its own -------------------------------------------------


@pytest.fixture
def receiver(world: World) -> Iterator[Callable[[Callable[[int], int]], Any]]:
    """Starts receivers answering each POST with ``answer(n)``; each gets its own path."""
    with WebhookReceiver(world.network.gateway_url + "/.well-known/jwks.json") as server:
        answers: dict[str, Callable[[int], int]] = {}
        server.answer = lambda name, n: answers[name](n)

        @dataclass
        class Hook:
            url: str
            received: list[dict[str, Any]]

        def start(answer: Callable[[int], int]) -> Hook:
            name = f"recalls{len(answers)}"
            answers[name] = answer
            return Hook(server.url(name), server.received[name])

        yield start


def deliveries(
    partner: Partner,
    recall_id: str,
    settled: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        answer = partner.request("GET", f"/v1/recalls/{recall_id}/deliveries")
        found = answer.json()["deliveries"] if answer.status_code == 200 else []
        if settled(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"deliveries of {recall_id} never settled: {answer.status_code} {answer.text}"
            )
        time.sleep(0.05)


def ended(found: list[dict[str, Any]]) -> bool:
    return bool(found) and found[-1]["outcome"] in ("delivered", "dead")


# -- subscriptions ----------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [["wholesaler"], ["dispenser"], ["manufacturer"], ["network"]])
def test_a_trading_partner_creates_replaces_and_lists_its_subscription(
    world: World, roles: list[str]
) -> None:
    partner = world.partner(roles)
    created = partner.request(
        "PUT",
        "/v1/subscriptions/ops",
        json={
            "url": "https://hooks.example/recalls",
            "events": ["recall.published", "recall.closed"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json() | {"updated_at": ""} == {
        "name": "ops",
        "partner": partner.id,
        "url": "https://hooks.example/recalls",
        "events": ["recall.published", "recall.closed"],
        "updated_at": "",
    }
    replaced = partner.request(
        "PUT",
        "/v1/subscriptions/ops",
        json={"url": "https://hooks.example/v2", "events": ["recall.drill"]},
    )
    assert replaced.status_code == 200 and replaced.json()["url"] == "https://hooks.example/v2"
    listed = partner.request("GET", "/v1/subscriptions")
    assert listed.status_code == 200
    assert listed.json() == {"subscriptions": [replaced.json()]}


def test_a_partner_sees_only_its_own_subscriptions(world: World) -> None:
    one, other = world.partner(["dispenser"]), world.partner(["dispenser"])
    one.request(
        "PUT",
        "/v1/subscriptions/mine",
        json={"url": "https://one.example/", "events": ["recall.published"]},
    )
    assert other.request("GET", "/v1/subscriptions").json() == {"subscriptions": []}


def test_subscriptions_need_a_token(world: World) -> None:
    partner = world.partner(["wholesaler"])
    for method, path in [
        ("PUT", "/v1/subscriptions/ops"),
        ("GET", "/v1/subscriptions"),
        ("GET", "/v1/recalls/rc_1/deliveries"),
    ]:
        answer = partner.request(
            method,
            path,
            token=None,
            json={"url": "https://x.example/", "events": ["recall.closed"]},
        )
        assert answer.status_code == 401, (method, path)
        assert answer.json()["code"] == "auth.missing"
        assert partner.request(method, path, token="vn_not-a-token").status_code == 401


def test_admin_has_no_subscriptions(world: World) -> None:
    put = world.admin.request(
        "PUT",
        "/v1/subscriptions/ops",
        json={"url": "https://x.example/", "events": ["recall.closed"]},
    )
    assert put.status_code == 403 and put.json()["code"] == "auth.role"
    listed = world.admin.request("GET", "/v1/subscriptions")
    assert listed.status_code == 403 and listed.json()["code"] == "auth.role"


@pytest.mark.parametrize(
    ("name", "body", "code", "field"),
    [
        ("ops", {"events": ["recall.closed"]}, "subscription.url", "url"),
        ("ops", {"url": 7, "events": ["recall.closed"]}, "subscription.url", "url"),
        (
            "ops",
            {"url": "ftp://x.example/", "events": ["recall.closed"]},
            "subscription.url",
            "url",
        ),
        (
            "ops",
            {"url": "https://u:p@x.example/", "events": ["recall.closed"]},
            "subscription.url",
            "url",
        ),
        ("ops", {"url": "https://x.example/"}, "subscription.events", "events"),
        (
            "ops",
            {"url": "https://x.example/", "events": "recall.closed"},
            "subscription.events",
            "events",
        ),
        ("ops", {"url": "https://x.example/", "events": []}, "subscription.events", "events"),
        (
            "ops",
            {"url": "https://x.example/", "events": ["recall.closed", "recall.lost"]},
            "subscription.event_unknown",
            "events[1]",
        ),
        (
            "ops",
            {"url": "https://x.example/", "events": ["recall.closed", "recall.closed"]},
            "subscription.event_duplicate",
            "events[1]",
        ),
        (
            "not%20ok",
            {"url": "https://x.example/", "events": ["recall.closed"]},
            "subscription.name",
            "name",
        ),
        (
            "x" * 65,
            {"url": "https://x.example/", "events": ["recall.closed"]},
            "subscription.name",
            "name",
        ),
    ],
)
def test_a_malformed_subscription_is_a_problem_with_a_code_and_field(
    world: World, name: str, body: dict[str, Any], code: str, field: str
) -> None:
    partner = world.partner(["dispenser"])
    answer = partner.request("PUT", f"/v1/subscriptions/{name}", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)


def test_a_body_that_is_not_a_json_object_is_refused(world: World) -> None:
    partner = world.partner(["dispenser"])
    assert (
        partner.request("PUT", "/v1/subscriptions/ops", data=b"[1]").json()["code"] == "body.shape"
    )
    assert partner.request("PUT", "/v1/subscriptions/ops", data=b"{").json()["code"] == "body.json"


def test_an_event_already_sent_to_another_subscription_is_a_conflict(world: World) -> None:
    partner = world.partner(["wholesaler"])
    partner.request(
        "PUT",
        "/v1/subscriptions/ops",
        json={"url": "https://x.example/ops", "events": ["recall.published"]},
    )
    answer = partner.request(
        "PUT",
        "/v1/subscriptions/qa",
        json={"url": "https://x.example/qa", "events": ["recall.published"]},
    )
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["field"]) == (
        "subscription.event_taken",
        "events[0]",
    )


def test_the_routes_are_in_the_openapi_document_with_their_roles(world: World) -> None:
    paths = requests.get(world.network.gateway_url + "/openapi.json", timeout=10).json()["paths"]
    assert paths["/v1/subscriptions/{name}"]["put"]["x-verinet-roles"] == [
        "manufacturer",
        "wholesaler",
        "dispenser",
        "network",
    ]
    assert "admin" not in paths["/v1/subscriptions"]["get"]["x-verinet-roles"]
    assert "admin" in paths["/v1/recalls/{id}/deliveries"]["get"]["x-verinet-roles"]


# -- deliveries, end to end ------------------------------------------------------------------


def test_a_webhook_signed_by_the_verifier_is_retried_then_delivered_and_logged(
    world: World, receiver: Any
) -> None:
    hook = receiver(lambda n: 500 if n == 1 else 200)
    pharmacy, stranger = world.partner(["dispenser"]), world.partner(["dispenser"])
    assert (
        pharmacy.request(
            "PUT",
            "/v1/subscriptions/recalls",
            json={"url": hook.url, "events": ["recall.published"]},
        ).status_code
        == 201
    )
    payload = {
        "recall": {"id": "rc_e2e1", "class": "I"},
        "units": [{"gtin": "09506000134352", "serial": "S1"}],
    }
    notification_id = world.enqueue("rc_e2e1", pharmacy.id, "recall.published", payload)
    assert notification_id

    log = deliveries(pharmacy, "rc_e2e1", ended)
    assert [(d["attempt"], d["outcome"], d["http_status"]) for d in log] == [
        (1, "failed", 500),
        (2, "delivered", 200),
    ]
    assert {d["notification_id"] for d in log} == {notification_id}
    assert all(d["partner"] == pharmacy.id and d["url"] == hook.url and not d["drill"] for d in log)
    assert log[0]["error"] == "HTTP 500" and log[1]["error"] == ""

    assert len(hook.received) == 2
    webhook_kid = KeyRing.load(world.network.webhook_key_dir).active.kid
    assert webhook_kid not in KeyRing.load(world.network.key_dir).kids  # not a verdict key
    for got in hook.received:
        assert got["error"] is None, got["error"]
        # Signed by recall-status's own webhook key, published in the network's one JWKS.
        assert got["kid"] == webhook_kid
        assert webhook_kid in [key["kid"] for key in got["jwks"]["keys"]]
        assert got["body"]["id"] == notification_id and got["body"]["data"] == payload
        assert got["body"]["drill"] is False and "Verinet-Drill" not in got["headers"]

    assert world.admin.request("GET", "/v1/recalls/rc_e2e1/deliveries").json()["deliveries"] == log
    hidden = stranger.request("GET", "/v1/recalls/rc_e2e1/deliveries")
    assert hidden.status_code == 404 and hidden.json()["code"] == "recall.not_found"


def test_a_drill_webhook_that_always_fails_is_dead_lettered_and_each_partner_sees_its_own(
    world: World, receiver: Any
) -> None:
    hook = receiver(lambda n: 503)
    good = receiver(lambda n: 200)
    wholesaler, pharmacy = world.partner(["wholesaler"]), world.partner(["dispenser"])
    wholesaler.request(
        "PUT", "/v1/subscriptions/drills", json={"url": hook.url, "events": ["recall.drill"]}
    )
    pharmacy.request(
        "PUT", "/v1/subscriptions/drills", json={"url": good.url, "events": ["recall.drill"]}
    )
    world.enqueue("rc_drill9", wholesaler.id, "recall.drill", {"units": []}, drill=True)
    world.enqueue("rc_drill9", pharmacy.id, "recall.drill", {"units": []}, drill=True)

    log = deliveries(wholesaler, "rc_drill9", ended)
    assert [(d["attempt"], d["outcome"], d["http_status"]) for d in log] == [
        (1, "failed", 503),
        (2, "failed", 503),
        (3, "dead", 503),
    ]
    assert all(d["drill"] for d in log)
    assert all(
        got["headers"]["Verinet-Drill"] == "true" and got["body"]["drill"] is True
        for got in hook.received
    )
    own = deliveries(pharmacy, "rc_drill9", ended)
    assert [(d["partner"], d["outcome"]) for d in own] == [(pharmacy.id, "delivered")]
    everything = world.admin.request("GET", "/v1/recalls/rc_drill9/deliveries").json()["deliveries"]
    assert sorted({d["partner"] for d in everything}) == sorted({wholesaler.id, pharmacy.id})


def test_a_malformed_recall_id_is_refused(world: World) -> None:
    answer = world.admin.request("GET", "/v1/recalls/rc:1/deliveries")
    assert answer.status_code == 400 and answer.json()["code"] == "recall.id"


def test_an_unknown_recall_has_no_deliveries(world: World) -> None:
    answer = world.admin.request("GET", "/v1/recalls/rc_never/deliveries")
    assert answer.status_code == 404 and answer.json()["code"] == "recall.not_found"


def test_a_revoked_partner_gets_no_more_deliveries(world: World, receiver: Any) -> None:
    pharmacy = world.partner(["dispenser"])

    def revoke_then_fail(n: int) -> int:
        if n == 1:  # revoked while its first delivery is in flight: the retry is pending
            revoked = world.admin.request("POST", f"/v1/partners/{pharmacy.id}/revoke")
            assert revoked.status_code == 200, revoked.text
        return 500

    hook = receiver(revoke_then_fail)
    pharmacy.request("PUT", "/v1/subscriptions/recalls", json={"url": hook.url, "events": ["recall.published"]})
    assert world.enqueue("rc_revoked1", pharmacy.id, "recall.published", {"units": []})
    log = deliveries(world.admin, "rc_revoked1", lambda found: bool(found) and found[-1]["outcome"] == "cancelled")
    assert [(d["attempt"], d["outcome"]) for d in log] == [(1, "failed"), (2, "cancelled")]
    assert "revoked" in log[-1]["error"]
    time.sleep(0.5)  # past the retry's backoff: nothing more goes out
    assert len(hook.received) == 1
    # nothing new is queued for it either
    assert world.enqueue("rc_revoked2", pharmacy.id, "recall.published", {"units": []}) is None


def test_a_subscriber_url_is_shown_whole_only_to_its_subscriber(world: World, receiver: Any) -> None:
    hook = receiver(lambda n: 200)
    pharmacy = world.partner(["dispenser"])
    secret_url = hook.url + "?key=s3cret-hook-key"
    pharmacy.request("PUT", "/v1/subscriptions/recalls", json={"url": secret_url, "events": ["recall.published"]})
    world.enqueue("rc_redact1", pharmacy.id, "recall.published", {"units": []})
    own = deliveries(pharmacy, "rc_redact1", ended)
    assert [d["url"] for d in own] == [secret_url]
    for_admin = world.admin.request("GET", "/v1/recalls/rc_redact1/deliveries").json()["deliveries"]
    assert [d["url"] for d in for_admin] == [hook.url]
    assert "s3cret" not in str(for_admin)
