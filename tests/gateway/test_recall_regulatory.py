"""A recall a regulator accepts (issue 27): its strategy (21 CFR 7.42) and its status report
(21 CFR 7.53), over a recall whose holders are made by EPCIS custody: commissioning, packing
into cases, shipping, receiving and unpacking, and a wholesaler shipping some units on."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from tests.gateway.test_epcis import (
    Party,
    commissioning,
    document,
    new_sscc,
    new_units,
    packing,
    product_gtin,
    receiving,
    shipping,
    unpacking,
)
from tests.webhook_receiver import WebhookReceiver

NETWORK_ENV = {"NOTIFY_BACKOFF_BASE_SECONDS": "0.05", "NOTIFY_BACKOFF_MAX_SECONDS": "0.2", "NOTIFY_POLL_SECONDS": "0.05"}

STRATEGY_B = {
    "depth": "retail",
    "public_warning": True,
    "public_warning_by": "Firm press release",
    "check_level": "B",
    "check_share": 0.5,
    "external_reference": "CAPA-2026-0042",
    "contact": "Recall desk, +1 555 0100",
}


@pytest.fixture(scope="module")
def parties(network: Any) -> dict[str, Party]:
    out = {}
    for name, roles in (
        ("maker", ["manufacturer"]),
        ("w1", ["wholesaler"]),
        ("w2", ["wholesaler"]),
        ("p1", ["dispenser"]),
        ("p2", ["dispenser"]),
        ("rival", ["manufacturer"]),
    ):
        info, client = network.add_partner(roles)
        out[name] = Party(info, client)
    maker = out["maker"]
    assert maker.client.put(f"/v1/products/{product_gtin(maker.prefix)}", json={"name": "Regulatory case"}).status_code == 201
    return out


@pytest.fixture(scope="module")
def custody(parties: dict[str, Party]) -> dict[str, Any]:
    """30 units in three cases of 10: case A to w1, B to w2, C to p1; w1 ships 4 of its units on
    to p2. Holders: w1 6 units, w2 10, p1 10, p2 4."""
    maker, w1, w2, p1, p2 = (parties[n] for n in ("maker", "w1", "w2", "p1", "p2"))
    units = new_units(maker, 30)
    cases = [new_sscc(maker) for _ in range(3)]
    shipped = maker.post(
        document(
            commissioning(maker, units),
            *(packing(maker, case, units[10 * i : 10 * i + 10]) for i, case in enumerate(cases)),
            shipping(maker, w1, [cases[0]]),
            shipping(maker, w2, [cases[1]]),
            shipping(maker, p1, [cases[2]]),
        )
    )
    assert shipped.status_code == 200, shipped.text
    for party, case in ((w1, cases[0]), (w2, cases[1]), (p1, cases[2])):
        got = party.post(document(receiving(party, [case]), unpacking(party, case)))
        assert got.status_code == 200, got.text
    onward = units[:4]
    sent = w1.post(document(shipping(w1, p2, onward, at="2026-11-27T08:00:00.000+01:00")))
    assert sent.status_code == 200, sent.text
    got = p2.post(document(receiving(p2, onward, at="2026-11-27T12:00:00.000+01:00")))
    assert got.status_code == 200, got.text
    held = {"w1": units[4:10], "w2": units[10:20], "p1": units[20:30], "p2": units[:4]}
    return {"units": units, "held": held, "gtin": product_gtin(maker.prefix)}


def publish(parties: dict[str, Party], custody: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"gtins": [custody["gtin"]], "lots": ["LOT-E1"], "class": "II", "reason": "Dissolution out of specification", **extra}
    answer = parties["maker"].client.post("/v1/recalls", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def audit_actions(client: Any, recall_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/audit?recall={recall_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


# -- strategy ------------------------------------------------------------------------------------


def test_a_recall_is_published_with_its_strategy_and_the_manufacturer_reads_it_back(parties: dict[str, Party], custody: dict[str, Any]) -> None:
    created = publish(parties, custody, strategy=STRATEGY_B)
    recall = parties["maker"].client.get(f"/v1/recalls/{created['id']}").json()
    assert recall["strategy"] == STRATEGY_B
    published = [e for e in audit_actions(parties["maker"].client, created["id"]) if e["action"] == "recall.published"]
    assert published[0]["strategy"] == STRATEGY_B


def test_a_fixed_level_sets_its_share_and_level_b_needs_a_share_between_ten_and_a_hundred_percent(
    parties: dict[str, Party], custody: dict[str, Any]
) -> None:
    created = publish(parties, custody, strategy={"check_level": "D"})
    recall = parties["maker"].client.get(f"/v1/recalls/{created['id']}").json()
    assert (recall["strategy"]["check_level"], recall["strategy"]["check_share"]) == ("D", 0.02)
    for share in (0.1, 1.0, 0.05):
        answer = parties["maker"].client.patch(f"/v1/recalls/{created['id']}/strategy", json={"check_level": "B", "check_share": share})
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "strategy.check_share"
    answer = parties["maker"].client.patch(f"/v1/recalls/{created['id']}/strategy", json={"check_level": "B", "check_share": 0.25})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["strategy"]["check_level"], answer.json()["strategy"]["check_share"]) == ("B", 0.25)


def test_a_strategy_change_is_audited_with_before_and_after(parties: dict[str, Party], custody: dict[str, Any]) -> None:
    created = publish(parties, custody)
    answer = parties["maker"].client.patch(f"/v1/recalls/{created['id']}/strategy", json={"external_reference": "DEV-77", "depth": "consumer"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["depth"] == "consumer"
    changed = [e for e in audit_actions(parties["maker"].client, created["id"]) if e["action"] == "recall.strategy_changed"]
    assert len(changed) == 1
    assert (changed[0]["before"]["external_reference"], changed[0]["after"]["external_reference"]) == ("", "DEV-77")
    assert (changed[0]["before"]["depth"], changed[0]["after"]["depth"]) == ("retail", "consumer")


def test_strategy_text_is_stored_text_and_unknown_members_are_refused_by_name(parties: dict[str, Party], custody: dict[str, Any]) -> None:
    created = publish(parties, custody)
    path = f"/v1/recalls/{created['id']}/strategy"
    for body, field in (
        ({"contact": "call\u202eus"}, "strategy.contact"),
        ({"external_reference": "x" * 101}, "strategy.external_reference"),
        ({"public_warning": "yes"}, "strategy.public_warning"),
        ({"public_warning": True}, "strategy.public_warning_by"),
        ({"colour": "red"}, "strategy.colour"),
        ({"check_level": "F"}, "strategy.check_level"),
    ):
        answer = parties["maker"].client.patch(path, json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.json())
    assert parties["maker"].client.get(f"/v1/recalls/{created['id']}").json()["strategy"]["contact"] == ""


def test_only_the_owning_manufacturer_changes_a_strategy_and_holders_do_not_see_its_qms_reference(
    parties: dict[str, Party], custody: dict[str, Any]
) -> None:
    created = publish(parties, custody, strategy=STRATEGY_B)
    path = f"/v1/recalls/{created['id']}/strategy"
    assert parties["rival"].client.patch(path, json={"contact": "rival"}).status_code == 404
    assert parties["w1"].client.patch(path, json={"contact": "w1"}).status_code == 403
    seen = parties["w1"].client.get(f"/v1/recalls/{created['id']}").json()
    assert "external_reference" not in seen["strategy"]
    assert seen["strategy"]["contact"] == STRATEGY_B["contact"]
    assert parties["maker"].client.get(f"/v1/recalls/{created['id']}").json()["strategy"] == STRATEGY_B
