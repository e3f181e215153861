"""The EPCIS 2.0 query interface, GET /epcis/events: filters, paging, JSON-LD and XML, and who
sees what (the capturer; whoever held the units, from when it held them; the manufacturer). As
EPCIS defines, an event matches the EPCs it names: the units' case for the case's shipments."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.gateway import test_epcis
from tests.gateway.test_epcis import (
    Party,
    commissioning,
    document,
    new_sscc,
    new_units,
    packing,
    receiving,
    shipping,
)


def query(party: Party, **params: Any) -> Any:
    return party.client.get("/epcis/events", params=params)


def events_of(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "EPCISQueryDocument" and body["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    return list(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"])


@pytest.fixture(scope="module")
def trail(parties: dict[str, Party]) -> dict[str, Any]:
    """Commissioned, packed into a case, shipped to the wholesaler, received; then shipped on to
    the pharmacy and received there."""
    maker, wholesaler, pharmacy = parties["maker"], parties["wholesaler"], parties["pharmacy"]
    units, case = new_units(maker, 3), new_sscc(maker)
    first = maker.post(document(
        commissioning(maker, units), packing(maker, case, units),
        shipping(maker, wholesaler, [case], eventID="urn:uuid:5e3f3c39-1d0f-4a1e-9d0b-ab0000000023"),
    ))  # fmt: skip
    assert first.status_code == 200, first.text
    for party, body in (
        (wholesaler, document(receiving(wholesaler, [case]))),
        (wholesaler, document(shipping(wholesaler, pharmacy, [case], at="2026-11-27T10:00:00.000+01:00"))),
        (pharmacy, document(receiving(pharmacy, [case], at="2026-11-28T08:00:00.000+01:00"))),
    ):
        answer = party.post(body)
        assert answer.status_code == 200, answer.text
    return {"units": units, "case": case}


def steps(events: list[dict[str, Any]]) -> list[str]:
    return [e["bizStep"] for e in events]


def test_the_manufacturer_sees_every_event_of_its_units(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    maker, case = parties["maker"], trail["case"]
    assert steps(events_of(query(maker, MATCH_epc=trail["units"][0].as_urn()))) == ["commissioning", "packing"]
    seen = events_of(query(maker, MATCH_anyEPC=case.as_urn()))
    assert steps(seen) == ["packing", "shipping", "receiving", "shipping", "receiving"]
    assert seen[0]["parentID"] == f"https://id.gs1.org/00/{case.sscc}"
    commissioned = events_of(query(maker, MATCH_epc=trail["units"][0].as_urn(), EQ_bizStep="commissioning"))[0]
    shipped = seen[1]
    assert shipped["type"] == "ObjectEvent" and shipped["eventID"] == "urn:uuid:5e3f3c39-1d0f-4a1e-9d0b-ab0000000023"
    assert shipped["epcList"] == [f"https://id.gs1.org/00/{trail['case'].sscc}"]
    assert {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"} in shipped["bizTransactionList"]
    assert commissioned["ilmd"] == {"cbvmda:lotNumber": test_epcis.LOT, "cbvmda:itemExpirationDate": test_epcis.EXPIRY_DATE}


def test_a_holder_sees_events_from_the_time_it_held_the_units(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    case = trail["case"].as_urn()
    # The wholesaler: its receiving and shipping, and the pharmacy receiving what it sent; not
    # the manufacturer's packing and shipping from before it held the units.
    assert steps(events_of(query(parties["wholesaler"], MATCH_anyEPC=case))) == ["receiving", "shipping", "receiving"]
    assert steps(events_of(query(parties["pharmacy"], MATCH_anyEPC=case))) == ["receiving"]
    assert events_of(query(parties["wholesaler"], MATCH_epc=trail["units"][0].as_urn())) == []


def test_a_partner_that_never_held_the_units_sees_nothing(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    assert events_of(query(parties["other"], MATCH_anyEPC=trail["case"].as_urn())) == []
    assert events_of(query(parties["other"])) == []
    assert query(parties["network"]).status_code == 403  # other networks do not query trading data


def test_filters_narrow_the_answer(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    case = trail["case"]
    assert steps(events_of(query(maker, MATCH_epc=case.as_urn(), EQ_bizStep="shipping"))) == ["shipping", "shipping"]
    assert steps(events_of(query(maker, MATCH_epc=case.as_urn(), EQ_bizStep="urn:epcglobal:cbv:bizstep:receiving"))) == ["receiving"] * 2
    assert steps(events_of(query(maker, MATCH_parentID=case.as_urn()))) == ["packing"]
    assert len(events_of(query(maker, MATCH_anyEPC=case.as_digital_link()))) == 5  # packed into it, then 4 custody events
    assert len(events_of(query(maker, MATCH_epc=case.as_digital_link()))) == 4  # not the packing, which names it as parent
    assert steps(events_of(query(maker, MATCH_epc=case.as_urn(), EQ_bizLocation=test_epcis.sgln(wholesaler.gln)))) == ["receiving", "shipping"]
    assert steps(events_of(query(maker, MATCH_epc=case.as_urn(), EQ_disposition="in_transit"))) == ["shipping", "shipping"]
    window = {"GE_eventTime": "2026-11-26T00:00:00Z", "LT_eventTime": "2026-11-28T00:00:00+01:00"}
    assert steps(events_of(query(maker, MATCH_epc=case.as_urn(), **window))) == ["receiving", "shipping"]
    by_id = events_of(query(maker, EQ_eventID="urn:uuid:5e3f3c39-1d0f-4a1e-9d0b-ab0000000023"))
    assert steps(by_id) == ["shipping"]


def test_pages_follow_the_link_header_without_repeats_or_gaps(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    maker = parties["maker"]
    everything = events_of(query(maker, MATCH_anyEPC=trail["case"].as_urn()))
    assert len(everything) == 5
    collected, answer = [], query(maker, MATCH_anyEPC=trail["case"].as_urn(), perPage=4)
    pages = 0
    while True:
        collected += events_of(answer)
        pages += 1
        link = answer.headers.get("Link")
        if not link:
            break
        assert link.endswith('>; rel="next"') and "nextPageToken=" in link
        answer = maker.client.get(link[1 : link.index(">")])
    assert pages == 2 and collected == everything


def test_gs1_headers_and_an_xml_answer_on_accept(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    maker = parties["maker"]
    answer = maker.client.get("/epcis/events", params={"MATCH_anyEPC": trail["case"].as_urn()}, headers={"Accept": "application/xml"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0" and answer.headers["GS1-CBV-Version"] == "2.0.0"
    assert answer.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    assert root.tag == "{urn:epcglobal:epcis-query:xsd:2}EPCISQueryDocument"
    found = [e.findtext("bizStep") for e in root.iter() if e.tag in ("ObjectEvent", "AggregationEvent")]
    assert found == [f"urn:epcglobal:cbv:bizstep:{s}" for s in ("packing", "shipping", "receiving", "shipping", "receiving")]
    json_answer = query(maker, MATCH_epc=trail["units"][0].as_urn())
    assert json_answer.headers["Content-Type"].startswith("application/ld+json")
    assert json_answer.headers["GS1-EPCIS-Version"] == "2.0.0"


def test_bad_query_parameters_are_400_and_another_epcis_version_is_406(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    for params, code in (
        ({"perPage": "0"}, "epcis.per_page"),
        ({"GE_eventTime": "yesterday"}, "epcis.query_time"),
        ({"MATCH_epc": "urn:epc:id:grai:0614141.12345.400"}, "epc.scheme"),
        ({"nextPageToken": "not-a-token"}, "epcis.page_token"),
        ({"EQ_action": "ADD"}, "epcis.query_parameter"),
    ):
        answer = query(maker, **params)
        assert answer.status_code == 400 and answer.json()["code"] == code, (params, answer.text)
    old = maker.client.get("/epcis/events", headers={"GS1-EPCIS-Version": "1.2"})
    assert old.status_code == 406 and old.json()["code"] == "epcis.version"


def test_the_events_of_one_epc_and_the_event_types(parties: dict[str, Party], trail: dict[str, Any]) -> None:
    maker, other = parties["maker"], parties["other"]
    case = trail["case"].as_urn()
    assert steps(events_of(maker.client.get(f"/epcis/epcs/{case}/events"))) == ["packing", "shipping", "receiving", "shipping", "receiving"]
    assert steps(events_of(maker.client.get(f"/epcis/epcs/{case}/events", params={"EQ_bizStep": "shipping"}))) == ["shipping", "shipping"]
    assert events_of(other.client.get(f"/epcis/epcs/{case}/events")) == []
    assert maker.client.get("/epcis/epcs/not-an-epc/events").status_code == 400
    types = maker.client.get("/epcis/eventTypes")
    assert types.status_code == 200 and types.json()["member"] == ["ObjectEvent", "AggregationEvent"]
    assert types.headers["GS1-EPCIS-Version"] == "2.0.0"
