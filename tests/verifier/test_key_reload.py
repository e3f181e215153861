"""A signing key added to the verifier's key directory signs verdicts without a restart, and
the key before it stays published, so earlier answers still verify."""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from tests.conftest import RunningNetwork
from verinet.network import with_check_digit
from verinet.signing import KeyRing

#: The verifier looks at its key directory every 5 s.
RELOAD_SECONDS = 20.0


def keyid_of(answer: requests.Response) -> str:
    match = re.search(r'keyid="([^"]+)"', answer.headers.get("Signature-Input", ""))
    assert match, f"unsigned answer: {answer.status_code} {answer.headers}"
    return match.group(1)


def test_a_rotated_key_signs_verdicts_without_a_restart(network: RunningNetwork) -> None:
    manufacturer, maker = network.add_partner(["manufacturer"])
    dispenser, pharmacy = network.add_partner(["dispenser"])
    gtin = with_check_digit("0" + manufacturer["company_prefixes"][0] + "00001")
    assert maker.put(f"/v1/products/{gtin}", json={"name": "reload"}).status_code in (200, 201)
    pack = {"gtin": gtin, "serial": "KEY1", "lot": "L1", "expiry": "301231"}
    assert maker.post("/v1/packs/commission", json={"packs": [pack]}).status_code == 200

    def verify() -> requests.Response:
        answer = pharmacy.get(
            f"/verify/gtin/{gtin}/lot/L1/ser/KEY1",
            params={"exp": "301231", "linkType": "verificationService", "context": "dscsaSaleableReturn", "reqGLN": dispenser["glns"][0]},
        )
        assert answer.status_code == 200, answer.text
        return answer

    before = keyid_of(verify())
    key_dir = network.network.key_dir
    rotated = KeyRing.rotate(key_dir)
    assert rotated != before
    deadline = time.monotonic() + RELOAD_SECONDS
    now_signing = keyid_of(verify())
    while now_signing != rotated and time.monotonic() < deadline:
        time.sleep(0.5)
        now_signing = keyid_of(verify())
    assert now_signing == rotated
    published = published_kids(network)
    assert {before, rotated} <= published


def published_kids(network: RunningNetwork) -> set[str]:
    """The kids of the JWKS (the gateway caches it for a minute: ask until it shows both)."""
    deadline = time.monotonic() + 90
    kids: set[str] = set()
    while time.monotonic() < deadline:
        jwks: dict[str, Any] = requests.get(network.url + "/.well-known/jwks.json", timeout=10).json()
        kids = {key["kid"] for key in jwks["keys"]}
        if len(kids) >= 2:
            break
        time.sleep(1)
    return kids
