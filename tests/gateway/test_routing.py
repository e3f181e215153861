"""Routing between two complete verinet networks, A and B (separate Redis, separate keys).

B hosts manufacturer M; A's directory routes M's company prefix to B with a network-role token
of B as credential. A wholesaler of A asks A and gets B's verdicts, signed by A as the routing
network and carrying B's own signature. Faults are played by a real HTTP server written for the
test (tests/lookup/fake_remote.py): each gives its status within the per-hop deadline plus a
margin, and never a verdict.
"""

from __future__ import annotations

import base64
import copy
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms

from tests.conftest import Client, RunningNetwork, gtin_under, own_network
from tests.gateway.lms_load import Question, ask_concurrently, ask_one_by_one, batch_sizes
from tests.gateway.lms_mismatches import no_match_questions
from tests.lookup.fake_remote import FAKE_GLN, FakeRemote, serving_in_thread
from verinet.embedded_redis import free_port
from verinet.network import with_check_digit

FORWARD_TIMEOUT = 0.6  # lookup's default per-hop deadline
MARGIN = 1.5  # a busy 2-core machine
BREAKER_FAILURES = 3
BREAKER_OPEN_SECONDS = 1.5
LOT, EXPIRY = "LOT-R1", "301231"
CORR = "21EC2020-3AEA-4069-A2DD-08002B30309D"


def verify_path(gtin: str, lot: str, serial: str) -> str:
    return f"/verify/gtin/{gtin}/lot/{quote(lot, safe='')}/ser/{quote(serial, safe='')}"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRemote]:
    with serving_in_thread() as remote:
        yield remote


a = own_network(BREAKER_FAILURES=str(BREAKER_FAILURES), BREAKER_OPEN_SECONDS=str(BREAKER_OPEN_SECONDS))
b = own_network()


@pytest.fixture(scope="module")
def world(a: RunningNetwork, b: RunningNetwork) -> dict[str, Any]:
    """M at B with commissioned packs (one lot later recalled); M's prefix routed A -> B."""
    packs = [("R-1", LOT, EXPIRY), ("R-2", "LOT-RECALL", EXPIRY)]
    manufacturer, m_at_b, gtin = b.add_product_with_packs(packs, name="Routed 5 mg")
    prefix = manufacturer["company_prefixes"][0]
    a_at_b, _ = b.add_partner(["network"])
    put = a.admin.put(
        f"/v1/directory/prefixes/{prefix}",
        json={"route": "remote", "url": b.url, "responder_gln": manufacturer["glns"][0], "credential": a_at_b["token"]},
    )
    assert put.status_code == 201, put.text
    assert "credential" not in put.json() and put.json()["credential_set"] is True
    wholesaler, w_at_a = a.add_partner(["wholesaler"])
    _, w_at_b = b.add_partner(["wholesaler"], glns=wholesaler["glns"])
    return {
        "prefix": prefix,
        "gtin": gtin,
        "manufacturer": manufacturer,
        "m_at_b": m_at_b,
        "gln": wholesaler["glns"][0],
        "w_at_a": w_at_a,
        "w_at_b": w_at_b,
        "a_network_token_at_b": a_at_b["token"],
    }


def lms_query(world: dict[str, Any], exp: str = EXPIRY, **extra: str) -> dict[str, str]:
    return {"exp": exp, "linkType": "verificationService", "context": "dscsaSaleableReturn", "reqGLN": world["gln"], **extra}


def ask(client: Client, world: dict[str, Any], gtin: str, serial: str, lot: str = LOT, exp: str = EXPIRY, **extra: str) -> requests.Response:
    return client.get(verify_path(gtin, lot, serial), params=lms_query(world, exp, **extra))


def remote_route(a: RunningNetwork, prefix: str, url: str, credential: str = "cred", gln: str = FAKE_GLN) -> None:
    answer = a.admin.put(f"/v1/directory/prefixes/{prefix}", json={"route": "remote", "url": url, "responder_gln": gln, "credential": credential})
    assert answer.status_code in (200, 201), answer.text


_fault_prefixes = iter(range(7700001, 7799999))


def fault_gtin(a: RunningNetwork, url: str) -> str:
    """A GTIN under a fresh prefix that A routes to ``url`` (each with its own breaker)."""
    prefix = str(next(_fault_prefixes))
    remote_route(a, prefix, url)
    return gtin_under(prefix)


# -- verdicts through A --------------------------------------------------------------------------


def test_a_wholesaler_of_a_gets_the_verdict_of_b_for_a_pack_b_hosts(world: dict[str, Any], b: RunningNetwork) -> None:
    answer = ask(world["w_at_a"], world, world["gtin"], "R-1", corrUUID=CORR)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"] == {"verified": True}
    assert body["responderGLN"] == world["manufacturer"]["glns"][0]
    assert body["corrUUID"] == CORR
    assert answer.headers["Verinet-Responder-Network"] == b.url
    assert answer.headers["Verinet-Responder-GLN"] == world["manufacturer"]["glns"][0]
    for header in ("Remote-Signature", "Remote-Signature-Input", "Remote-Content-Digest", "Signature", "Signature-Input"):
        assert header in answer.headers


@pytest.mark.parametrize(("serial", "lot", "exp", "reason"), no_match_questions("R-1", LOT, EXPIRY, "301130"))
def test_each_no_match_reason_of_b_reaches_the_wholesaler_of_a_unchanged(
    world: dict[str, Any], serial: str, lot: str, exp: str, reason: str
) -> None:
    through_a = ask(world["w_at_a"], world, world["gtin"], serial, lot=lot, exp=exp, corrUUID="c-2")
    direct = ask(world["w_at_b"], world, world["gtin"], serial, lot=lot, exp=exp, corrUUID="c-2")
    assert through_a.status_code == direct.status_code == 200, through_a.text
    assert through_a.json()["data"] == direct.json()["data"] == {"verified": False, "verificationFailureReason": reason}
    assert through_a.json()["responderGLN"] == direct.json()["responderGLN"]


def test_a_lot_recalled_at_b_reads_recalled_through_a(world: dict[str, Any]) -> None:
    recall = world["m_at_b"].post("/v1/recalls", json={"gtins": [world["gtin"]], "lots": ["LOT-RECALL"], "class": "II", "reason": "routing test"})
    assert recall.status_code == 201, recall.text
    answer = ask(world["w_at_a"], world, world["gtin"], "R-2", lot="LOT-RECALL")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True, "additionalInfo": "Recalled"}


def test_the_numeric_digital_link_form_is_forwarded_with_its_expiry_as_exp(world: dict[str, Any]) -> None:
    query = lms_query(world)
    query["17"] = query.pop("exp")
    answer = world["w_at_a"].get(f"/01/{world['gtin']}/10/{LOT}/21/R-1", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}


def test_a_gtin_neither_network_knows_is_404(world: dict[str, Any]) -> None:
    unknown_everywhere = gtin_under("7999999")
    answer = ask(world["w_at_a"], world, unknown_everywhere, "S-1")
    assert answer.status_code == 404
    assert "No route" in answer.text
    # routed to B by M's prefix, but B has no product under it: B's 404 passes through A
    unregistered = gtin_under(world["prefix"], 99)
    answer = ask(world["w_at_a"], world, unregistered, "S-1")
    assert answer.status_code == 404, answer.text
    assert answer.headers["Verinet-Responder-Network"]
    assert answer.headers.get("Content-Type", "").startswith("text/plain")


class JwksResolver(HTTPSignatureKeyResolver):
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.keys = {key["kid"]: key for key in jwks["keys"]}

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        jwk = self.keys[key_id]
        return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4)))


def verifier_for(network: RunningNetwork) -> HTTPMessageVerifier:
    jwks = requests.get(network.url + "/.well-known/jwks.json", timeout=10).json()
    return HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=JwksResolver(jwks))


def as_sent_by_the_remote(answer: requests.Response) -> requests.Response:
    """The response as B sent it: its own signature headers under their own names."""
    original = copy.copy(answer)
    original.headers = copy.copy(answer.headers)
    for name in ("Signature", "Signature-Input", "Content-Digest", "Content-Type"):
        original.headers[name] = answer.headers[f"Remote-{name}"]
    return original


def test_both_signatures_verify_a_over_the_relayed_answer_and_b_over_its_own(
    world: dict[str, Any], a: RunningNetwork, b: RunningNetwork
) -> None:
    answer = ask(world["w_at_a"], world, world["gtin"], "R-1", corrUUID=CORR)
    assert answer.status_code == 200
    a_result = verifier_for(a).verify(answer, body=answer.content, require_components=("@status", "content-type", "content-digest", "verinet-responder-network", "remote-signature"))
    assert len(a_result) == 1
    b_result = verifier_for(b).verify(as_sent_by_the_remote(answer), body=answer.content, require_components=("@status", "content-type", "content-digest"))
    assert len(b_result) == 1
    assert a_result[0].parameters["keyid"] != b_result[0].parameters["keyid"]
    # B's signature does not verify with A's keys, nor A's with B's
    with pytest.raises(Exception):  # noqa: B017 - the library raises KeyError or InvalidSignature
        verifier_for(a).verify(as_sent_by_the_remote(answer), body=answer.content)


def test_a_tampered_relayed_body_fails_both_signatures(world: dict[str, Any], a: RunningNetwork, b: RunningNetwork) -> None:
    answer = ask(world["w_at_a"], world, world["gtin"], "R-1")
    tampered = copy.copy(answer)
    tampered._content = answer.content.replace(b'"verified":true', b'"verified":false')
    with pytest.raises(Exception):  # noqa: B017
        verifier_for(a).verify(tampered, body=tampered.content)
    with pytest.raises(Exception):  # noqa: B017
        verifier_for(b).verify(as_sent_by_the_remote(tampered), body=tampered.content)


def test_check_connectivity_for_a_remote_gtin_asks_b_and_reports_its_responder_gln(world: dict[str, Any], b: RunningNetwork) -> None:
    answer = world["w_at_a"].get("/checkConnectivity", params={"gtin": world["gtin"], "reqGLN": world["gln"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"responderGLN": world["manufacturer"]["glns"][0]}
    assert answer.headers["Verinet-Responder-Network"] == b.url
    assert "Remote-Signature" in answer.headers  # B's own answer, passed on unchanged


def test_check_connectivity_reports_the_directory_gln_when_the_remote_answers_without_a_body(
    world: dict[str, Any], a: RunningNetwork, fake: FakeRemote
) -> None:
    gtin = fault_gtin(a, fake.url("ok"))
    answer = world["w_at_a"].get("/checkConnectivity", params={"gtin": gtin, "reqGLN": world["gln"], "corrUUID": "x"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"responderGLN": FAKE_GLN}
    seen = fake.seen("ok")[-1]
    assert seen.path == "/ok/checkConnectivity"
    assert seen.query == {"gtin": gtin, "reqGLN": world["gln"], "corrUUID": "x"}


def test_every_lms_parameter_and_the_credential_reach_the_remote_network(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    gtin = fault_gtin(a, fake.url("ok"))
    extra = {"corrUUID": CORR, "ctrlPossessAtt": "true", "email": "qa@example.com", "telephone": "+1 555 0100"}
    answer = ask(world["w_at_a"], world, gtin, "S/1%&", lot="A1/B2", **extra)
    assert answer.status_code == 200, answer.text
    seen = fake.seen("ok")[-1]
    assert seen.path == f"/ok/verify/gtin/{gtin}/lot/A1/B2/ser/S/1%&"  # percent-decoded by the server
    assert seen.query == lms_query(world, **extra)
    assert seen.headers["Authorization"] == "Bearer cred"
    assert seen.headers["GS1US-Version"] == "1.3.0"
    assert seen.headers["Via"] == "1.1 verinet"
    assert answer.json()["corrUUID"] == CORR
    assert "Remote-Signature" not in answer.headers  # the fake remote does not sign


# -- loops ---------------------------------------------------------------------------------------


def test_a_network_partner_is_answered_only_for_gtins_the_network_hosts(
    world: dict[str, Any], a: RunningNetwork, b: RunningNetwork, fake: FakeRemote
) -> None:
    network_partner = b.client(world["a_network_token_at_b"])
    hosted = ask(network_partner, world, world["gtin"], "R-1")
    assert hosted.status_code == 200
    routed_elsewhere = str(next(_fault_prefixes))
    answer = b.admin.put(f"/v1/directory/prefixes/{routed_elsewhere}", json={"route": "remote", "url": fake.url("ok"), "responder_gln": FAKE_GLN})
    assert answer.status_code == 201
    before = fake.hits["ok"]
    refused = ask(network_partner, world, gtin_under(routed_elsewhere), "S-1")
    assert refused.status_code == 404
    assert "not hosted by this network" in refused.text
    connectivity = network_partner.get("/checkConnectivity", params={"gtin": gtin_under(routed_elsewhere), "reqGLN": world["gln"]})
    assert connectivity.status_code == 404
    assert fake.hits["ok"] == before, "a question from another network must never be forwarded"


def test_a_loop_between_two_networks_is_refused(world: dict[str, Any], a: RunningNetwork, b: RunningNetwork) -> None:
    prefix = str(next(_fault_prefixes))
    b_at_a, _ = a.add_partner(["network"])
    a_at_b, _ = b.add_partner(["network"])
    remote_route(a, prefix, b.url, credential=a_at_b["token"])
    remote_route(b, prefix, a.url, credential=b_at_a["token"])
    started = time.monotonic()
    answer = ask(world["w_at_a"], world, gtin_under(prefix), "S-1")
    assert answer.status_code == 404, answer.text
    assert "not hosted by this network" in answer.text
    assert answer.headers["Verinet-Responder-Network"] == b.url
    assert time.monotonic() - started < FORWARD_TIMEOUT + MARGIN


def test_a_question_relayed_by_a_verinet_is_not_forwarded_again_whatever_the_role_of_its_token(
    world: dict[str, Any], a: RunningNetwork, fake: FakeRemote
) -> None:
    gtin = fault_gtin(a, fake.url("ok"))
    before = fake.hits["ok"]
    relayed = world["w_at_a"].get(verify_path(gtin, LOT, "S-1"), params=lms_query(world), headers={"Via": "1.1 proxy.example, 1.1 verinet"})
    assert relayed.status_code == 404
    assert fake.hits["ok"] == before
    plain_proxy = world["w_at_a"].get(verify_path(gtin, LOT, "S-1"), params=lms_query(world), headers={"Via": "1.1 proxy.example"})
    assert plain_proxy.status_code == 200


# -- faults --------------------------------------------------------------------------------------


def timed(world: dict[str, Any], gtin: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    answer = ask(world["w_at_a"], world, gtin, "S-1", corrUUID="c-f")
    return answer, time.monotonic() - started


@pytest.mark.parametrize(
    ("behaviour", "status", "needle"),
    [
        ("hang", 504, "did not answer in time"),
        ("reset", 502, "unreachable"),
        ("garbage", 502, "not an LMS answer"),
        ("notlms", 502, "data.verified"),
        ("error500", 502, "answered 500"),
        ("refuse", 403, "refused the question: it answered 403 ('credential refused')"),
    ],
)
def test_a_remote_fault_gives_its_status_within_the_deadline_and_never_a_verdict(
    world: dict[str, Any], a: RunningNetwork, fake: FakeRemote, behaviour: str, status: int, needle: str
) -> None:
    gtin = fault_gtin(a, fake.url(behaviour))
    answer, elapsed = timed(world, gtin)
    assert answer.status_code == status, answer.text
    assert needle in answer.text
    assert elapsed < FORWARD_TIMEOUT + MARGIN
    assert '"verified"' not in answer.text
    if status == 403:  # the other network refused: said so, naming it, not blamed on the requestor
        assert answer.headers["Verinet-Responder-Network"] == fake.url(behaviour)
        assert "requestor's own token was accepted" in answer.text
    print(f"{behaviour}: {answer.status_code} in {elapsed * 1000:.0f} ms")


def test_a_remote_network_that_is_down_gives_502_within_the_deadline(world: dict[str, Any], a: RunningNetwork) -> None:
    gtin = fault_gtin(a, f"http://127.0.0.1:{free_port()}")
    answer, elapsed = timed(world, gtin)
    assert answer.status_code == 502, answer.text
    assert "unreachable" in answer.text and "3 attempts" in answer.text
    assert elapsed < FORWARD_TIMEOUT + MARGIN


def test_a_503_then_200_is_retried_and_the_verdict_arrives(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    gtin = fault_gtin(a, fake.url("flaky"))
    before = fake.hits["flaky"]
    answer, elapsed = timed(world, gtin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}
    assert fake.hits["flaky"] - before == 2
    assert elapsed < FORWARD_TIMEOUT + MARGIN


def test_a_hanging_remote_is_cut_at_the_per_hop_deadline(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    gtin = fault_gtin(a, fake.url("hang"))
    answer, elapsed = timed(world, gtin)
    assert answer.status_code == 504
    assert elapsed >= FORWARD_TIMEOUT * 0.9
    print(f"hanging remote: 504 after {elapsed * 1000:.0f} ms (per-hop deadline {FORWARD_TIMEOUT * 1000:.0f} ms)")


def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_half_open_probe(
    world: dict[str, Any], a: RunningNetwork, fake: FakeRemote
) -> None:
    gtin = fault_gtin(a, fake.url("switch", "breaker"))
    fake.failing.add("switch.breaker")
    for _ in range(BREAKER_FAILURES):
        answer, _ = timed(world, gtin)
        assert answer.status_code == 502 and "answered 503" in answer.text
    hits = fake.hits["switch.breaker"]
    refused, elapsed = timed(world, gtin)
    assert refused.status_code == 502
    assert "circuit breaker is open" in refused.text
    assert fake.hits["switch.breaker"] == hits, "an open circuit sends nothing"
    assert elapsed < 0.5
    fake.failing.discard("switch.breaker")
    time.sleep(BREAKER_OPEN_SECONDS + 0.1)
    probe, _ = timed(world, gtin)  # half-open: this one goes through as the probe
    assert probe.status_code == 200, probe.text
    assert fake.hits["switch.breaker"] == hits + 1
    for _ in range(3):  # closed again
        assert timed(world, gtin)[0].status_code == 200


def test_a_failed_half_open_probe_opens_the_circuit_again(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    gtin = fault_gtin(a, fake.url("hang", "breaker"))
    for _ in range(BREAKER_FAILURES):
        assert timed(world, gtin)[0].status_code == 504
    assert "circuit breaker is open" in timed(world, gtin)[0].text
    time.sleep(BREAKER_OPEN_SECONDS + 0.1)
    assert timed(world, gtin)[0].status_code == 504  # the probe hangs too
    assert "circuit breaker is open" in timed(world, gtin)[0].text


# -- route changes ------------------------------------------------------------------------------


def test_a_route_change_is_used_by_the_very_next_question(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    """Cached routes equal direct ones after every change: no waiting for a TTL."""
    prefix = str(next(_fault_prefixes))
    gtin = gtin_under(prefix)
    fake.responder_gln["ok"] = FAKE_GLN
    fake.responder_gln["other"] = with_check_digit("061414199998")
    for _ in range(3):
        remote_route(a, prefix, fake.url("ok"))
        assert ask(world["w_at_a"], world, gtin, "S-1").json()["responderGLN"] == FAKE_GLN
        assert ask(world["w_at_a"], world, gtin, "S-1").json()["responderGLN"] == FAKE_GLN  # cached
        remote_route(a, prefix, fake.url("other"), gln=fake.responder_gln["other"])
        assert ask(world["w_at_a"], world, gtin, "S-1").json()["responderGLN"] == fake.responder_gln["other"]
        assert a.admin.put(f"/v1/directory/gtins/{gtin}", json={"route": "hosted", "responder_gln": FAKE_GLN}).status_code == 201
        hosted = ask(world["w_at_a"], world, gtin, "S-1")
        assert hosted.json()["data"] == {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"}
        assert "Verinet-Responder-Network" not in hosted.headers
        assert a.admin.delete(f"/v1/directory/gtins/{gtin}").status_code == 204
        assert a.admin.delete(f"/v1/directory/prefixes/{prefix}").status_code == 204
        assert ask(world["w_at_a"], world, gtin, "S-1").status_code == 404


def test_an_expired_route_is_404_at_once(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    prefix = str(next(_fault_prefixes))
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    answer = a.admin.put(f"/v1/directory/prefixes/{prefix}", json={"route": "remote", "url": fake.url("ok"), "responder_gln": FAKE_GLN, "expires_at": expiry})
    assert answer.status_code == 201
    assert ask(world["w_at_a"], world, gtin_under(prefix), "S-1").status_code == 200
    time.sleep(2.2)
    assert ask(world["w_at_a"], world, gtin_under(prefix), "S-1").status_code == 404


# -- coalesced questions -------------------------------------------------------------------------


def question(client: Client, world: dict[str, Any], gtin: str, serial: str, lot: str = LOT, exp: str = EXPIRY, headers: dict[str, str] | None = None, **extra: str) -> Question:
    assert client.token is not None
    return Question(client.token, verify_path(gtin, lot, serial), lms_query(world, exp, **extra), headers or {})


def assert_same_answers_in_a_burst(network: RunningNetwork, questions: list[Question], repeat: int = 30) -> None:
    """Asked concurrently, every question gets the answer it gets alone, and questions
    travelled together to the verifier."""
    alone = ask_one_by_one(network.url, questions)
    before = batch_sizes(network.url)
    burst = questions * repeat
    answers = ask_concurrently(network.url, burst, concurrency=32)
    after = batch_sizes(network.url)
    for n, answer in enumerate(answers):
        assert answer == alone[n % len(questions)], f"{burst[n].path} {burst[n].params} {burst[n].headers}"
    assert (after[0] - before[0]) - (after[1] - before[1]) > 0, "some questions travelled together"


def test_concurrent_questions_through_a_get_the_answers_they_get_alone(world: dict[str, Any], a: RunningNetwork) -> None:
    """Remote questions (to B) and hosted ones (at A) mixed in batches: each as alone."""
    hosted_at_a = gtin_under(str(next(_fault_prefixes)))
    assert a.admin.put(f"/v1/directory/gtins/{hosted_at_a}", json={"route": "hosted", "responder_gln": FAKE_GLN}).status_code == 201
    w = world["w_at_a"]
    questions = [
        question(w, world, world["gtin"], "R-1", corrUUID="c-r1"),
        question(w, world, world["gtin"], "NOPE-1", corrUUID="c-nope"),
        question(w, world, world["gtin"], "R-1", lot="OTHER"),
        question(w, world, gtin_under("7999999"), "S-1"),  # no route anywhere: 404 at A
        question(w, world, gtin_under(world["prefix"], 99), "S-1"),  # routed to B, unknown there: B's 404
        question(w, world, hosted_at_a, "S-1", corrUUID="c-hosted"),
        question(w, world, hosted_at_a, "S-1", headers={"Via": "1.1 verinet"}),  # relayed, but hosted: answered
    ]
    assert_same_answers_in_a_burst(a, questions)


def test_relayed_questions_in_a_burst_are_refused_for_every_gtin_the_network_does_not_host(
    world: dict[str, Any], a: RunningNetwork, b: RunningNetwork, fake: FakeRemote
) -> None:
    routed_elsewhere = str(next(_fault_prefixes))
    assert b.admin.put(f"/v1/directory/prefixes/{routed_elsewhere}", json={"route": "remote", "url": fake.url("ok"), "responder_gln": FAKE_GLN}).status_code == 201
    remote_at_a = fault_gtin(a, fake.url("ok"))
    network_partner = b.client(world["a_network_token_at_b"])
    w = world["w_at_a"]
    before = fake.hits["ok"]
    at_b = [
        question(network_partner, world, world["gtin"], "R-1", corrUUID="c-net"),
        question(network_partner, world, gtin_under(routed_elsewhere), "S-1"),
        question(network_partner, world, gtin_under(routed_elsewhere), "S-2", corrUUID="c-2"),
    ]
    assert_same_answers_in_a_burst(b, at_b)
    at_a = [
        question(w, world, remote_at_a, "S-1", headers={"Via": "1.1 proxy.example, 1.1 verinet"}),
        question(w, world, gtin_under("7999999"), "S-1", headers={"Via": "1.1 verinet"}),
    ]
    assert_same_answers_in_a_burst(a, at_a)
    assert fake.hits["ok"] == before, "a relayed question is never forwarded, alone or in a batch"


def test_after_each_route_change_a_concurrent_burst_follows_the_new_route(world: dict[str, Any], a: RunningNetwork, fake: FakeRemote) -> None:
    prefix = str(next(_fault_prefixes))
    gtin = gtin_under(prefix)
    fake.responder_gln["ok"] = FAKE_GLN
    fake.responder_gln["other"] = with_check_digit("061414199998")
    burst = [question(world["w_at_a"], world, gtin, f"S-{n}") for n in range(60)]

    def answers() -> list[tuple[Any, ...]]:
        return ask_concurrently(a.url, burst, concurrency=32)

    def data(answer: tuple[Any, ...]) -> Any:
        return answer[3]

    for _ in range(2):
        remote_route(a, prefix, fake.url("ok"))
        assert {(x[0], x[1]) for x in answers()} == {(200, (("Content-Type", "application/json"), ("Cache-Control", "private, no-store"), ("Retry-After", None), ("Verinet-Responder-Network", fake.url("ok")), ("Verinet-Responder-GLN", FAKE_GLN)))}
        remote_route(a, prefix, fake.url("other"), gln=fake.responder_gln["other"])
        assert all(FAKE_GLN not in data(x) and fake.responder_gln["other"] in data(x) for x in answers())
        assert a.admin.put(f"/v1/directory/gtins/{gtin}", json={"route": "hosted", "responder_gln": FAKE_GLN}).status_code == 201
        hosted = answers()
        assert all(x[0] == 200 and "No_match_GTIN_Serial" in data(x) and x[1][3] == ("Verinet-Responder-Network", None) for x in hosted)
        assert a.admin.delete(f"/v1/directory/gtins/{gtin}").status_code == 204
        assert a.admin.delete(f"/v1/directory/prefixes/{prefix}").status_code == 204
        assert {x[0] for x in answers()} == {404}


# -- operators -----------------------------------------------------------------------------------


def test_directory_check_probes_every_remote_endpoint_and_reports_reachability_and_latency(
    world: dict[str, Any], a: RunningNetwork, b: RunningNetwork, fake: FakeRemote, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from verinet.cli import main

    down = f"http://127.0.0.1:{free_port()}"
    fault_gtin(a, down)
    fault_gtin(a, fake.url("refuse"))
    # a GTIN entry names a real product at B: the probe asks about it, not a made-up GTIN
    gtin_route = a.admin.put(f"/v1/directory/gtins/{world['gtin']}", json={"route": "remote", "url": b.url, "responder_gln": world["manufacturer"]["glns"][0], "credential": world["a_network_token_at_b"]})
    assert gtin_route.status_code == 201, gtin_route.text
    monkeypatch.setenv("VERINET_URL", a.url)
    monkeypatch.setenv("VERINET_TOKEN", a.network.info["admin_token"])
    code = main(["directory", "check", "--req-gln", world["gln"], "--json"])
    import json

    endpoints = {e["url"]: e for e in json.loads(capsys.readouterr().out)}
    assert code == 1  # some endpoints fail
    assert endpoints[b.url]["outcome"] == "ok", endpoints[b.url]
    assert endpoints[b.url]["reachable"] is True
    assert endpoints[b.url]["status"] == 200
    assert world["manufacturer"]["glns"][0] in endpoints[b.url]["detail"]
    assert endpoints[b.url]["latency_ms"] > 0
    assert endpoints[b.url]["auth_accepted"] is True
    assert endpoints[b.url]["lms_conformant"] is True, endpoints[b.url]  # a verinet answers in LMS 1.3
    assert f"prefix {world['prefix']}" in endpoints[b.url]["entries"]
    assert endpoints[down]["outcome"] == "unreachable" and endpoints[down]["reachable"] is False
    assert endpoints[fake.url("refuse")]["outcome"] == "refused"
    assert endpoints[fake.url("hang")]["outcome"] == "timeout"
    main(["directory", "check", "--req-gln", world["gln"]])
    text = capsys.readouterr().out
    assert f"OK          {b.url}" in text
    assert f"UNREACHABLE {down}" in text


def test_forwarding_adds_little_to_a_verification(world: dict[str, Any]) -> None:
    """Measured, loosely bounded: the suite runs on a busy machine."""
    for client in (world["w_at_a"], world["w_at_b"]):
        for _ in range(5):
            ask(client, world, world["gtin"], "R-1")

    def median_ms(client: Client) -> float:
        samples = []
        for _ in range(30):
            started = time.perf_counter()
            assert ask(client, world, world["gtin"], "R-1").status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    direct, routed = median_ms(world["w_at_b"]), median_ms(world["w_at_a"])
    print(f"median LMS verify: direct at B {direct:.1f} ms, through A {routed:.1f} ms, overhead {routed - direct:.1f} ms")
    assert routed - direct < 250


def test_a_unique_corr_uuid_comes_back_from_the_remote(world: dict[str, Any]) -> None:
    corr = str(uuid.uuid4())
    assert ask(world["w_at_a"], world, world["gtin"], "R-1", corrUUID=corr).json()["corrUUID"] == corr
