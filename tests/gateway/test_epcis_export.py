"""GET /v1/shipments/{id}/epcis: the EPCIS 1.2 XML document a seller sends its buyer, with the
events of exactly the units shipped, read back by verinet's own capture on a second network."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import RunningNetwork, start_network
from tests.gateway.test_epcis import Party, history
from tests.gateway.test_epcis_xml import XML, ship_a_pallet

EPCIS_1 = "{urn:epcglobal:epcis:xsd:1}"


@pytest.fixture(scope="module")
def shipment(parties: dict[str, Party]) -> dict[str, Any]:
    """Five units commissioned in one event; four packed into a case, the case onto a pallet,
    the pallet shipped to the wholesaler under desadv ASN-9001. The fifth stays behind."""
    maker = parties["maker"]
    shipped = ship_a_pallet(maker, parties["wholesaler"], "ASN-9001", "PO-9001")
    return {**shipped, "exported": maker.client.get("/v1/shipments/ASN-9001/epcis")}


def test_the_document_holds_the_events_of_exactly_the_units_shipped(parties: dict[str, Party], shipment: dict[str, Any]) -> None:
    exported = shipment["exported"]
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(exported.content)
    assert root.tag == f"{EPCIS_1}EPCISDocument" and root.get("schemaVersion") == "1.2"
    events = root.find("EPCISBody/EventList")
    assert events is not None
    kinds = [(e.tag, e.findtext("bizStep", "").rsplit(":", 1)[-1]) for e in events]
    assert kinds == [("ObjectEvent", "commissioning"), ("AggregationEvent", "packing"), ("AggregationEvent", "packing"), ("ObjectEvent", "shipping")]
    commissioned = [epc.text for epc in events[0].iter("epc")]
    assert commissioned == [u.as_urn() for u in shipment["units"][:4]]  # not the unit that stayed behind
    assert events[3].findtext("epcList/epc") == shipment["pallet"].as_urn()
    header = root.find("EPCISHeader")
    assert header is not None
    sbdh = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
    assert header.findtext(f"{sbdh}StandardBusinessDocumentHeader/{sbdh}Receiver/{sbdh}Identifier") == parties["wholesaler"].gln
    gs1ushc = "{http://epcis.gs1us.org/hc/ns}"
    assert header.findtext(f"{gs1ushc}dscsaTransactionStatement/{gs1ushc}affirmTransactionStatement") == "true"
    names = [a.text for a in header.iter("attribute") if a.get("id", "").endswith("regulatedProductName")]
    assert names == ["EPCIS case"]


def test_the_po_names_the_shipment_too_and_nobody_else_can_export_it(parties: dict[str, Party], shipment: dict[str, Any]) -> None:
    by_po = parties["maker"].client.get("/v1/shipments/PO-9001/epcis")
    assert by_po.status_code == 200 and by_po.content.count(b"<ObjectEvent>") == 2
    assert parties["wholesaler"].client.get("/v1/shipments/ASN-9001/epcis").status_code == 404
    assert parties["maker"].client.get("/v1/shipments/ASN-0000/epcis").json()["code"] == "shipment.not_found"


def test_captured_again_here_the_document_is_the_same_events(parties: dict[str, Party], shipment: dict[str, Any]) -> None:
    maker = parties["maker"]
    before = history(maker.client, shipment["units"][0])
    again = maker.post(shipment["exported"].content, XML)
    assert again.status_code == 200, again.text
    # Packing, packing and shipping are recognised as the events captured; the commissioning,
    # cut to the shipped units, names the same packs with the same lot and expiry: no change.
    assert again.json()["duplicates"] == 3 and again.json()["state_changes"] == 0
    assert history(maker.client, shipment["units"][0]) == before


def test_the_seller_capturing_it_on_a_second_network_gets_the_same_custody_and_history(
    parties: dict[str, Party], shipment: dict[str, Any], tmp_path: Path
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    started = start_network(tmp_path / "second")
    try:
        second = RunningNetwork(started)
        info, client = second.add_partner(["manufacturer"], company_prefixes=[maker.prefix], glns=[maker.gln])
        twin = Party(info, client)
        second.add_partner(["wholesaler"], glns=[wholesaler.gln])
        gtin = shipment["units"][0].gtin
        assert client.put(f"/v1/products/{gtin}", json={"name": "EPCIS case"}).status_code == 201
        answer = twin.post(shipment["exported"].content, XML)
        assert answer.status_code == 200, answer.text
        assert answer.json()["commissioned"] == 4
        here = [(e["event"], e["gln"]) for e in history(maker.client, shipment["units"][0])["events"]]
        there = [(e["event"], e["gln"]) for e in history(client, shipment["units"][0])["events"]]
        assert there == here == [("commissioning", ""), ("packing", maker.gln), ("packing", maker.gln), ("shipping", maker.gln)]
    finally:
        started.stop()
