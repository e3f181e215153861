"""Where an LMS verification saw a pack reaches its history (and so a recall's locations):
sent in batches, late by at most ``PACK_EVENT_DELAY_SECONDS``, never lost on the way."""

from __future__ import annotations

import time
from typing import Any

from verinet.network import with_check_digit

LOT, EXPIRY = "EV-1", "281231"


def seen_by(manufacturer: Any, gtin: str, serial: str) -> list[dict[str, Any]]:
    answer = manufacturer.get(f"/v1/packs/{gtin}/{serial}/history")
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["events"] if e["event"] == "verification"]


def test_every_lms_verification_is_recorded_where_the_pack_was_seen_within_the_event_delay(network: Any) -> None:
    maker, mclient = network.add_partner(["manufacturer"])
    wholesaler, wclient = network.add_partner(["wholesaler"])
    prefix = maker["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "7".rjust(12 - len(prefix), "0"))
    assert mclient.put(f"/v1/products/{gtin}", json={"name": "Events 5 mg"}).status_code == 201
    serials = [f"EV-{n}" for n in range(5)]
    stored = mclient.post("/v1/packs/commission", json={"packs": [{"gtin": gtin, "serial": s, "lot": LOT, "expiry": EXPIRY} for s in serials]})
    assert stored.status_code == 200 and stored.json()["stored"] == len(serials), stored.text
    for serial in serials:  # a slow trickle: each question alone
        answer = wclient.get(
            f"/verify/gtin/{gtin}/lot/{LOT}/ser/{serial}",
            params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": wholesaler["glns"][0], "context": "dscsaSaleableReturn"},
        )
        assert answer.json()["data"] == {"verified": True}
    deadline = time.monotonic() + 5.0  # the default delay is 1 s; a busy test machine gets room
    while not all(seen_by(mclient, gtin, s) for s in serials):
        assert time.monotonic() < deadline, {s: seen_by(mclient, gtin, s) for s in serials}
        time.sleep(0.05)
    for serial in serials:
        (event,) = seen_by(mclient, gtin, serial)
        assert (event["partner"], event["gln"], event["detail"]) == (wholesaler["id"], wholesaler["glns"][0], "dscsaSaleableReturn")
