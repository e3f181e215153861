"""The outbound policy through the public API, with ``OUTBOUND_ALLOW_CIDRS`` unset: a partner
cannot point webhooks or its directory entries inside the network, however it spells the
host; an admin's directory entry is trusted; forwarding errors say what failed in words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunningNetwork, gtin_under
from tests.lookup.fake_remote import FAKE_GLN, FakeRemote, serving_in_thread
from verinet.embedded_redis import free_port

#: Hosts that reach inside, in the spellings a hostile partner would try.
INSIDE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://127.0.0.1:6379/",
    "http://localhost:8080/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://0/",
    "http://10.0.0.1/",
    "http://192.168.0.10/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::7f00:1]/",
]


#: The module's network (tests/conftest.py) runs with the policy's default: no address inside.
NETWORK_ENV = {"OUTBOUND_ALLOW_CIDRS": ""}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRemote]:
    with serving_in_thread() as remote:
        yield remote


def test_a_webhook_to_the_metadata_address_is_refused(network: RunningNetwork) -> None:
    _, pharmacy = network.add_partner(["dispenser"])
    answer = pharmacy.put("/v1/subscriptions/hooks", json={"url": "http://169.254.169.254/latest/meta-data/iam", "events": ["recall.published"]})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["code"], problem["field"]) == ("subscription.url_not_public", "url")
    assert "link-local" in problem["detail"]
    assert pharmacy.get("/v1/subscriptions").json()["subscriptions"] == []


@pytest.mark.parametrize("url", INSIDE_URLS)
def test_a_webhook_pointing_inside_is_refused_whatever_the_host_spelling(network: RunningNetwork, url: str) -> None:
    _, wholesaler = network.add_partner(["wholesaler"])
    answer = wholesaler.put("/v1/subscriptions/hooks", json={"url": url, "events": ["recall.published"]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "subscription.url_not_public"


@pytest.mark.parametrize("url", INSIDE_URLS)
def test_a_manufacturers_directory_entry_pointing_inside_is_refused(network: RunningNetwork, url: str) -> None:
    maker, client = network.add_partner(["manufacturer"])
    prefix = maker["company_prefixes"][0]
    answer = client.put(f"/v1/directory/prefixes/{prefix}", json={"route": "remote", "url": url, "responder_gln": FAKE_GLN})
    assert answer.status_code == 400, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("route.url_not_public", "url")
    imported = client.post("/v1/directory/import", json={"entries": [{"kind": "prefix", "key": prefix, "route": "remote", "url": url, "responder_gln": FAKE_GLN}]})
    assert imported.status_code == 200
    assert imported.json()["refused"] == 1 and imported.json()["results"][0]["code"] == "route.url_not_public"


def test_an_admins_directory_entry_may_point_inside_and_is_forwarded(network: RunningNetwork, fake: FakeRemote) -> None:
    maker, _ = network.add_partner(["manufacturer"])
    prefix = maker["company_prefixes"][0]
    answer = network.admin.put(f"/v1/directory/prefixes/{prefix}", json={"route": "remote", "url": fake.url("ok"), "responder_gln": FAKE_GLN, "owner": maker["id"]})
    assert answer.status_code == 201, answer.text
    wholesaler, client = network.add_partner(["wholesaler"])
    verdict = client.get(f"/verify/gtin/{gtin_under(prefix)}/lot/L1/ser/S1", params={"exp": "301231", "linkType": "verificationService", "context": "dscsaSaleableReturn", "reqGLN": wholesaler["glns"][0]})
    assert verdict.status_code == 200, verdict.text
    assert fake.hits["ok"] >= 1


def test_a_forwarding_failure_is_told_in_words_without_connect_details(network: RunningNetwork) -> None:
    maker, _ = network.add_partner(["manufacturer"])
    prefix = maker["company_prefixes"][0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert network.admin.put(f"/v1/directory/prefixes/{prefix}", json={"route": "remote", "url": url, "responder_gln": FAKE_GLN}).status_code == 201
    wholesaler, client = network.add_partner(["wholesaler"])
    answer = client.get(f"/verify/gtin/{gtin_under(prefix)}/lot/L1/ser/S1", params={"exp": "301231", "linkType": "verificationService", "reqGLN": wholesaler["glns"][0]})
    assert answer.status_code == 502, answer.text
    text = answer.text.replace(url, "<url>")
    assert "is unreachable: could not connect" in text
    for detail in ("Errno", "Connect call", "refused", "ClientConnector", "127.0.0.1", str(port)):
        assert detail not in text, detail

