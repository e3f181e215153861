"""OCI ATP credentials on forwarded questions: two verinet networks, A and B, and two
reference OCI wallets (tests/lookup/oci_wallet.py), all real HTTP.

A's wholesaler has a DID and a wallet (wallet 1); B has its own (wallet 2) and requires a
presentation from A's network. A question through A carries the wholesaler's presentation;
B verifies it through its wallet and answers with its own, which A verifies through the
wholesaler's wallet. Every step is audited. A fake OCI network answering with wrong
presentations shows each OCI error code as a 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.conftest import Client, RunningNetwork, running_network
from tests.gateway.test_routing import gtin_under
from tests.lookup.oci_wallet import (
    WRONG_CASES,
    Identity,
    ReferenceWallet,
    wallets_in_thread,
    wrong_presentation,
)

LOT, EXPIRY = "LOT-ATP", "301231"
FAKE_GLN = "0614141999996"


@pytest.fixture(scope="module")
def wallets() -> Iterator[dict[str, Any]]:
    with wallets_in_thread(2) as (one, two):
        issuer = one.identity("issuer")
        ids: dict[str, Any] = {"one": one, "two": two, "issuer": issuer}
        for wallet, name in ((one, "wholesaler"), (one, "network-a"), (two, "network-b"), (one, "fake-network")):
            holder = wallet.identity(name)
            holder.credential = one.credential(issuer, holder.did)
            ids[name] = holder
        one.trusted_issuers.add(issuer.did)
        two.trusted_issuers.add(issuer.did)
        yield ids


def wallet_env(wallet: ReferenceWallet, holder: Identity) -> dict[str, str]:
    return {
        "OCI_WALLET_URL": wallet.url,
        "OCI_WALLET_DID": holder.did,
        "OCI_WALLET_CLIENT_ID": wallet.client_id,
        "OCI_WALLET_CLIENT_SECRET": wallet.client_secret,
    }


@pytest.fixture(scope="module")
def a(tmp_path_factory: pytest.TempPathFactory, wallets: dict[str, Any]) -> Iterator[RunningNetwork]:
    env = wallet_env(wallets["one"], wallets["network-a"])
    with running_network(tmp_path_factory.mktemp("atp-a"), extra_env=env) as network:
        yield network


@pytest.fixture(scope="module")
def b(tmp_path_factory: pytest.TempPathFactory, wallets: dict[str, Any]) -> Iterator[RunningNetwork]:
    env = wallet_env(wallets["two"], wallets["network-b"])
    with running_network(tmp_path_factory.mktemp("atp-b"), extra_env=env) as network:
        yield network


def wallet_body(wallet: ReferenceWallet, holder: Identity, policy: str = "optional") -> dict[str, str]:
    return {"did": holder.did, "url": wallet.url, "client_id": wallet.client_id, "client_secret": wallet.client_secret, "inbound_policy": policy}


@pytest.fixture(scope="module")
def world(a: RunningNetwork, b: RunningNetwork, wallets: dict[str, Any]) -> dict[str, Any]:
    manufacturer, m_at_b = b.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    assert m_at_b.put(f"/v1/products/{gtin}", json={"name": "ATP 5 mg"}).status_code == 201
    stored = m_at_b.post("/v1/packs/commission", json={"packs": [{"gtin": gtin, "serial": "A-1", "lot": LOT, "expiry": EXPIRY}]})
    assert stored.status_code == 200, stored.text
    a_at_b, _ = b.add_partner(["network"])
    # B requires a presentation with every question from A's network.
    put = b.admin.put(f"/v1/partners/{a_at_b['id']}/wallet", json=wallet_body(wallets["one"], wallets["network-a"], "required"))
    assert put.status_code == 200, put.text
    assert wallets["one"].client_secret not in put.text and put.json()["client_secret_set"] is True
    profile = {"url": b.url, "auth": {"scheme": "bearer", "token": a_at_b["token"]}, "deadline_seconds": 2}
    assert a.admin.put("/v1/directory/networks/network-b", json=profile).status_code == 201
    route = a.admin.put(f"/v1/directory/gtins/{gtin}", json={"route": "remote", "network": "network-b", "responder_gln": manufacturer["glns"][0]})
    assert route.status_code == 201, route.text
    wholesaler, w_at_a = a.add_partner(["wholesaler"])
    assert a.admin.put(f"/v1/partners/{wholesaler['id']}/wallet", json=wallet_body(wallets["one"], wallets["wholesaler"])).status_code == 200
    plain, p_at_a = a.add_partner(["wholesaler"])  # no wallet
    return {"gtin": gtin, "wholesaler": wholesaler, "w_at_a": w_at_a, "plain": plain, "p_at_a": p_at_a, "a_at_b": a_at_b}


def ask(client: Client, partner: dict[str, Any], gtin: str, serial: str, corr: str) -> Any:
    params = {"exp": EXPIRY, "linkType": "verificationService", "reqGLN": partner["glns"][0], "corrUUID": corr}
    return client.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/{serial}", params=params)


def test_two_networks_exchange_and_verify_presentations_on_a_forwarded_question(
    world: dict[str, Any], a: RunningNetwork, b: RunningNetwork, wallets: dict[str, Any]
) -> None:
    corr = str(uuid.uuid4())
    answer = ask(world["w_at_a"], world["wholesaler"], world["gtin"], "A-1", corr)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}
    # Wallet 2 (B's) verified the wholesaler's presentation; wallet 1 (the wholesaler's) B's.
    verified_by_two = [body for name, body in wallets["two"].calls if name == "verify"]
    assert any(c["verifierDID"] == wallets["network-b"].did for c in verified_by_two)
    generated_by_two = [body for name, body in wallets["two"].calls if name == "generate" and body["corrUUID"] == corr]
    assert generated_by_two == [{"corrUUID": corr, "holderDID": wallets["network-b"].did, "credentialType": "DSCSAATPCredential"}]
    at_a = a.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]
    assert [(e["partner"], e["action"], e["outcome"]) for e in at_a] == [
        (world["wholesaler"]["id"], "generate", "ok"),
        (world["wholesaler"]["id"], "verify", "ok"),
    ]
    at_b = b.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]
    assert sorted((e["partner"], e["action"], e["outcome"]) for e in at_b) == [  # asked at once
        (world["a_at_b"]["id"], "generate", "ok"),
        (world["a_at_b"]["id"], "verify", "ok"),
    ]
    # The wholesaler sees its own entries; another partner sees none of them.
    assert len(world["w_at_a"].get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]) == 2
    assert world["p_at_a"].get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"] == []


def test_a_question_without_a_presentation_is_refused_by_a_network_that_requires_one(world: dict[str, Any]) -> None:
    answer = ask(world["p_at_a"], world["plain"], world["gtin"], "A-1", str(uuid.uuid4()))
    assert answer.status_code == 403, answer.text
    assert "requires an ATP presentation" in answer.text
    assert '"verified"' not in answer.text


# -- each OCI error code, from a network answering with a wrong presentation ------------------------


@contextlib.contextmanager
def wrong_network(wallets: dict[str, Any]) -> Iterator[str]:
    """An OCI network: LMS answers carrying a presentation wrong as its base path says."""

    async def verify(request: web.Request) -> web.Response:
        corr = request.query.get("corrUUID", "")
        case = request.match_info["case"]
        presentation = wrong_presentation(wallets["one"], wallets["fake-network"], wallets["issuer"], case, corr)
        body = {"verificationTimestamp": dt.datetime.now(dt.UTC).isoformat(), "responderGLN": FAKE_GLN, "data": {"verified": True}, "corrUUID": corr}
        return web.Response(body=orjson.dumps(body), content_type="application/json", headers={"ATP-Presentation": presentation})

    app = web.Application()
    app.router.add_get("/{case}/verify/gtin/{gtin}/lot/{lot}/ser/{serial}", verify)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: list[Any] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        box.extend([runner, site._server.sockets[0].getsockname()[1]])  # type: ignore[union-attr]
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{box[1]}"
    finally:
        asyncio.run_coroutine_threadsafe(box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_each_wrong_responder_presentation_is_403_with_its_oci_error_code_never_a_verdict(
    world: dict[str, Any], a: RunningNetwork, wallets: dict[str, Any]
) -> None:
    with wrong_network(wallets) as url:
        for number, case in enumerate(WRONG_CASES, start=1):
            name = f"wrong-{case.replace('_', '-')}"
            assert a.admin.put(f"/v1/directory/networks/{name}", json={"url": f"{url}/{case}", "deadline_seconds": 2}).status_code == 201
            gtin = gtin_under("7900001", number)
            route = a.admin.put(f"/v1/directory/gtins/{gtin}", json={"route": "remote", "network": name, "responder_gln": FAKE_GLN})
            assert route.status_code == 201, route.text
            corr = str(uuid.uuid4())
            answer = ask(world["w_at_a"], world["wholesaler"], gtin, "X-1", corr)
            assert answer.status_code == 403, (case, answer.text)
            assert case in answer.text, (case, answer.text)
            assert '"verified"' not in answer.text
            audit = a.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]
            assert [(e["action"], e["outcome"], e["code"]) for e in audit] == [("generate", "ok", None), ("verify", "refused", case)]


def test_wallet_secrets_never_reach_answers_or_logs(a: RunningNetwork, b: RunningNetwork, wallets: dict[str, Any], world: dict[str, Any]) -> None:
    shown = a.admin.get(f"/v1/partners/{world['wholesaler']['id']}/wallet")
    assert shown.status_code == 200 and shown.json()["client_secret_set"] is True
    assert wallets["one"].client_secret not in shown.text
    assert world["p_at_a"].get(f"/v1/partners/{world['wholesaler']['id']}/wallet").status_code == 403
    for network in (a, b):
        logs = "".join(path.read_text(errors="replace") for path in network.network.log_dir.glob("*.log"))
        for wallet in (wallets["one"], wallets["two"]):
            assert wallet.client_secret not in logs
            assert not any(token in logs for token in wallet.tokens)


def test_an_admin_deletes_a_partners_wallet_and_its_questions_then_go_without_a_presentation(
    world: dict[str, Any], a: RunningNetwork, wallets: dict[str, Any]
) -> None:
    leaving, l_at_a = a.add_partner(["wholesaler"])
    assert a.admin.put(f"/v1/partners/{leaving['id']}/wallet", json=wallet_body(wallets["one"], wallets["wholesaler"])).status_code == 200
    assert ask(l_at_a, leaving, world["gtin"], "A-1", str(uuid.uuid4())).status_code == 200
    assert l_at_a.delete(f"/v1/partners/{leaving['id']}/wallet").status_code == 403  # admins only, not the partner itself
    assert a.admin.delete(f"/v1/partners/{leaving['id']}/wallet").status_code == 204
    assert l_at_a.get(f"/v1/partners/{leaving['id']}/wallet").status_code == 404
    corr = str(uuid.uuid4())
    refused = ask(l_at_a, leaving, world["gtin"], "A-1", corr)  # B requires a presentation from A's network
    assert refused.status_code == 403 and "requires an ATP presentation" in refused.text
    assert [e["action"] for e in a.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]] == []
    again = a.admin.delete(f"/v1/partners/{leaving['id']}/wallet")
    assert again.status_code == 404 and again.json()["code"] == "wallet.not_found"


def test_a_network_taking_presentations_in_the_body_gets_them_as_a_query_parameter_and_answers_with_ours_in_the_signed_body(
    a: RunningNetwork, b: RunningNetwork, wallets: dict[str, Any], world: dict[str, Any]
) -> None:
    manufacturer, m_at_b = b.add_partner(["manufacturer"])
    gtin = gtin_under(manufacturer["company_prefixes"][0])
    assert m_at_b.put(f"/v1/products/{gtin}", json={"name": "ATP body 5 mg"}).status_code == 201
    packs = [{"gtin": gtin, "serial": "B-1", "lot": LOT, "expiry": EXPIRY}]
    assert m_at_b.post("/v1/packs/commission", json={"packs": packs}).status_code == 200
    a_at_b, a_asks_b = b.add_partner(["network"])
    body_wallet = {**wallet_body(wallets["one"], wallets["network-a"], "required"), "inbound_carriage": "body"}
    put = b.admin.put(f"/v1/partners/{a_at_b['id']}/wallet", json=body_wallet)
    assert put.status_code == 200 and put.json()["inbound_carriage"] == "body"
    wrong = b.admin.put(f"/v1/partners/{a_at_b['id']}/wallet", json={**body_wallet, "inbound_carriage": "cookie"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "inbound_carriage"
    profile = {"url": b.url, "auth": {"scheme": "bearer", "token": a_at_b["token"]}, "deadline_seconds": 2, "atp": {"carriage": "body"}}
    assert a.admin.put("/v1/directory/networks/network-b-body", json=profile).status_code == 201
    route = {"route": "remote", "network": "network-b-body", "responder_gln": manufacturer["glns"][0]}
    assert a.admin.put(f"/v1/directory/gtins/{gtin}", json=route).status_code == 201
    corr = str(uuid.uuid4())
    answer = ask(world["w_at_a"], world["wholesaler"], gtin, "B-1", corr)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}
    assert answer.json()["ATP-Presentation"].count(".") == 2  # B's presentation, inside the body B signed
    at_b = b.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]
    assert sorted((e["action"], e["outcome"]) for e in at_b) == [("generate", "ok"), ("verify", "ok")]
    at_a = a.admin.get("/v1/credentials/audit", params={"corrUUID": corr}).json()["entries"]
    assert [(e["action"], e["outcome"]) for e in at_a] == [("generate", "ok"), ("verify", "ok")]
    # A presentation in the header is not where this sender's is read: as good as none.
    params = {"exp": EXPIRY, "linkType": "verificationService", "reqGLN": a_at_b["glns"][0], "corrUUID": str(uuid.uuid4())}
    refused = a_asks_b.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/B-1", params=params, headers={"ATP-Presentation": "x.y.z"})
    assert refused.status_code == 403 and "requires an ATP presentation" in refused.text
