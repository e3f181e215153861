"""Secrets never reach logs, error answers or metrics.

A fresh network (DEBUG logs, so every line any level could write is written) goes through a
realistic day: partners, products, commissioning, LMS questions, pack operations with an
alert, a revoked and a forged token, throttled sign-ins, a directory entry with a remote
credential, webhook subscriptions receiving a recall and a drill, acknowledgements, reports
and the audit chain. Then every line of every service log (``data_dir/logs/*.log``), every
error answer the flow received and ``/metrics`` are searched for every token, the signing key
material (the PEM body of ``data_dir/keys/*.pem`` and its raw private key in hex and base64url)
and the directory credential.

Webhooks carry no shared secret in verinet (each POST is signed with the verifier's Ed25519
key, published in the JWKS), so the signing key stands for the webhook secret here.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from tests.conftest import Client, RunningNetwork, start_network, wait_for
from tests.webhook_receiver import WebhookReceiver
from verinet.network import with_check_digit

LOT, EXPIRY = "SEC1", "301231"
FAST_WEBHOOKS = {
    "NOTIFY_BACKOFF_BASE_SECONDS": "0.05",
    "NOTIFY_BACKOFF_MAX_SECONDS": "0.2",
    "NOTIFY_MAX_ATTEMPTS": "3",
    "NOTIFY_DELIVERY_TIMEOUT_SECONDS": "1",
    "NOTIFY_POLL_SECONDS": "0.05",
}
CREDENTIAL = "rc_s3cr3t-remote-network-credential-0123456789"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    import os

    previous = os.environ.get("LOG_LEVEL")
    os.environ["LOG_LEVEL"] = "DEBUG"  # Network.service_env passes it on
    try:
        env = {**FAST_WEBHOOKS, "AUTH_FAILURES_PER_MINUTE": "5"}
        started = start_network(tmp_path_factory.mktemp("secrets"), extra_env=env)
    finally:
        if previous is None:
            os.environ.pop("LOG_LEVEL", None)
        else:
            os.environ["LOG_LEVEL"] = previous
    try:
        yield RunningNetwork(started)
    finally:
        started.stop()


class Recorder:
    """Wraps partners' clients to keep every error answer the flow receives."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def keep(self, answer: requests.Response) -> requests.Response:
        if answer.status_code >= 400:
            self.errors.append(f"{answer.status_code} {answer.headers} {answer.text}")
        return answer


@pytest.fixture(scope="module")
def day(network: RunningNetwork) -> dict[str, Any]:
    """Runs the flow once; answers the secrets it used and the error answers it got."""
    seen = Recorder()
    tokens: list[str] = [network.network.info["admin_token"]]

    def partner(roles: list[str]) -> tuple[dict[str, Any], Client]:
        created, client = network.add_partner(roles)
        tokens.append(created["token"])
        return created, client

    manufacturer, mfr = partner(["manufacturer"])
    wholesaler, whs = partner(["wholesaler"])
    pharmacy, phx = partner(["dispenser"])
    _, other_pharmacy = partner(["dispenser"])
    _, relay = partner(["network"])
    doomed, doomed_client = partner(["wholesaler"])

    prefix = manufacturer["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "1".rjust(12 - len(prefix), "0"))
    assert seen.keep(mfr.put(f"/v1/products/{gtin}", json={"name": "Secret-free tablets"})).status_code == 201
    day0 = dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC)
    packs = [
        {"gtin": gtin, "serial": f"S{n:04d}", "lot": LOT, "expiry": EXPIRY, "line": "L3", "commissioned_at": (day0 + dt.timedelta(minutes=n)).isoformat()}
        for n in range(200)
    ]
    assert seen.keep(mfr.post("/v1/packs/commission", json={"packs": packs})).json()["stored"] == 200
    ndjson = "\n".join(f'{{"gtin":"{gtin}","serial":"N{n}","lot":"{LOT}","expiry":"{EXPIRY}"}}' for n in range(20))
    seen.keep(mfr.post("/v1/packs/commission", data=ndjson, headers={"Content-Type": "application/x-ndjson"}))
    seen.keep(mfr.post("/v1/packs/commission", json={"packs": [{**packs[0], "lot": "OTHER"}]}))  # a conflict

    # LMS: known, unknown, malformed, numeric Digital Link, connectivity, a relaying network
    gln = wholesaler["glns"][0]
    lms = {"exp": EXPIRY, "linkType": "verificationService", "reqGLN": gln, "corrUUID": "21EC2020-3AEA-4069-A2DD-08002B30309D"}
    assert seen.keep(whs.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/S0001", params=lms)).status_code == 200
    seen.keep(whs.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/NOPE", params=lms))
    seen.keep(whs.get(f"/verify/gtin/{gtin[:-1]}9/lot/{LOT}/ser/S0001", params=lms))
    seen.keep(whs.get(f"/01/{gtin}/10/{LOT}/21/S0002", params={"17": EXPIRY, "linkType": "verificationService", "reqGLN": gln}))
    seen.keep(whs.get("/checkConnectivity", params={"gtin": gtin, "reqGLN": gln}))
    seen.keep(relay.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/S0003", params={**lms, "reqGLN": pharmacy["glns"][0]}))
    seen.keep(whs.get(f"/verify/gtin/{gtin}/lot/{LOT}/ser/S0001", params={**lms, "reqGLN": pharmacy["glns"][0]}))  # not its GLN

    # EU FMD pack operations: verify, dispense, a double dispense (alert), undo, bulk
    pack = {"gtin": gtin, "serial": "S0010", "lot": LOT, "expiry": EXPIRY}
    seen.keep(phx.post("/v1/packs/verify", json={"packs": [pack]}))
    seen.keep(phx.post("/v1/packs/decommission", json={"packs": [pack], "state": "supplied", "transaction_id": "till-1-0001"}))
    seen.keep(phx.post("/v1/packs/decommission", json={"packs": [pack], "state": "destroyed", "transaction_id": "till-1-0001"}))  # reused id
    alert = seen.keep(other_pharmacy.post("/v1/packs/decommission", json={"packs": [pack], "state": "supplied"})).json()["results"][0]
    seen.keep(phx.post("/v1/packs/reactivate", json={"packs": [pack]}))
    seen.keep(whs.post("/v1/packs/decommission", json={"packs": [{"scan": f"]d201{gtin}17{EXPIRY}10{LOT}\x1d21S{n:04d}"} for n in range(20, 60)], "state": "supplied"}))
    seen.keep(whs.post("/v1/packs/verify", json={"packs": [{"uri": f"https://id.gs1.org/01/{gtin}/10/{LOT}/21/S0061?17={EXPIRY}"}]}))
    seen.keep(mfr.get("/v1/alerts", params={"gtin": gtin}))
    seen.keep(mfr.post(f"/v1/alerts/{alert['alert_id']}/close", json={"reason": "06b End User - technical error"}))
    seen.keep(whs.post("/v1/identifiers/parse", json={"data": f"01{gtin}21S0001"}))
    # an input that crashed a handler when written (a list as state): the traceback path is logged
    seen.keep(whs.post("/v1/packs/decommission", json={"packs": [pack], "state": ["supplied"]}))

    # Tokens gone bad: revoked, forged, malformed; the sign-in throttle
    assert seen.keep(network.admin.post(f"/v1/partners/{doomed['id']}/revoke")).status_code == 200
    assert seen.keep(doomed_client.get("/v1/partners/me")).status_code == 401
    forged = "vn_" + base64.urlsafe_b64encode(b"forged token that looks real!!").decode().rstrip("=")
    tokens.append(forged)
    for _ in range(8):
        seen.keep(network.client(forged).get("/v1/partners/me"))
    seen.keep(requests.get(network.url + "/v1/partners/me", headers={"Authorization": f"Basic {forged}"}, timeout=30))
    seen.keep(requests.get(network.url + "/v1/partners/me", headers={"Authorization": f"Bearer {doomed['token']} extra"}, timeout=30))

    # Directory: a remote route with its credential, read back
    seen.keep(network.admin.put("/v1/directory/prefixes/0999999", json={"route": "remote", "url": "https://127.0.0.1:9", "responder_gln": gln, "credential": CREDENTIAL}))
    directory = seen.keep(network.admin.get("/v1/directory/prefixes/0999999"))
    # a credential put in the URL, where it does not belong
    in_url = network.admin.put("/v1/directory/prefixes/0999998", json={"route": "remote", "url": f"https://user:{CREDENTIAL}@127.0.0.1:9"})

    # Recalls with webhooks to a receiver here
    with WebhookReceiver(network.url + "/.well-known/jwks.json") as receiver:
        for name, (client, events) in {
            "whs": (whs, ["recall.published", "recall.updated", "recall.closed", "recall.drill"]),
            "phx": (phx, ["recall.published", "recall.drill"]),
            "mfr": (mfr, ["recall.published"]),
        }.items():
            assert seen.keep(client.put(f"/v1/subscriptions/{name}", json={"url": receiver.url(name), "events": events})).status_code == 201
        seen.keep(whs.get("/v1/subscriptions"))
        drill = seen.keep(mfr.post("/v1/recalls", json={"gtins": [gtin], "lots": [LOT], "class": "III", "reason": "drill", "mock": True})).json()
        recall = seen.keep(mfr.post("/v1/recalls", json={"gtins": [gtin], "units": [{"gtin": gtin, "serial": f"S{n:04d}"} for n in range(20, 30)], "class": "II", "reason": "stability", "depth": "retail"})).json()
        seen.keep(mfr.post(f"/v1/recalls/{recall['id']}/extend", json={"gtins": [gtin], "line": "L3", "window": {"start": day0.isoformat(), "end": (day0 + dt.timedelta(minutes=5)).isoformat()}}))
        wait_for(lambda: len(receiver.received["whs"]) >= 2)
        seen.keep(whs.get("/v1/recall-tasks"))
        seen.keep(whs.post(f"/v1/recalls/{recall['id']}/acknowledgements", json={"action": "quarantined", "units": [{"gtin": gtin, "serial": "S0020"}]}))
        seen.keep(whs.get(f"/v1/recalls/{recall['id']}/deliveries"))
        seen.keep(mfr.get(f"/v1/recalls/{recall['id']}"))
        seen.keep(mfr.get(f"/v1/recalls/{recall['id']}/report", params={"format": "csv"}))
        seen.keep(mfr.get(f"/v1/recalls/{drill['id']}/deliveries"))
        seen.keep(mfr.post(f"/v1/recalls/{recall['id']}/close", json={"reason": "effectiveness check done"}))
        wait_for(lambda: len(receiver.received["whs"]) >= 3)
        deliveries = [d for name in receiver.received for d in receiver.received[name]]
    assert deliveries and all(d["error"] is None for d in deliveries)

    seen.keep(mfr.get(f"/v1/packs/{gtin}/S0020/history"))
    seen.keep(mfr.get("/v1/audit", params={"gtin": gtin}))
    assert seen.keep(network.admin.post("/v1/audit/verify")).json()["ok"] is True
    seen.keep(network.admin.get("/v1/partners"))
    return {"tokens": tokens, "errors": seen.errors, "directory": directory.text, "credential_in_url": in_url}


def key_material(key_dir: Path) -> list[str]:
    """Every form the signing keys could leak in: PEM body lines, raw private key bytes."""
    pieces: list[str] = []
    pems = sorted(key_dir.glob("*.pem"))
    assert pems, f"no signing key under {key_dir}"
    for pem in pems:
        text = pem.read_text()
        body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
        pieces.append(body)
        pieces += [line for line in text.splitlines() if len(line) >= 24 and not line.startswith("-----")]
        key = serialization.load_pem_private_key(text.encode(), password=None)
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        pieces += [raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode().rstrip("=")]
    return pieces


def secrets_of(network: RunningNetwork, day: dict[str, Any]) -> dict[str, str]:
    found = {f"token {t[:6]}...": t for t in day["tokens"]}
    for name, key_dir in (("verdict", network.network.key_dir), ("webhook", network.network.webhook_key_dir)):
        found.update({f"{name} key material {n}": piece for n, piece in enumerate(key_material(key_dir))})
    found["directory credential"] = CREDENTIAL
    return found


def test_the_flow_exercised_every_service_and_their_logs_are_there(network: RunningNetwork, day: dict[str, Any]) -> None:
    logs = {path.stem: path.read_text() for path in network.network.log_dir.glob("*.log")}
    assert set(logs) >= {"gateway", "verifier", "lookup", "recall-status"}
    assert all(logs[name] for name in ("gateway", "verifier", "lookup", "recall-status"))
    assert len(day["tokens"]) >= 8 and day["errors"]


def test_no_log_line_of_any_service_holds_a_token_a_key_or_a_credential(network: RunningNetwork, day: dict[str, Any]) -> None:
    leaks = []
    for path in sorted(network.network.log_dir.glob("*.log")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for name, secret in secrets_of(network, day).items():
                if secret in line:
                    leaks.append(f"{path.name}:{number}: {name}: {line[:300]}")
    redis_log = network.network.data_dir / "redis" / "redis.log"
    if redis_log.exists():
        text = redis_log.read_text(errors="replace")
        leaks += [f"redis.log: {name}" for name, secret in secrets_of(network, day).items() if secret in text]
    assert leaks == []


def test_no_error_answer_holds_a_token_a_key_or_a_credential(network: RunningNetwork, day: dict[str, Any]) -> None:
    leaks = [
        f"{name} in: {error[:300]}"
        for error in day["errors"]
        for name, secret in secrets_of(network, day).items()
        if secret in error
    ]
    assert leaks == []


def test_metrics_hold_no_token_key_or_credential(network: RunningNetwork, day: dict[str, Any]) -> None:
    metrics = requests.get(network.url + "/metrics", timeout=30)
    assert metrics.status_code == 200
    assert "verinet_http_responses_total" in metrics.text
    leaks = [name for name, secret in secrets_of(network, day).items() if secret in metrics.text]
    assert leaks == []
    # labels are routes and codes, never raw paths or header values
    for label in re.findall(r'route="([^"]*)"', metrics.text):
        assert label.startswith("/") and "vn_" not in label


def test_a_directory_entry_never_shows_its_credential(day: dict[str, Any]) -> None:
    assert CREDENTIAL not in day["directory"]


def test_a_refused_directory_url_is_not_echoed_with_its_credential(day: dict[str, Any]) -> None:
    answer = day["credential_in_url"]
    assert answer.status_code == 400
    assert CREDENTIAL not in answer.text


def test_an_oversized_authorization_header_does_not_put_its_token_in_the_logs(network: RunningNetwork, day: dict[str, Any]) -> None:
    import socket

    _, client = network.add_partner(["dispenser"])  # a token of its own, so the leak stays out of the tests above
    token = client.token or ""
    port = int(network.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /v1/partners/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() + b" " + b"p" * 9000 + b"\r\n\r\n")
        sock.recv(1000)
    wait_for(lambda: "LineTooLong" in (network.network.log_dir / "gateway.log").read_text(), timeout=10)
    assert token not in (network.network.log_dir / "gateway.log").read_text()
