"""POST /v1/shipments/received: the buyer records, on its own verinet network, the DSCSA document
its seller exported on another (GET /v1/shipments/{id}/epcis), and holds the same custody and
history there. Two real networks: the module's network A (seller) and a second one, N2 (buyer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import RunningNetwork, start_network
from tests.gateway.test_epcis import (
    Party,
    commissioning,
    document,
    history,
    new_sscc,
    new_units,
    packing,
    product_gtin,
    shipping,
)
from tests.gateway.test_epcis_xml import (
    XML,
    commissioning_xml,
    packing_xml,
    receiving_xml,
    ship_a_pallet,
    shipping_xml,
    xml_document,
)


def ship_and_export(maker: Party, buyer: Party, reference: str, n: int = 5) -> dict[str, Any]:
    """On network A: n units commissioned, four packed into a case, the case onto a pallet, the
    pallet shipped to the buyer under desadv ``reference``; the seller's document exported."""
    shipped = ship_a_pallet(maker, buyer, reference, "PO-" + reference, n)
    exported = maker.client.get(f"/v1/shipments/{reference}/epcis")
    assert exported.status_code == 200, exported.text
    return {**shipped, "document": exported.content}


def record(party: Party, document: bytes) -> Any:
    return party.client.post("/v1/shipments/received", data=document, headers={"Content-Type": XML})


def steps(client: Any, unit: Any) -> list[tuple[str, str]]:
    return [(e["event"], e["gln"]) for e in history(client, unit)["events"]]


def query(client: Any, epcs: list[Any]) -> list[tuple[str, str]]:
    answer = client.get("/epcis/events", params={"MATCH_anyEPC": ",".join(e.as_urn() for e in epcs), "perPage": "100"})
    assert answer.status_code == 200, answer.text
    return [(e["eventID"], e.get("bizStep", "")) for e in answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


@pytest.fixture(scope="module")
def seller2(network: Any) -> Party:
    """A second manufacturer on A, whose products N2 hosts too (below)."""
    on_a = Party(*network.add_partner(["manufacturer"]))
    assert on_a.client.put(f"/v1/products/{product_gtin(on_a.prefix)}", json={"name": "Hosted twice"}).status_code == 201
    return on_a


@pytest.fixture(scope="module")
def second(parties: dict[str, Party], seller2: Party, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Party]]:
    """Network N2 with the buyer (the same company and GLN as A's wholesaler), a stranger, and
    the twin of seller2 (same prefix and GLN: the manufacturer has accounts on both networks)."""
    started = start_network(tmp_path_factory.mktemp("second-network"))
    try:
        n2 = RunningNetwork(started)
        twin = Party(*n2.add_partner(["manufacturer"], company_prefixes=[seller2.prefix], glns=[seller2.gln]))
        assert twin.client.put(f"/v1/products/{product_gtin(twin.prefix)}", json={"name": "Hosted twice"}).status_code == 201
        yield {
            "buyer": Party(*n2.add_partner(["wholesaler"], glns=[parties["wholesaler"].gln])),
            "stranger": Party(*n2.add_partner(["wholesaler"])),
            "twin": twin,
        }
    finally:
        started.stop()


def test_units_not_hosted_on_n2_give_the_buyer_the_same_history_and_events_as_on_a(
    parties: dict[str, Party], second: dict[str, Party]
) -> None:
    maker, wholesaler, buyer = parties["maker"], parties["wholesaler"], second["buyer"]
    shipment = ship_and_export(maker, wholesaler, "ASN-R100")
    answer = record(buyer, shipment["document"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "reference": "desadv urn:epcglobal:cbv:bt:0300000000003:ASN-R100", "duplicate": False,
        "units": 4, "received": 0, "recorded": 4, "events": 4,
    }  # fmt: skip
    unit = shipment["units"][0]
    on_a, on_n2 = history(maker.client, unit), history(buyer.client, unit)
    # A's history, the buyer's receipt after it; the commissioning names where it happened.
    assert steps(buyer.client, unit) == [("commissioning", maker.gln), *steps(maker.client, unit)[1:], ("receiving", wholesaler.gln)]
    assert (on_n2["lot"], on_n2["expiry"]) == (on_a["lot"], "2030-06-30")
    shipped = next(e for e in on_n2["events"] if e["event"] == "shipping")
    assert "DSCSA transaction statement affirmed" in shipped["detail"] and shipped["to"] == [wholesaler.gln]
    assert next(e for e in on_n2["events"] if e["event"] == "receiving")["partner"] == buyer.id
    # The EPCIS query on N2 answers the buyer the events A keeps, under the same eventIDs.
    epcs = [unit, shipment["case"], shipment["pallet"]]
    assert query(buyer.client, epcs) == query(maker.client, epcs)
    # Nobody else on N2 sees any of it, and the unit that stayed behind is in no record.
    assert query(second["stranger"].client, epcs) == []
    assert second["stranger"].client.get(f"/v1/packs/{unit.gtin}/{unit.serial.replace('/', '%2F')}/history").status_code == 404
    left = shipment["units"][4]
    assert buyer.client.get(f"/v1/packs/{left.gtin}/{left.serial.replace('/', '%2F')}/history").status_code == 404
    again = record(buyer, shipment["document"])
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_a_stranger_cannot_record_a_document_addressed_to_someone_else(parties: dict[str, Party], second: dict[str, Party]) -> None:
    shipment = ship_and_export(parties["maker"], parties["wholesaler"], "ASN-R200")
    answer = record(second["stranger"], shipment["document"])
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["code"] == "received.not_addressed"
    assert parties["wholesaler"].gln in problem["detail"] and second["stranger"].gln in problem["detail"]
    unit = shipment["units"][0]
    assert second["stranger"].client.get(f"/v1/packs/{unit.gtin}/{unit.serial.replace('/', '%2F')}/history").status_code == 404


def test_a_document_with_events_about_units_it_does_not_ship_is_refused(parties: dict[str, Party], second: dict[str, Party]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units, pallet = new_units(maker, 2), new_sscc(maker)
    forged = xml_document(
        commissioning_xml(maker, units),  # the second unit is never shipped
        packing_xml(maker, pallet, units[:1]),
        shipping_xml(maker, wholesaler, [pallet]),
    )
    answer = record(second["buyer"], forged)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "received.not_shipped"
    assert f"serial {units[1].serial!r} of GTIN {units[1].gtin}" in answer.json()["detail"]
    nothing_shipped = record(second["buyer"], xml_document(commissioning_xml(maker, units)))
    assert nothing_shipped.status_code == 400 and nothing_shipped.json()["code"] == "received.no_shipping"


def test_units_hosted_on_n2_move_to_the_buyer_only_on_a_shipment_recorded_there(
    parties: dict[str, Party], second: dict[str, Party], seller2: Party
) -> None:
    wholesaler, buyer, seller, twin = parties["wholesaler"], second["buyer"], seller2, second["twin"]
    shipment = ship_and_export(seller, wholesaler, "ASN-R300")
    # The product is hosted on N2 but its units were never commissioned there: no custody from a document.
    refused = record(buyer, shipment["document"])
    assert refused.status_code == 409 and refused.json()["code"] == "received.not_commissioned", refused.text
    # Commissioned on N2 by its manufacturer, but no shipment to the buyer recorded there.
    assert twin.post(xml_document(commissioning_xml(twin, shipment["units"])), XML).status_code == 200
    refused = record(buyer, shipment["document"])
    assert refused.status_code == 409 and refused.json()["code"] == "custody.not_shipped", refused.text
    assert "recorded here" in refused.json()["detail"]
    # The seller records its shipment on N2 too (its own document); then the buyer's receipt moves custody.
    assert twin.post(shipment["document"], XML).status_code == 200
    answer = record(buyer, shipment["document"])
    assert answer.status_code == 200, answer.text
    assert (answer.json()["received"], answer.json()["recorded"]) == (4, 0)
    # On A the wholesaler receives the pallet itself: both networks tell the buyer the same.
    assert wholesaler.post(xml_document(receiving_xml(wholesaler, [shipment["pallet"]]), version="2.0"), XML).status_code == 200
    unit = shipment["units"][0]
    assert steps(buyer.client, unit) == steps(wholesaler.client, unit) == [("shipping", ""), ("receiving", wholesaler.gln)]
    # The EPCIS query: the seller's events under the same eventIDs, then the receipt (each network's own).
    epcs = [unit, shipment["case"], shipment["pallet"]]
    here, there = query(buyer.client, epcs), query(seller.client, epcs)
    assert here[:4] == there[:4] and [step for _, step in here[4:]] == [step for _, step in there[4:]] == ["receiving"]
    scope = {"units": [{"gtin": u.gtin, "serial": u.serial} for u in shipment["units"][:4]]}
    on_a = seller.client.post("/v1/recalls/preview", json=scope).json()["units_by_location"]
    on_n2 = twin.client.post("/v1/recalls/preview", json=scope).json()["units_by_location"]
    assert on_a == [{"gln": wholesaler.gln, "partner": wholesaler.id, "units": 4}]
    assert on_n2 == [{"gln": wholesaler.gln, "partner": buyer.id, "units": 4}]


def test_an_epcis_2_0_json_document_is_recorded_too_and_the_same_desadv_of_another_shipment_is_another_record(
    parties: dict[str, Party], second: dict[str, Party]
) -> None:
    maker, wholesaler, buyer = parties["maker"], parties["wholesaler"], second["buyer"]
    for _ in range(2):  # two shipments under the same desadv number
        units, pallet = new_units(maker, 2), new_sscc(maker)
        body = orjson.dumps(document(commissioning(maker, units), packing(maker, pallet, units), shipping(maker, wholesaler, [pallet])))
        answer = buyer.client.post("/v1/shipments/received", data=body, headers={"Content-Type": "application/ld+json"})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["duplicate"], answer.json()["recorded"]) == (False, 2)
        assert [e for e, _ in steps(buyer.client, units[1])] == ["commissioning", "packing", "shipping", "receiving"]
