"""EPCIS 1.2 and 2.0 XML capture through the gateway, with documents written for these tests to
the GS1 US "Applying GS1 Standards for DSCSA and Traceability" R1.3 guideline (SBDH header,
gs1ushc transaction statement, master data, a direct purchase: units commissioned and packed,
a pallet packed and shipped) and to EPCIS 2.0 XML; hostile XML is a 400 with bounded time."""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape

import pytest

from tests.gateway.test_epcis import (
    EXPIRY,
    LOT,
    Party,
    history,
    new_sscc,
    new_units,
    pgln,
    run_cli,
    sgln,
)
from verinet.epc import Sgtin, Sscc
from verinet.network import with_check_digit

XML = "application/xml"
EPCIS_1 = "urn:epcglobal:epcis:xsd:1"
EPCIS_2 = "urn:epcglobal:epcis:xsd:2"
STATEMENT = "Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G)."


def epc_list(name: str, epcs: list[Any]) -> str:
    return f"<{name}>" + "".join(f"<epc>{escape(e.as_urn())}</epc>" for e in epcs) + f"</{name}>"


def where(party: Party) -> str:
    return f"<readPoint><id>{sgln(party.gln)}</id></readPoint><bizLocation><id>{sgln(party.gln)}</id></bizLocation>"


def header_times(at: str, event_id: str, version: str) -> str:
    """eventTime and offset, and in 2.0 the eventID (1.2 keeps it in baseExtension)."""
    text = f"<eventTime>{at}</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>"
    if version == "2.0" and event_id:
        text += f"<eventID>{event_id}</eventID>"
    return text


def base_extension(event_id: str, version: str) -> str:
    return f"<baseExtension><eventID>{event_id}</eventID></baseExtension>" if version == "1.2" and event_id else ""


def extended(members: str, version: str) -> str:
    """Members EPCIS 1.2 holds in the event's extension element and 2.0 holds directly."""
    return f"<extension>{members}</extension>" if version == "1.2" else members


def commissioning_xml(
    maker: Party, epcs: list[Any], version: str = "1.2", at: str = "2026-11-20T09:00:00.000-05:00",
    lot: str = LOT, expiry: str = "2030-06-30", event_id: str = "",
) -> str:  # fmt: skip
    ilmd = f"<ilmd><cbvmda:lotNumber>{lot}</cbvmda:lotNumber><cbvmda:itemExpirationDate>{expiry}</cbvmda:itemExpirationDate></ilmd>"
    return (
        "<ObjectEvent>" + header_times(at, event_id, version) + base_extension(event_id, version)
        + epc_list("epcList", epcs) + "<action>ADD</action>"
        + "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition>"
        + where(maker) + extended(ilmd, version) + "</ObjectEvent>"
    )  # fmt: skip


def packing_xml(party: Party, parent: Sscc | Sgtin, children: list[Any], at: str = "2026-11-20T09:30:00.000-05:00", version: str = "1.2") -> str:
    return (
        "<AggregationEvent>" + header_times(at, "", version) + f"<parentID>{parent.as_urn()}</parentID>"
        + epc_list("childEPCs", children) + "<action>ADD</action>"
        + "<bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep><disposition>urn:epcglobal:cbv:disp:in_progress</disposition>"
        + where(party) + "</AggregationEvent>"
    )  # fmt: skip


def shipping_xml(sender: Party, receiver: Party, epcs: list[Any], version: str = "1.2", at: str = "2026-11-20T10:00:00.000-05:00", event_id: str = "") -> str:
    parties_xml = (
        "<sourceList>"
        f'<source type="urn:epcglobal:cbv:sdt:owning_party">{pgln(sender.gln)}</source>'
        f'<source type="urn:epcglobal:cbv:sdt:location">{sgln(sender.gln)}</source>'
        "</sourceList><destinationList>"
        f'<destination type="urn:epcglobal:cbv:sdt:owning_party">{pgln(receiver.gln)}</destination>'
        f'<destination type="urn:epcglobal:cbv:sdt:location">{sgln(receiver.gln)}</destination>'
        "</destinationList>"
    )
    return (
        "<ObjectEvent>" + header_times(at, event_id, version) + base_extension(event_id, version)
        + epc_list("epcList", epcs) + "<action>OBSERVE</action>"
        + "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><disposition>urn:epcglobal:cbv:disp:in_transit</disposition>"
        + where(sender) + "<bizTransactionList>"
        + '<bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epcglobal:cbv:bt:0300000000003:PO-4711</bizTransaction>'
        + '<bizTransaction type="urn:epcglobal:cbv:btt:desadv">urn:epcglobal:cbv:bt:0300000000003:ASN-815</bizTransaction>'
        + "</bizTransactionList>" + extended(parties_xml, version) + "</ObjectEvent>"
    )  # fmt: skip


def receiving_xml(receiver: Party, epcs: list[Any], version: str = "2.0", at: str = "2026-11-21T08:00:00.000-05:00") -> str:
    destination = f'<destinationList><destination type="urn:epcglobal:cbv:sdt:location">{sgln(receiver.gln)}</destination></destinationList>'
    return (
        "<ObjectEvent>" + header_times(at, "", version) + epc_list("epcList", epcs) + "<action>OBSERVE</action>"
        + "<bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep><disposition>urn:epcglobal:cbv:disp:in_progress</disposition>"
        + where(receiver) + extended(destination, version) + "</ObjectEvent>"
    )  # fmt: skip


def sbdh(sender: Party, receiver: Party) -> str:
    return (
        "<sbdh:StandardBusinessDocumentHeader><sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>"
        f'<sbdh:Sender><sbdh:Identifier Authority="GS1">{sender.gln}</sbdh:Identifier></sbdh:Sender>'
        f'<sbdh:Receiver><sbdh:Identifier Authority="GS1">{receiver.gln}</sbdh:Identifier></sbdh:Receiver>'
        "<sbdh:DocumentIdentification><sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>1.0</sbdh:TypeVersion>"
        "<sbdh:InstanceIdentifier>b2a1c9d4-0000-4000-8000-000000000023</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>"
        "<sbdh:CreationDateAndTime>2026-11-20T11:00:00.000-05:00</sbdh:CreationDateAndTime></sbdh:DocumentIdentification>"
        "</sbdh:StandardBusinessDocumentHeader>"
    )


def xml_document(*events: str, version: str = "1.2", header: str = "", in_extension: str = "") -> bytes:
    """An EPCISDocument; ``in_extension`` are events EPCIS 1.2 wraps in EventList/extension."""
    namespace = EPCIS_1 if version == "1.2" else EPCIS_2
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<epcis:EPCISDocument xmlns:epcis="{namespace}" xmlns:cbvmda="urn:epcglobal:cbv:mda" '
        'xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader" '
        f'xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns" schemaVersion="{version}" creationDate="2026-11-20T11:00:00.000-05:00">\n'
        + (f"<EPCISHeader>{header}</EPCISHeader>\n" if header else "")
        + "<EPCISBody><EventList>\n" + "\n".join(events)
        + (f"<extension>{in_extension}</extension>" if in_extension else "")
        + "\n</EventList></EPCISBody></epcis:EPCISDocument>\n"
    ).encode()  # fmt: skip


def dscsa_header(sender: Party, receiver: Party) -> str:
    return (
        sbdh(sender, receiver) + "<gs1ushc:dscsaTransactionStatement>"
        "<gs1ushc:affirmTransactionStatement>true</gs1ushc:affirmTransactionStatement>"
        f"<gs1ushc:legalNotice>{STATEMENT}</gs1ushc:legalNotice></gs1ushc:dscsaTransactionStatement>"
        "<gs1ushc:guidelineVersion>1.3</gs1ushc:guidelineVersion>"
    )


def ship_a_pallet(maker: Party, buyer: Party, desadv: str, po: str, units: int = 5) -> dict[str, Any]:
    """In one EPCIS 1.2 XML document: ``units`` units commissioned, four packed into a case, the
    case onto a pallet, the pallet shipped to ``buyer`` under ``desadv`` and ``po``. The rest
    stay behind. Answers the units, the case and the pallet."""
    made, case, pallet = new_units(maker, units), new_sscc(maker), new_sscc(maker)
    body = xml_document(
        commissioning_xml(maker, made),
        packing_xml(maker, case, made[:4]),
        packing_xml(maker, pallet, [case], at="2026-11-20T09:40:00.000-05:00"),
        shipping_xml(maker, buyer, [pallet]).replace("ASN-815", desadv).replace("PO-4711", po),
    )
    answer = maker.post(body, XML)
    assert answer.status_code == 200, answer.text
    return {"units": made, "case": case, "pallet": pallet}


def assert_refused(answer: Any, status: int, code: str, words: str = "") -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    assert words in body["detail"], body
    return body


@pytest.fixture(scope="module")
def direct_purchase(parties: dict[str, Party]) -> dict[str, Any]:
    """A direct purchase in EPCIS 1.2 XML to the GS1 US guideline: 12 units commissioned, packed
    six to a case, both cases onto a pallet, the pallet shipped to the wholesaler; the
    wholesaler receives the pallet with an EPCIS 2.0 XML document."""
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    units = new_units(maker, 12)
    case_a, case_b, pallet = new_sscc(maker), new_sscc(maker), new_sscc(maker)
    body = xml_document(
        commissioning_xml(maker, units, event_id="urn:uuid:7d0f0c8e-23aa-4b53-9c54-000000000001"),
        packing_xml(maker, case_a, units[:6]),
        packing_xml(maker, case_b, units[6:]),
        packing_xml(maker, pallet, [case_a, case_b], at="2026-11-20T09:40:00.000-05:00"),
        shipping_xml(maker, wholesaler, [pallet], event_id="urn:uuid:7d0f0c8e-23aa-4b53-9c54-000000000002"),
        header=dscsa_header(maker, wholesaler),
    )
    shipped = maker.post(body, XML)
    received = wholesaler.post(xml_document(receiving_xml(wholesaler, [pallet]), version="2.0"), "text/xml")
    return {"units": units, "pallet": pallet, "shipped": shipped, "received": received, "body": body}


def test_a_dscsa_direct_purchase_in_epcis_1_2_xml_is_applied_like_json(direct_purchase: dict[str, Any]) -> None:
    shipped = direct_purchase["shipped"]
    assert shipped.status_code == 200, shipped.text
    assert shipped.json() == {
        "applied": True,
        "events": 5,
        "duplicates": 0,
        "unit_events": 12 * 4,  # commissioned, packed into cases, cases onto the pallet, shipped
        "commissioned": 12,
        "state_changes": 0,
    }


def test_receiving_in_epcis_2_0_xml_puts_every_unit_at_the_receiver(
    parties: dict[str, Party], direct_purchase: dict[str, Any]
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    assert direct_purchase["received"].status_code == 200, direct_purchase["received"].text
    assert direct_purchase["received"].json()["unit_events"] == 12
    seen = history(maker.client, direct_purchase["units"][0])
    assert [(e["event"], e["gln"]) for e in seen["events"]] == [
        ("commissioning", ""),
        ("packing", maker.gln),
        ("packing", maker.gln),
        ("shipping", maker.gln),
        ("receiving", wholesaler.gln),
    ]
    assert seen["lot"] == LOT and seen["expiry"] == EXPIRY
    shipped = next(e for e in seen["events"] if e["event"] == "shipping")
    assert "po urn:epcglobal:cbv:bt:0300000000003:PO-4711" in shipped["detail"], shipped
    assert "desadv urn:epcglobal:cbv:bt:0300000000003:ASN-815" in shipped["detail"]
    assert shipped["to"] == [wholesaler.gln]
    # The GS1 US header's transaction statement and guideline are kept with the shipment.
    assert "DSCSA transaction statement affirmed" in shipped["detail"] and "GS1 US guideline 1.3" in shipped["detail"]
    assert "drop shipment" not in shipped["detail"]


def test_the_same_xml_document_again_is_ignored_event_by_event(parties: dict[str, Party], direct_purchase: dict[str, Any]) -> None:
    again = parties["maker"].post(direct_purchase["body"], XML)
    assert again.status_code == 200, again.text
    assert again.json()["duplicates"] == 5 and again.json()["unit_events"] == 0


def test_an_xml_event_that_breaks_a_rule_refuses_the_document_with_its_index_and_event_id(parties: dict[str, Party]) -> None:
    maker, other = parties["maker"], parties["other"]
    units = new_units(maker, 2)
    foreign = commissioning_xml(other, units[1:], event_id="urn:uuid:7d0f0c8e-23aa-4b53-9c54-0000000000ff")
    answer = maker.post(xml_document(commissioning_xml(maker, units[:1]), foreign), XML)
    body = assert_refused(answer, 403, "epcis.refused", "event 1")
    assert body["errors"][0]["index"] == 1 and body["errors"][0]["code"] == "epcis.foreign_location"
    assert body["errors"][0]["eventID"] == "urn:uuid:7d0f0c8e-23aa-4b53-9c54-0000000000ff"
    assert maker.client.get(f"/v1/packs/{units[0].gtin}/{units[0].serial.replace('/', '%2F')}/history").status_code == 404


def unsupported_event(event_type: str, members: str) -> str:
    """An event of a type verinet does not capture, at 2026-11-20T09:00Z."""
    when = "<eventTime>2026-11-20T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
    return f"<{event_type}>{when}{members}</{event_type}>"


def refusal_of_extension_events(party: Party, in_extension: str) -> dict[str, Any]:
    """The first error of the 400 refusing a 1.2 document whose events are ``in_extension``."""
    body = assert_refused(party.post(xml_document(in_extension=in_extension), XML), 400, "epcis.refused")
    return body["errors"][0]


def test_an_unsupported_event_type_in_xml_is_refused_with_a_reason(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    epcs = epc_list("inputEPCList", new_units(maker, 1))
    error = refusal_of_extension_events(maker, unsupported_event("TransformationEvent", epcs + where(maker)))
    assert "TransformationEvent" in error["message"]


def test_an_xml_commissioning_with_a_bad_lot_names_the_field(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    answer = maker.post(xml_document(commissioning_xml(maker, new_units(maker, 1), lot="LOT WITH SPACES?")), XML)
    body = assert_refused(answer, 400, "epcis.refused", "lotNumber")
    assert body["errors"][0]["field"] == "epcisBody.eventList[0].ilmd"


def test_an_xml_document_that_is_not_epcis_is_refused_with_what_was_expected(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    assert_refused(maker.post(b"<order><line/></order>", XML), 400, "body.xml", "expected the root element EPCISDocument")
    assert_refused(maker.post(b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:1' schemaVersion='1.2'", XML), 400, "body.xml", "line 1")
    no_version = b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:1' creationDate='2026-11-20T11:00:00Z'/>"
    assert_refused(maker.post(no_version, XML), 400, "body.xml", "schemaVersion")
    no_body = b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2' schemaVersion='2.0' creationDate='2026-11-20T11:00:00Z'/>"
    assert_refused(maker.post(no_body, XML), 400, "epcis.schema", "EventList")
    assert_refused(maker.post(b"", XML), 400, "body.xml")


def test_an_xml_event_time_without_offset_takes_the_events_time_zone(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 1)
    event = commissioning_xml(maker, units, at="2026-11-20T09:00:00")
    answer = maker.post(xml_document(event), XML)
    assert answer.status_code == 200, answer.text
    assert history(maker.client, units[0])["events"][0]["event"] == "commissioning"


# -- hostile XML -----------------------------------------------------------------------------------


def assert_refused_quickly(party: Party, body: bytes, words: str) -> None:
    started = time.monotonic()
    answer = party.post(body, XML)
    assert time.monotonic() - started < 2.0
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] in ("body.xml", "body.xml_limit"), answer.text
    assert words in answer.json()["detail"], answer.text


def test_entity_expansion_is_refused_before_anything_expands(parties: dict[str, Party]) -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE d [{entities}]><d>&a9;</d>'.encode()
    assert_refused_quickly(parties["maker"], bomb, "DOCTYPE")


def test_an_external_entity_is_refused_and_never_read(parties: dict[str, Party]) -> None:
    leak = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    assert_refused_quickly(parties["maker"], leak, "DOCTYPE")
    answer = parties["maker"].post(leak, XML)
    assert "root:" not in answer.text
    undeclared = b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:1' schemaVersion='1.2' creationDate='x'>&x;</epcis:EPCISDocument>"
    assert_refused_quickly(parties["maker"], undeclared, "undefined entity")


def test_a_dtd_that_points_outside_is_refused(parties: dict[str, Party]) -> None:
    remote = b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><d/>'
    assert_refused_quickly(parties["maker"], remote, "DOCTYPE")
    behind_a_comment = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a comment first -->\n<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'
    assert_refused_quickly(parties["maker"], behind_a_comment, "DOCTYPE")


def test_an_encoding_that_could_hide_markup_is_refused(parties: dict[str, Party]) -> None:
    """Only UTF-8 (ASCII, Latin-1) bodies: a DOCTYPE cannot hide in UTF-16 or UTF-7 bytes."""
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'
    assert_refused_quickly(parties["maker"], utf16.encode("utf-16"), "expected an XML document in UTF-8")
    declared = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d+AD4-<d/>'
    assert_refused_quickly(parties["maker"], declared, "expected the encoding UTF-8, got 'UTF-7'")


def test_deep_nesting_is_refused_at_the_depth_bound(parties: dict[str, Party]) -> None:
    deep = xml_document(commissioning_xml(parties["maker"], [], version="2.0").replace("<epcList></epcList>", "<x>" * 100_000 + "</x>" * 100_000), version="2.0")
    assert_refused_quickly(parties["maker"], deep, "nested deeper than 64 levels")


def test_huge_text_and_huge_markup_are_refused_without_holding_them(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 1)
    huge_epc = xml_document(commissioning_xml(maker, units).replace(units[0].as_urn(), "9" * 20_000_000))
    assert_refused_quickly(maker, huge_epc, "longer than 1,048,576 bytes")
    long_epc = xml_document(commissioning_xml(maker, units).replace(units[0].as_urn(), "9" * 100_000))
    assert_refused_quickly(maker, long_epc, "the text of epc is longer than 65,536 characters")
    huge_attribute = b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" a="' + b"x" * 20_000_000 + b'"/>'
    assert_refused_quickly(maker, huge_attribute, "longer than 1,048,576 bytes")
    huge_comment = b"<!--" + b"x" * 20_000_000 + b"-->"
    assert_refused_quickly(maker, huge_comment, "longer than 1,048,576 bytes")


def test_the_cli_detects_an_xml_document(network: Any, parties: dict[str, Party], tmp_path: Any) -> None:
    maker = parties["maker"]
    units = new_units(maker, 3)
    path = tmp_path / "dscsa-commissioning.epcis"  # no telling suffix: the first character decides
    path.write_bytes(xml_document(commissioning_xml(maker, units)))
    done = run_cli(network, maker.client.token or "", "--no-progress", str(path))
    assert done.returncode == 0, done.stderr
    assert "Applied: 1 events" in done.stderr and "3 commissioned" in done.stderr
    assert history(maker.client, units[2])["lot"] == LOT



def test_sscc_commissioning_without_ilmd_is_accepted(parties: dict[str, Party]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    pallet = new_sscc(maker)
    event = commissioning_xml(maker, [pallet]).replace(
        "<extension><ilmd>", "<extension><!-- no ilmd for a pallet --><ilmd>"
    )
    event = event[: event.index("<extension>")] + "</ObjectEvent>"
    answer = maker.post(xml_document(event), XML)
    assert answer.status_code == 200, answer.text
    assert answer.json()["commissioned"] == 0 and answer.json()["events"] == 1
    # A wholesaler builds its own outbound pallets too, at its own location.
    own_pallet = new_sscc(maker)
    by_wholesaler = commissioning_xml(wholesaler, [own_pallet])
    by_wholesaler = by_wholesaler[: by_wholesaler.index("<extension>")] + "</ObjectEvent>"
    assert wholesaler.post(xml_document(by_wholesaler), XML).status_code == 200


def test_commissioning_never_refuses_a_past_expiry_date(parties: dict[str, Party]) -> None:
    """Old data is real data: packs that expired years ago are commissioned as they were."""
    maker = parties["maker"]
    units = new_units(maker, 2)
    answer = maker.post(xml_document(commissioning_xml(maker, units, expiry="2019-06-30", at="2017-06-01T08:00:00Z")), XML)
    assert answer.status_code == 200, answer.text
    assert history(maker.client, units[0])["expiry"] == "190630"


def gtin_under(prefix: str, reference: int, indicator: str = "0") -> str:
    return with_check_digit(indicator + prefix + str(reference).rjust(12 - len(prefix), "0"))


def class_pattern(gtin: str, prefix: str) -> str:
    return f"urn:epc:idpat:sgtin:{prefix}.{gtin[0]}{gtin[1 + len(prefix) : 13]}.*"


def epc_class(identifier: str, **attributes: str) -> str:
    values = "".join(f'<attribute id="urn:epcglobal:cbv:mda#{name}">{escape(value)}</attribute>' for name, value in attributes.items())
    return f'<VocabularyElement id="{identifier}">{values}</VocabularyElement>'


def master_data(classes: list[str], locations: list[str] = ()) -> str:  # type: ignore[assignment]
    vocabularies = (
        '<Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>'
        + "".join(classes) + "</VocabularyElementList></Vocabulary>"
    )  # fmt: skip
    if locations:
        vocabularies += (
            '<Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>'
            + "".join(locations) + "</VocabularyElementList></Vocabulary>"
        )  # fmt: skip
    return f"<extension><EPCISMasterData><VocabularyList>{vocabularies}</VocabularyList></EPCISMasterData></extension>"


def test_epc_class_master_data_registers_the_callers_product_before_its_units_are_commissioned(
    parties: dict[str, Party],
) -> None:
    maker, other, wholesaler = parties["maker"], parties["other"], parties["wholesaler"]
    gtin = gtin_under(maker.prefix, 7023)
    foreign = "00361414232242"  # another company's product, whose master data travels with its goods
    product = epc_class(
        class_pattern(gtin, maker.prefix),
        additionalTradeItemIdentification="12345-702-30",
        additionalTradeItemIdentificationTypeCode="US_FDA_NDC",
        regulatedProductName="Examplamab Injection",
        manufacturerOfTradeItemPartyName="Example Pharma Inc.",
        dosageFormType="INJECTION, SOLUTION",
        strengthDescription="50 mg/mL",
        netContentDescription="1 vial, 2 mL",
    )
    location = f'<VocabularyElement id="{sgln(maker.gln)}"><attribute id="urn:epcglobal:cbv:mda#name">Example Pharma DC</attribute></VocabularyElement>'
    header = dscsa_header(maker, wholesaler) + master_data([product, epc_class(class_pattern(foreign, "0361414"), regulatedProductName="Not yours")], [location])
    units = [Sgtin(gtin, f"MD{n}", len(maker.prefix)) for n in range(3)]
    answer = maker.post(xml_document(commissioning_xml(maker, units), header=header), XML)
    assert answer.status_code == 200, answer.text
    assert answer.json()["commissioned"] == 3
    read = maker.client.get(f"/v1/products/{gtin}")
    assert read.status_code == 200, read.text
    assert read.json()["name"] == "Examplamab Injection" and read.json()["owner"] == maker.id
    assert read.json()["master_data"] == {
        "dosage_form": "INJECTION, SOLUTION",
        "manufacturer": "Example Pharma Inc.",
        "ndc": "12345-702-30",
        "net_content": "1 vial, 2 mL",
        "strength": "50 mg/mL",
    }
    # A later document updates what it names and keeps the rest.
    update = master_data([epc_class(class_pattern(gtin, maker.prefix), strengthDescription="100 mg/mL")])
    assert maker.post(xml_document(header=update), XML).status_code == 200
    again = maker.client.get(f"/v1/products/{gtin}").json()
    assert again["master_data"]["strength"] == "100 mg/mL" and again["master_data"]["ndc"] == "12345-702-30"
    # Nobody else reads it; nobody registered the other company's GTIN.
    assert wholesaler.client.get(f"/v1/products/{gtin}").status_code == 403
    assert other.client.get(f"/v1/products/{gtin}").status_code == 403
    assert maker.client.get(f"/v1/products/{foreign}").status_code == 403


def test_master_data_of_a_non_manufacturer_registers_nothing(parties: dict[str, Party]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    gtin = gtin_under(maker.prefix, 7024)
    header = master_data([epc_class(class_pattern(gtin, maker.prefix), regulatedProductName="Forwarded")])
    assert wholesaler.post(xml_document(header=header), XML).status_code == 200
    assert maker.client.get(f"/v1/products/{gtin}").status_code == 404


def observe_xml(party: Party, parent: Any, step: str, at: str, destination: Party | None = None) -> str:
    """An AggregationEvent OBSERVE of a parent alone (2.0 XML): it applies to all inside."""
    parties_xml = ""
    if destination is not None:
        parties_xml = f'<destinationList><destination type="urn:epcglobal:cbv:sdt:location">{sgln(destination.gln)}</destination></destinationList>'
    return (
        f"<AggregationEvent><eventTime>{at}</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>"
        f"<parentID>{parent.as_urn()}</parentID><action>OBSERVE</action>"
        f"<bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep>{where(party)}{parties_xml}</AggregationEvent>"
    )


@pytest.fixture(scope="module")
def serialized_cases(parties: dict[str, Party]) -> dict[str, Any]:
    """The GS1 US direct purchase with serialized cases: master data for the unit and the case
    GTIN; units and cases commissioned with lot and expiry, units packed into the cases, a pallet
    commissioned without ILMD and the cases packed onto it, the pallet shipped as a drop shipment;
    the wholesaler receives and unpacks the pallet and ships one case on to the pharmacy, which
    receives it by observing the case alone."""
    maker, wholesaler, pharmacy = parties["maker"], parties["wholesaler"], parties["pharmacy"]
    unit_gtin, case_gtin = gtin_under(maker.prefix, 8100), gtin_under(maker.prefix, 8100, indicator="5")
    units = [Sgtin(unit_gtin, f"U{n}", len(maker.prefix)) for n in range(6)]
    cases = [Sgtin(case_gtin, f"C{n}", len(maker.prefix)) for n in range(2)]
    pallet = new_sscc(maker)
    classes = [
        epc_class(class_pattern(unit_gtin, maker.prefix), regulatedProductName="Examplol 10 mg tablets",
                  additionalTradeItemIdentification="12345-810-01", additionalTradeItemIdentificationTypeCode="US_FDA_NDC"),
        epc_class(class_pattern(case_gtin, maker.prefix), regulatedProductName="Examplol 10 mg tablets, case of 3"),
    ]  # fmt: skip
    pallet_commissioning = commissioning_xml(maker, [pallet], at="2026-11-20T09:35:00.000-05:00")
    pallet_commissioning = pallet_commissioning[: pallet_commissioning.index("<extension>")] + "</ObjectEvent>"
    drop_shipment = shipping_xml(maker, wholesaler, [pallet]).replace(
        "</ObjectEvent>", "<gs1ushc:dropShipment>true</gs1ushc:dropShipment></ObjectEvent>"
    )
    shipped = maker.post(
        xml_document(
            commissioning_xml(maker, units), commissioning_xml(maker, cases),
            packing_xml(maker, cases[0], units[:3]),
            packing_xml(maker, cases[1], units[3:]),
            pallet_commissioning,
            packing_xml(maker, pallet, cases, at="2026-11-20T09:40:00.000-05:00"),
            drop_shipment,
            header=dscsa_header(maker, wholesaler) + master_data(classes),
        ),
        XML,
    )  # fmt: skip
    received = wholesaler.post(
        xml_document(
            receiving_xml(wholesaler, [pallet]),
            "<AggregationEvent><eventTime>2026-11-21T09:00:00.000-05:00</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>"
            f"<parentID>{pallet.as_urn()}</parentID><action>DELETE</action>"
            f"<bizStep>urn:epcglobal:cbv:bizstep:unpacking</bizStep>{where(wholesaler)}</AggregationEvent>",
            shipping_xml(wholesaler, pharmacy, [cases[0]], version="2.0", at="2026-11-22T10:00:00.000-05:00"),
            version="2.0",
        ),
        XML,
    )  # fmt: skip
    observed = pharmacy.post(xml_document(observe_xml(pharmacy, cases[0], "receiving", "2026-11-23T08:00:00.000-05:00", pharmacy), version="2.0"), XML)
    return {"units": units, "cases": cases, "pallet": pallet, "shipped": shipped, "received": received, "observed": observed}


def test_serialized_cases_are_commissioned_units_and_parents(serialized_cases: dict[str, Any]) -> None:
    shipped = serialized_cases["shipped"]
    assert shipped.status_code == 200, shipped.text
    # 6 units and 2 cases commissioned; 6 packed into cases; 2 cases and their 6 units onto the
    # pallet; the same 8 shipped. The pallet's own commissioning is an event without units.
    assert shipped.json() == {
        "applied": True, "events": 7, "duplicates": 0, "unit_events": 8 + 6 + 8 + 8, "commissioned": 8, "state_changes": 0,
    }  # fmt: skip


def test_a_case_shipped_on_takes_its_contents_and_observing_it_receives_them(
    parties: dict[str, Party], serialized_cases: dict[str, Any]
) -> None:
    maker, wholesaler, pharmacy = parties["maker"], parties["wholesaler"], parties["pharmacy"]
    assert serialized_cases["received"].status_code == 200, serialized_cases["received"].text
    assert serialized_cases["observed"].status_code == 200, serialized_cases["observed"].text
    assert serialized_cases["observed"].json()["unit_events"] == 4  # the case and its 3 units
    inside = history(maker.client, serialized_cases["units"][0])
    assert [(e["event"], e["gln"]) for e in inside["events"]][-4:] == [
        ("receiving", wholesaler.gln),
        ("unpacking", wholesaler.gln),  # the pallet; the unit stays in its case
        ("shipping", wholesaler.gln),
        ("receiving", pharmacy.gln),
    ]
    packed = next(e for e in inside["events"] if e["event"] == "packing")
    assert f"case serial 'C0' of GTIN {serialized_cases['cases'][0].gtin}" in packed["detail"], packed
    shipments = [e["detail"] for e in inside["events"] if e["event"] == "shipping"]
    assert "drop shipment" in shipments[0] and "drop shipment" not in shipments[1], shipments
    case = history(maker.client, serialized_cases["cases"][0])
    assert case["lot"] == LOT and case["events"][-1] == {**case["events"][-1], "event": "receiving", "gln": pharmacy.gln}
    # The other case and its units stay with the wholesaler.
    other_unit = history(maker.client, serialized_cases["units"][5])
    assert other_unit["events"][-1]["event"] == "unpacking" and other_unit["events"][-1]["gln"] == wholesaler.gln


def test_a_unit_sgtin_as_parent_is_refused_with_what_is_expected(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 2)
    answer = maker.post(xml_document(packing_xml(maker, units[0], units[1:])), XML)
    body = assert_refused(answer, 400, "epcis.refused", "indicator digit")
    assert body["errors"][0]["field"] == "epcisBody.eventList[0].parentID"


def location_element(gln: str, **attributes: str) -> str:
    values = "".join(f'<attribute id="urn:epcglobal:cbv:mda#{name}">{escape(value)}</attribute>' for name, value in attributes.items())
    return f'<VocabularyElement id="{sgln(gln)}">{values}</VocabularyElement>'


def test_location_master_data_names_the_callers_own_glns_in_pack_histories(
    parties: dict[str, Party], direct_purchase: dict[str, Any]
) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    own = location_element(maker.gln, name="Example Pharma DC", streetAddressOne="1 Example Way", city="Columbus",
                           state="OH", postalCode="43004", countryCode="US")  # fmt: skip
    spoofed = location_element(wholesaler.gln, name="Not the wholesaler's own name")
    units, case = new_units(maker, 2), new_sscc(maker)
    answer = maker.post(
        xml_document(commissioning_xml(maker, units), packing_xml(maker, case, units), header=master_data([], [own, spoofed])),
        XML,
    )
    assert answer.status_code == 200, answer.text
    packed = history(maker.client, units[0])["events"][-1]
    assert packed["event"] == "packing" and packed["gln"] == maker.gln
    assert packed["location"] == {
        "name": "Example Pharma DC", "street": "1 Example Way", "city": "Columbus", "state": "OH",
        "postal_code": "43004", "country_code": "US", "address": "1 Example Way, Columbus, OH 43004, US",
    }  # fmt: skip
    # Earlier events at the same GLN show the name too; the wholesaler's GLN was not renamed.
    earlier = history(maker.client, direct_purchase["units"][0])["events"]
    assert all(e["location"]["name"] == "Example Pharma DC" for e in earlier if e["gln"] == maker.gln)
    assert all("location" not in e for e in earlier if e["gln"] == wholesaler.gln)


def test_a_bare_doctype_as_in_published_examples_is_accepted(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    units = new_units(maker, 1)
    body = xml_document(commissioning_xml(maker, units)).replace(b"?>\n", b"?>\n<!DOCTYPE project>\n", 1)
    assert b"<!DOCTYPE project>" in body
    answer = maker.post(body, XML)
    assert answer.status_code == 200, answer.text


def test_an_event_in_nested_1_2_extensions_is_read_and_refused_by_its_type(parties: dict[str, Party]) -> None:
    maker = parties["maker"]
    members = f"<parentID>{new_sscc(maker).as_urn()}</parentID><action>ADD</action>{where(maker)}"
    association = unsupported_event("AssociationEvent", members)
    error = refusal_of_extension_events(maker, f"<extension>{association}</extension>")
    assert error["code"] == "epcis.event_type" and "AssociationEvent" in error["message"]


def test_a_recall_names_the_location_that_holds_the_units(parties: dict[str, Party], direct_purchase: dict[str, Any]) -> None:
    maker, wholesaler = parties["maker"], parties["wholesaler"]
    named = location_element(wholesaler.gln, name="Example Wholesale East", city="Newark", state="NJ", countryCode="US")
    assert wholesaler.post(xml_document(header=master_data([], [named])), XML).status_code == 200
    units = direct_purchase["units"]
    preview = maker.client.post("/v1/recalls/preview", json={"units": [{"gtin": u.gtin, "serial": u.serial} for u in units]})
    assert preview.status_code == 200, preview.text
    assert preview.json()["units_by_location"] == [
        {"gln": wholesaler.gln, "partner": wholesaler.id, "units": len(units),
         "location": {"name": "Example Wholesale East", "city": "Newark", "state": "NJ", "country_code": "US",
                      "address": "Newark, NJ, US"}},
    ]  # fmt: skip


def test_every_truncation_of_a_document_is_refused_with_a_reason_never_a_server_error(
    parties: dict[str, Party], direct_purchase: dict[str, Any]
) -> None:
    maker = parties["maker"]
    body: bytes = direct_purchase["body"]
    for cut in range(0, len(body), max(1, len(body) // 40)):
        answer = maker.post(body[:cut], XML)
        assert answer.status_code == 400, (cut, answer.status_code, answer.text)
        assert answer.json()["code"] in ("body.xml", "body.xml_limit", "epcis.schema"), (cut, answer.text)
