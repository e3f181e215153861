"""Live verdicts verify with an independent RFC 9421 implementation and the served JWKS only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from http_message_signatures import HTTPMessageVerifier
from http_message_signatures.exceptions import InvalidSignature

from tests.signatures import jwks_verifier
from verinet.network import with_check_digit


@pytest.fixture(scope="module")
def live_answer(network: Any) -> requests.Response:
    manufacturer, mclient = network.add_partner(["manufacturer"])
    _, wclient = network.add_partner(["wholesaler"])
    prefix = manufacturer["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "1".rjust(12 - len(prefix), "0"))
    mclient.put(f"/v1/products/{gtin}", json={})
    mclient.post("/v1/packs/commission", json={"packs": [{"gtin": gtin, "serial": "X1", "lot": "L", "expiry": "300101"}]})
    me = wclient.get("/v1/partners/me").json()
    answer = wclient.get(
        f"/verify/gtin/{gtin}/lot/L/ser/X1",
        params={"exp": "300101", "linkType": "verificationService", "reqGLN": me["glns"][0]},
    )
    assert answer.status_code == 200
    return answer


def verifier_for(network: Any) -> HTTPMessageVerifier:
    jwks = requests.get(network.url + "/.well-known/jwks.json", timeout=10).json()
    return jwks_verifier(jwks)


def test_a_live_verdict_verifies_with_http_message_signatures_and_the_jwks(network: Any, live_answer: requests.Response) -> None:
    results = verifier_for(network).verify(
        live_answer,
        body=live_answer.content,
        require_components=("@status", "content-type", "content-digest"),
    )
    assert len(results) == 1
    assert results[0].parameters["keyid"] in live_answer.headers["Signature-Input"]


def test_a_tampered_body_fails_verification(network: Any, live_answer: requests.Response) -> None:
    tampered = copy.copy(live_answer)
    tampered._content = live_answer.content.replace(b'"verified":true', b'"verified":false')
    assert tampered.content != live_answer.content
    with pytest.raises(InvalidSignature):
        verifier_for(network).verify(tampered, body=tampered.content)
