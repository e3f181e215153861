"""A recall a regulator accepts (issue 27): its strategy (21 CFR 7.42) and its status report
(21 CFR 7.53), over a recall whose holders are made by EPCIS custody: commissioning, packing
into cases, shipping, receiving and unpacking, and a wholesaler shipping some units on."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from tests.conftest import wait_for
from tests.gateway.test_epcis import (
    Party,
    add_parties,
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
from tests.gateway.test_epcis_xml import location_element, master_data, xml_document
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
    "reminder_days": [2.0, 5.0],
}


@pytest.fixture(scope="module")
def parties(network: Any) -> dict[str, Party]:
    roles = {"maker": "manufacturer", "w1": "wholesaler", "w2": "wholesaler", "p1": "dispenser", "p2": "dispenser", "rival": "manufacturer"}
    return add_parties(network, roles, "Regulatory case")


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


# -- status report ---------------------------------------------------------------------------------


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@pytest.fixture(scope="module")
def receiver(network: Any, parties: dict[str, Party]) -> Iterator[WebhookReceiver]:
    """w1 and p1 take recall events by webhook; w2 and p2 only see console tasks; the maker's
    QMS follows every status change."""
    with WebhookReceiver(network.url + "/.well-known/jwks.json", lambda name, n: 200) as server:
        for name in ("w1", "p1"):
            answer = parties[name].client.put("/v1/subscriptions/recalls", json={"url": server.url(name), "events": ["recall.published", "recall.closed", "recall.reminder"]})
            assert answer.status_code == 201, answer.text
        events = ["recall.published", "recall.updated", "recall.closed", "recall.responded", "recall.overdue"]
        answer = parties["maker"].client.put("/v1/subscriptions/qms", json={"url": server.url("maker"), "events": events})
        assert answer.status_code == 201, answer.text
        yield server


def acknowledge(party: Party, recall_id: str, units: list[Any], action: str) -> None:
    body = {"units": [{"gtin": u.gtin, "serial": u.serial} for u in units], "action": action}
    answer = party.client.post(f"/v1/recalls/{recall_id}/acknowledgements", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["acknowledged"] == len(units), answer.text


def status_report(client: Any, recall_id: str, **query: str) -> dict[str, Any]:
    answer = client.get(f"/v1/recalls/{recall_id}/status-report", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def responded(parties: dict[str, Party], custody: dict[str, Any], receiver: WebhookReceiver) -> dict[str, Any]:
    """A level B recall; w1 acknowledges all 6 of its units (quarantined), later p1 returns 5 of
    its 10; w2 and p2 stay silent. Times between the steps are kept to read the report as of then."""
    created = publish(parties, custody, strategy=STRATEGY_B)
    recall_id = created["id"]
    maker = parties["maker"].client
    wait_for(lambda: {d["partner"] for d in maker.get(f"/v1/recalls/{recall_id}/deliveries").json()["deliveries"] if d["outcome"] == "delivered"} >= {parties["w1"].id, parties["p1"].id})
    marks = {"published": now_iso()}
    time.sleep(0.05)
    acknowledge(parties["w1"], recall_id, custody["held"]["w1"], "quarantined")
    time.sleep(0.05)
    marks["after_w1"] = now_iso()
    time.sleep(0.05)
    acknowledge(parties["p1"], recall_id, custody["held"]["p1"][:5], "returned")
    time.sleep(0.05)
    marks["after_p1"] = now_iso()
    return {"id": recall_id, "marks": marks}


def test_the_status_report_names_each_consignee_with_the_units_the_network_recorded(
    parties: dict[str, Party], custody: dict[str, Any], responded: dict[str, Any]
) -> None:
    report = status_report(parties["maker"].client, responded["id"])
    rows = {r["partner"]: r for r in report["consignee_rows"]}
    expected = {parties[n].id: n for n in ("w1", "w2", "p1", "p2")}
    assert set(rows) == set(expected)
    for partner_id, name in expected.items():
        party = parties[name]
        assert rows[partner_id]["name"] == party.client.get("/v1/partners/me").json()["name"]
        assert rows[partner_id]["units_held"] == len(custody["held"][name])
        assert rows[partner_id]["glns"] == [party.gln]
        assert rows[partner_id]["locations"] == [{"gln": party.gln, "name": "", "address": ""}]
    assert report["consignees"] == 4
    assert report["units"] == sum(len(units) for units in custody["held"].values())
    assert report["strategy"] == STRATEGY_B


def test_the_status_report_gives_notice_dates_and_methods_from_the_delivery_log(parties: dict[str, Party], responded: dict[str, Any]) -> None:
    maker = parties["maker"].client
    report = status_report(maker, responded["id"])
    log = maker.get(f"/v1/recalls/{responded['id']}/deliveries").json()["deliveries"]
    first_delivery = {}
    for d in sorted(log, key=lambda d: when(d["at"])):
        if d["outcome"] == "delivered":
            first_delivery.setdefault(d["partner"], when(d["at"]))
    notified = {r["partner"]: r for r in report["notified"]}
    assert report["consignees_notified"] == len(notified) == 4
    for name in ("w1", "p1"):
        row = notified[parties[name].id]
        assert row["notified_by"] == "webhook"
        assert abs((when(row["notified_at"]) - first_delivery[parties[name].id]).total_seconds()) < 0.002
    recall = maker.get(f"/v1/recalls/{responded['id']}").json()
    for name in ("w2", "p2"):
        row = notified[parties[name].id]
        assert row["notified_by"] == "console task"
        assert 0 <= (when(row["notified_at"]) - when(recall["published_at"])).total_seconds() < 60


def test_the_status_report_counts_responses_as_of_its_time(parties: dict[str, Party], custody: dict[str, Any], responded: dict[str, Any]) -> None:
    maker, marks = parties["maker"].client, responded["marks"]
    w1, p1, w2, p2 = (parties[n].id for n in ("w1", "p1", "w2", "p2"))
    before = status_report(maker, responded["id"], at=marks["published"])
    assert (before["consignees_responding"], before["consignees_not_responding"], before["units_acknowledged"]) == (0, 4, 0)
    assert before["estimated_completion"] == {"complete": False, "at": None, "basis": "no consignee has responded yet"}
    middle = status_report(maker, responded["id"], at=marks["after_w1"])
    assert [r["partner"] for r in middle["responding"]] == [w1]
    assert middle["responding"][0]["units_acknowledged"] == len(custody["held"]["w1"])
    assert middle["responding"][0]["actions"] == {"quarantined": len(custody["held"]["w1"])}
    assert middle["units_acknowledged"] == len(custody["held"]["w1"])
    latest = status_report(maker, responded["id"], at=marks["after_p1"])
    assert sorted(r["partner"] for r in latest["responding"]) == sorted([w1, p1])
    assert sorted(r["partner"] for r in latest["not_responding"]) == sorted([w2, p2])
    assert {r["partner"]: r["units_held"] for r in latest["not_responding"]} == {w2: 10, p2: 4}
    by_partner = {r["partner"]: r for r in latest["responding"]}
    assert by_partner[p1]["units_acknowledged"] == 5 and by_partner[p1]["units_held"] == 10
    assert by_partner[p1]["actions"] == {"returned": 5}
    assert latest["units_acknowledged"] == len(custody["held"]["w1"]) + 5
    assert latest["estimated_completion"]["complete"] is False and latest["estimated_completion"]["at"]
    assert latest["effectiveness_checks"] | {"checks": []} == {"level": "B", "share": 0.5, "due": 2, "done": 0, "results": {}, "checks": []}
    period = status_report(maker, responded["id"], at=marks["after_p1"], **{"from": marks["after_w1"]})["period"]
    assert (period["consignees_responding"], period["consignees_notified"]) == (1, 0)


def test_the_status_report_as_csv_has_one_safe_row_per_consignee_matching_the_json(parties: dict[str, Party], responded: dict[str, Any]) -> None:
    maker = parties["maker"].client
    report = status_report(maker, responded["id"], at=responded["marks"]["after_p1"])
    answer = maker.get(f"/v1/recalls/{responded['id']}/status-report", params={"format": "csv", "at": responded["marks"]["after_p1"]})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["partner"] for r in rows] == [r["partner"] for r in report["consignee_rows"]]
    for row, expected in zip(rows, report["consignee_rows"], strict=True):
        assert row["name"] == expected["name"]
        assert int(row["units_held"]) == expected["units_held"]
        assert int(row["units_acknowledged"]) == expected["units_acknowledged"]
        assert row["status"] == expected["status"]
        assert row["notified_by"] == expected["notified_by"]


def test_the_printable_status_report_escapes_partner_text(network: Any, parties: dict[str, Party], custody: dict[str, Any], responded: dict[str, Any]) -> None:
    renamed = network.admin.patch(f"/v1/partners/{parties['p2'].id}", json={"name": "<script>alert(1)</script> & Co"})
    assert renamed.status_code == 200, renamed.text
    maker = parties["maker"].client
    answer = maker.get(f"/v1/recalls/{responded['id']}/status-report", params={"format": "html"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "<script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in answer.text
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "Consignees not responding" in answer.text and responded["id"] in answer.text


def test_only_the_owning_manufacturer_and_admin_read_a_status_report(network: Any, parties: dict[str, Party], responded: dict[str, Any]) -> None:
    path = f"/v1/recalls/{responded['id']}/status-report"
    assert parties["rival"].client.get(path).status_code == 404
    for name in ("w1", "p1"):
        assert parties[name].client.get(path).status_code == 403
    assert network.admin.get(path).status_code == 200
    bad = parties["maker"].client.get(path, params={"at": "yesterday"})
    assert bad.status_code == 400 and bad.json()["field"] == "at"
    assert parties["maker"].client.get(path, params={"format": "pdf"}).status_code == 400


# -- responses and effectiveness checks ------------------------------------------------------------


def test_a_holder_responds_with_lot_quantities_and_a_note_and_the_report_shows_them(parties: dict[str, Party], custody: dict[str, Any], receiver: WebhookReceiver) -> None:
    created = publish(parties, custody, strategy=STRATEGY_B)
    w2 = parties["w2"]
    path = f"/v1/recalls/{created['id']}/acknowledgements"
    answer = w2.client.post(path, json={"lots": [{"lot": "LOT-E1", "quantity_on_hand": 7}], "action": "returned", "note": "3 already dispensed"})
    assert answer.status_code == 200, answer.text
    report = status_report(parties["maker"].client, created["id"])
    row = next(r for r in report["responding"] if r["partner"] == w2.id)
    assert (row["quantity_on_hand"], row["actions"], row["note"], row["units_acknowledged"]) == (7, {"returned": 7}, "3 already dispensed", 0)
    assert report["quantity_on_hand"] == 7
    for body, field in (
        ({"lots": [{"lot": "LOT-OTHER", "quantity_on_hand": 1}], "action": "returned"}, "lots"),
        ({"lots": [{"lot": "LOT-E1", "quantity_on_hand": -1}], "action": "returned"}, "lots[0].quantity_on_hand"),
        ({"lots": [{"lot": "LOT-E1", "quantity_on_hand": 1}], "action": "returned", "note": "a\nb"}, "note"),
    ):
        refused = w2.client.post(path, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == field
    # a partner holding nothing of the recall does not learn it exists
    assert parties["rival"].client.post(path, json={"lots": [{"lot": "LOT-E1", "quantity_on_hand": 1}], "action": "returned"}).status_code == 404


def test_effectiveness_checks_are_recorded_for_consignees_and_counted_against_the_level(parties: dict[str, Party], custody: dict[str, Any]) -> None:
    created = publish(parties, custody, strategy=STRATEGY_B)
    maker = parties["maker"].client
    path = f"/v1/recalls/{created['id']}/effectiveness-checks"
    for name, result in (("w1", "confirmed"), ("p2", "not_received"), ("w1", "confirmed")):
        answer = maker.post(path, json={"partner": parties[name].id, "checked_by": "QA, J. Doe", "method": "phone", "result": result})
        assert answer.status_code == 201, answer.text
    checks = status_report(maker, created["id"])["effectiveness_checks"]
    assert (checks["due"], checks["done"], checks["results"]) == (2, 2, {"confirmed": 2, "not_received": 1})
    assert [c["partner"] for c in checks["checks"]] == [parties["w1"].id, parties["p2"].id, parties["w1"].id]
    stranger = maker.post(path, json={"partner": parties["rival"].id, "checked_by": "QA", "method": "phone", "result": "confirmed"})
    assert stranger.status_code == 400 and stranger.json()["field"] == "partner"
    assert maker.post(path, json={"partner": parties["w1"].id, "checked_by": "QA", "method": "pigeon", "result": "confirmed"}).json()["field"] == "method"
    assert parties["w1"].client.post(path, json={"partner": parties["w1"].id, "checked_by": "me", "method": "phone", "result": "confirmed"}).status_code == 403
    assert parties["rival"].client.post(path, json={"partner": parties["w1"].id, "checked_by": "QA", "method": "phone", "result": "confirmed"}).status_code == 404
    audited = [e for e in audit_actions(maker, created["id"]) if e["action"] == "recall.effectiveness_checked"]
    assert len(audited) == 3


def test_the_manufacturer_hears_each_response_and_every_webhook_body_matches_the_documented_schema(
    parties: dict[str, Party], receiver: WebhookReceiver, responded: dict[str, Any]
) -> None:
    schema = json.loads((Path(__file__).parents[2] / "docs" / "webhooks" / "recall-events.schema.json").read_text())
    validator = jsonschema_rs.validator_for(schema)

    def of_recall(hook: str) -> list[dict[str, Any]]:
        return [got["body"] for got in receiver.received.get(hook, []) if got["body"]["recall_id"] == responded["id"]]

    wait_for(lambda: sum(1 for b in of_recall("maker") if b["event"] == "recall.responded") == 2)
    to_maker = of_recall("maker")
    assert [b["event"] for b in to_maker if b["event"] != "recall.responded"] == ["recall.published"]
    assert sorted(b["data"]["response"]["partner"] for b in to_maker if b["event"] == "recall.responded") == sorted([parties["w1"].id, parties["p1"].id])
    bodies = to_maker + of_recall("w1") + of_recall("p1")
    for body in bodies:
        assert validator.is_valid(body), [str(e) for e in validator.iter_errors(body)]
    # holders hear only of their own units, never of the other's response
    for hook in ("w1", "p1"):
        assert all(b["event"] == "recall.published" for b in of_recall(hook))
    notice = of_recall("w1")[0]["data"]["notice"]
    assert notice["heading"] == "URGENT: DRUG RECALL (class II)"
    assert notice["products"] == [{"gtin": product_gtin(parties["maker"].prefix), "lots": ["LOT-E1"], "units": 6}]
    assert (notice["reason"], notice["contact"], notice["public_warning"]) == ("Dissolution out of specification", STRATEGY_B["contact"], STRATEGY_B["public_warning_by"])
    assert "retail customers" in notice["what_to_do"] and f"/v1/recalls/{responded['id']}/acknowledgements" in notice["respond"]


def test_the_status_report_names_a_consignees_location_from_its_own_master_data(parties: dict[str, Party], responded: dict[str, Any]) -> None:
    """A holder names its own site (EPCIS Location master data); the manufacturer's report then
    shows that name and address instead of the bare GLN."""
    w2 = parties["w2"]
    site = location_element(w2.gln, name="Westbrook DC", streetAddressOne="9 Dock Road", city="Dayton", state="OH", postalCode="45402", countryCode="US")
    named = w2.post(xml_document(header=master_data([], [site])), "application/xml")
    assert named.status_code == 200, named.text
    report = status_report(parties["maker"].client, responded["id"])
    row = next(r for r in report["consignee_rows"] if r["partner"] == w2.id)
    assert row["locations"] == [{"gln": w2.gln, "name": "Westbrook DC", "address": "9 Dock Road, Dayton, OH 45402, US"}]


# -- the recall letter ------------------------------------------------------------------------------


def letter(client: Any, recall_id: str, **query: str) -> Any:
    return client.get(f"/v1/recalls/{recall_id}/notice", params=query)


def test_a_holder_reads_its_own_recall_letter_with_the_notice_its_webhook_carried(
    parties: dict[str, Party], custody: dict[str, Any], receiver: WebhookReceiver, responded: dict[str, Any]
) -> None:
    w1 = parties["w1"]
    answer = letter(w1.client, responded["id"])
    assert answer.status_code == 200, answer.text
    got = answer.json()
    hooked = next(b for got in receiver.received["w1"] if (b := got["body"])["recall_id"] == responded["id"] and b["event"] == "recall.published")
    assert got["notice"] == hooked["data"]["notice"]
    assert got["notice"]["heading"] == "URGENT: DRUG RECALL (class II)"
    assert got["notice"]["products"] == [{"gtin": custody["gtin"], "lots": ["LOT-E1"], "units": len(custody["held"]["w1"])}]
    assert got["holder"]["partner"] == w1.id and got["holder"]["name"] == w1.client.get("/v1/partners/me").json()["name"]
    row = next(r for r in status_report(parties["maker"].client, responded["id"])["consignee_rows"] if r["partner"] == w1.id)
    assert got["holder"]["locations"] == row["locations"]
    assert (got["notified_at"], got["notified_by"]) == (row["notified_at"], "webhook")
    assert got["response_form"]["acknowledge"] == f"/v1/recalls/{responded['id']}/acknowledgements"
    assert set(got["response_form"]["fields"]) == {"units", "lots", "action", "note"}
    assert "quarantined, returned or destroyed" in got["response_form"]["fields"]["action"]


def test_the_printable_letter_carries_the_required_content_under_a_strict_policy(parties: dict[str, Party], custody: dict[str, Any], responded: dict[str, Any]) -> None:
    w2 = parties["w2"]
    answer = letter(w2.client, responded["id"], format="html")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    page = answer.text
    for required in (
        "URGENT: DRUG RECALL (class II)",
        custody["gtin"],
        "LOT-E1",
        "Dissolution out of specification",
        "retail customers",
        f"/v1/recalls/{responded['id']}/acknowledgements",
        "quantity_on_hand",
        "quarantined, returned or destroyed",
        STRATEGY_B["contact"],
        w2.gln,
        "Date of notice",
        "@media print",
    ):
        assert required in page, required
    assert f'<td class="n">{len(custody["held"]["w2"])}</td>' in page


def test_the_printable_letter_escapes_a_hostile_recall_reason_and_holder_name(network: Any, parties: dict[str, Party], custody: dict[str, Any]) -> None:
    created = publish(parties, custody, reason='<script>alert("reason")</script> & <img src=x onerror=alert(2)>')
    renamed = network.admin.patch(f"/v1/partners/{parties['w2'].id}", json={"name": "<b onmouseover=alert(3)>W2</b>"})
    assert renamed.status_code == 200, renamed.text
    answer = letter(parties["maker"].client, created["id"], partner=parties["w2"].id, format="html")
    assert answer.status_code == 200, answer.text
    assert "<script" not in answer.text and "<img" not in answer.text and "<b " not in answer.text
    assert "&lt;script&gt;alert(&quot;reason&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;" in answer.text
    assert "&lt;b onmouseover=alert(3)&gt;W2&lt;/b&gt;" in answer.text


def test_the_manufacturer_and_admin_read_a_named_holders_letter(network: Any, parties: dict[str, Party], responded: dict[str, Any]) -> None:
    p2 = parties["p2"]
    own = letter(p2.client, responded["id"]).json()
    for client in (parties["maker"].client, network.admin):
        answer = letter(client, responded["id"], partner=p2.id)
        assert answer.status_code == 200, answer.text
        assert answer.json()["holder"] == own["holder"] and answer.json()["notice"] == own["notice"]
    assert own["notified_by"] == "console task"
    missing = letter(parties["maker"].client, responded["id"], partner=parties["rival"].id)
    assert missing.status_code == 404 and missing.json()["code"] == "recall.not_consignee"
    assert letter(parties["maker"].client, responded["id"], format="pdf").status_code == 400


def test_a_stranger_and_another_holder_get_the_answer_of_a_recall_that_does_not_exist(parties: dict[str, Party], responded: dict[str, Any]) -> None:
    nowhere = letter(parties["rival"].client, "rc-does-not-exist")
    assert nowhere.status_code == 404
    for client, query in ((parties["rival"].client, {}), (parties["p1"].client, {"partner": parties["w1"].id}), (parties["rival"].client, {"partner": parties["w1"].id})):
        answer = letter(client, responded["id"], **query)
        assert answer.status_code == 404, answer.text
        assert {k: v for k, v in answer.json().items() if k not in ("instance", "detail", "request_id")} == {
            k: v for k, v in nowhere.json().items() if k not in ("instance", "detail", "request_id")
        }
        assert answer.json()["detail"] == nowhere.json()["detail"].replace("rc-does-not-exist", responded["id"])
