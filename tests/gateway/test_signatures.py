"""Live verdicts verify with an independent RFC 9421 implementation and the served JWKS only."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import InvalidSignature

from verinet.network import with_check_digit


class JwksResolver(HTTPSignatureKeyResolver):
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.keys = {key["kid"]: key for key in jwks["keys"]}

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        jwk = self.keys[key_id]
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)


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
    return HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=JwksResolver(jwks))


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
