"""The DSCSA document a seller sends its buyer: ``GET /v1/shipments/{id}/epcis``.

For a shipment the caller captured (``id``: its ``desadv`` or ``po`` reference, whole or the
part after the last ``:`` or ``/``), the answer is an EPCIS 1.2 XML document after the GS1 US
guideline: an SBDH header from the seller's GLN to the destination, the affirmed DSCSA
transaction statement, EPCClass master data of the seller's own products, then the events of
exactly the units shipped: their commissioning (EPC lists cut to the shipped units), the packing
of every case and pallet shipped (the caller's own AggregationEvents, nested cases included) and
the shipping events. EPCs of the seller's own GTINs and SSCCs are written as EPC URNs, others as
the Digital Links the network keeps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from aiohttp import web

from verinet.callers import Role, owning_prefix, owns_key
from verinet.epc import Gln, Sgtin, Sscc, parse_epc
from verinet.errors import NotFound, VerinetError
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.epcis_query import event_xml
from verinet.gateway.lms import caller_message
from verinet.gateway.routing import RouteTable
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.timestamps import utc_z_ms

routes = RouteTable()

#: Sellers: the partners that ship packs to others.
EXPORT_ROLES = (Role.MANUFACTURER, Role.WHOLESALER)
STATEMENT = (
    "Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G)."
)

PAGE = 1000
MAX_DEPTH = 8  # pallets of cases of inner packs: far deeper than any real shipment


async def events(clients: Any, request: rs_pb.QueryEventsRequest) -> list[dict[str, Any]]:
    """Every event a query finds, page after page."""
    found: list[dict[str, Any]] = []
    request.per_page = PAGE
    while True:
        answer = await clients.ask(clients.recall_status.QueryEvents, request)
        found += [orjson.loads(e) for e in answer.events]
        if not answer.next_page_token:
            return found
        request.page_token = answer.next_page_token


def key_of(link: str) -> str:
    epc = parse_epc(link)
    return epc.gtin + epc.serial if isinstance(epc, Sgtin) else epc.sscc


class Writer:
    """EPCs and locations as the seller writes them: URNs where the company prefix is known."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner

    def prefix_length(self, digits: str) -> int | None:
        """The length of the seller's company prefix that ``digits`` (no indicator) start with."""
        prefix = owns_key(self.partner.company_prefixes, digits)
        return len(prefix) if prefix else None

    def epc(self, link: str) -> str:
        try:
            epc = parse_epc(link)
        except VerinetError:
            return link
        if isinstance(epc, Sgtin):
            length = self.prefix_length(epc.gtin[1:])
            return Sgtin(epc.gtin, epc.serial, length).as_urn() if length else link
        if isinstance(epc, Sscc):
            length = self.prefix_length(epc.sscc[1:])
            return Sscc(epc.sscc, length).as_urn() if length else link
        return link

    def location(self, link: str) -> str:
        gln = link.rsplit("/", 1)[-1]
        length = self.prefix_length(gln)
        party = "/417/" in link
        return Gln(gln, party=party).as_urn(length) if length else link

    def event(self, event: dict[str, Any]) -> str:
        return event_xml(event, version="1.2", epc=self.epc, location=self.location)


@routes.route(
    "GET",
    "/v1/shipments/{id}/epcis",
    roles=EXPORT_ROLES,
    tag="EPCIS query",
    summary="The DSCSA document for one of your shipments (by its desadv or po): EPCIS 1.2 XML after the GS1 US guideline",
    responses={"200": "EPCIS 1.2 XML document", "404": "No shipment of yours with that reference"},
)
async def shipment_document(request: web.Request, partner: Partner) -> web.Response:
    reference = request.match_info["id"]
    clients = request.app[CLIENTS]
    caller = caller_message(partner)
    shipped = await events(clients, rs_pb.QueryEventsRequest(
        caller=caller, eq_biz_step=["shipping"], eq_biz_transaction=[reference], captured_by_caller=True,
    ))  # fmt: skip
    if not shipped:
        raise NotFound(f"No shipment of yours has the desadv or po {reference!r}.", code="shipment.not_found", field="id")
    until = max(dt.datetime.fromisoformat(e["eventTime"]).timestamp() for e in shipped)
    units: set[str] = set()
    containers: set[str] = set()
    for event in shipped:
        for link in event.get("epcList", []):
            (units if isinstance(parse_epc(link), Sgtin) else containers).add(key_of(link))
    packing: list[dict[str, Any]] = []
    pending, depth = set(containers), 0
    while pending and depth < MAX_DEPTH:
        depth += 1
        found = await events(clients, rs_pb.QueryEventsRequest(
            caller=caller, match_parent_id=sorted(pending), captured_by_caller=True, lt_event_time=until + 0.001,
        ))  # fmt: skip
        pending = set()
        for event in found:
            if event["type"] != "AggregationEvent" or event["action"] != "ADD":
                continue
            packing.append(event)
            for link in event.get("childEPCs", []):
                key = key_of(link)
                if isinstance(parse_epc(link), Sgtin):
                    units.add(key)
                elif key not in containers:
                    containers.add(key)
                    pending.add(key)
    commissioning = []
    if units:
        for event in await events(clients, rs_pb.QueryEventsRequest(caller=caller, match_epc=sorted(units), eq_biz_step=["commissioning"])):
            event["epcList"] = [e for e in event["epcList"] if key_of(e) in units]
            commissioning.append(event)
    body = document(partner, shipped, sorted(packing, key=lambda e: e["eventTime"]), commissioning,
                    await master_data(clients, caller, partner, units))  # fmt: skip
    return web.Response(body=body, content_type="application/xml")


async def master_data(clients: Any, caller: Any, partner: Partner, units: set[str]) -> str:
    """EPCClass elements for the seller's own products among the units."""
    elements = []
    for gtin in sorted({u[:14] for u in units}):
        prefix = owning_prefix(partner.company_prefixes, gtin)
        if prefix is None:
            continue
        try:
            product = await clients.ask(clients.recall_status.GetProduct, rs_pb.GetProductRequest(caller=caller, gtin=gtin))
        except VerinetError:
            continue
        pattern = f"urn:epc:idpat:sgtin:{prefix}.{gtin[0]}{gtin[1 + len(prefix) : 13]}.*"
        attributes = {"regulatedProductName": product.name}
        names = {"ndc": "additionalTradeItemIdentification", "dosage_form": "dosageFormType", "strength": "strengthDescription",
                 "net_content": "netContentDescription", "manufacturer": "manufacturerOfTradeItemPartyName"}  # fmt: skip
        for stored, name in names.items():
            if product.attributes.get(stored):
                attributes[name] = product.attributes[stored]
        if "additionalTradeItemIdentification" in attributes:
            attributes["additionalTradeItemIdentificationTypeCode"] = "US_FDA_NDC"
        elements.append(
            f"<VocabularyElement id={quoteattr(pattern)}>"
            + "".join(f'<attribute id="urn:epcglobal:cbv:mda#{k}">{escape(v)}</attribute>' for k, v in attributes.items() if v)
            + "</VocabularyElement>"
        )
    if not elements:
        return ""
    return (
        '<extension><EPCISMasterData><VocabularyList><Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass">'
        "<VocabularyElementList>" + "".join(elements) + "</VocabularyElementList></Vocabulary></VocabularyList>"
        "</EPCISMasterData></extension>"
    )


def document(
    partner: Partner, shipped: list[dict[str, Any]], packing: list[dict[str, Any]], commissioning: list[dict[str, Any]], master: str
) -> bytes:
    writer = Writer(partner)
    created = utc_z_ms(dt.datetime.now(dt.UTC))
    receiver = next(
        (d["destination"].rsplit("/", 1)[-1] for e in shipped for d in e.get("destinationList", ()) if d["type"] in ("owning_party", "location")),
        "",
    )
    sender = partner.glns[0] if partner.glns else ""
    header = (
        "<sbdh:StandardBusinessDocumentHeader><sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>"
        f'<sbdh:Sender><sbdh:Identifier Authority="GS1">{sender}</sbdh:Identifier></sbdh:Sender>'
        f'<sbdh:Receiver><sbdh:Identifier Authority="GS1">{receiver}</sbdh:Identifier></sbdh:Receiver>'
        "<sbdh:DocumentIdentification><sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>1.0</sbdh:TypeVersion>"
        f"<sbdh:InstanceIdentifier>{uuid.uuid4()}</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>"
        f"<sbdh:CreationDateAndTime>{created}</sbdh:CreationDateAndTime></sbdh:DocumentIdentification>"
        "</sbdh:StandardBusinessDocumentHeader>"
        + master
        + "<gs1ushc:dscsaTransactionStatement><gs1ushc:affirmTransactionStatement>true</gs1ushc:affirmTransactionStatement>"
        f"<gs1ushc:legalNotice>{escape(STATEMENT)}</gs1ushc:legalNotice></gs1ushc:dscsaTransactionStatement>"
    )
    body = "".join(writer.event(e) for e in [*commissioning, *packing, *shipped])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" '
        'xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader" '
        f'xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns" schemaVersion="1.2" creationDate="{created}">'
        f"<EPCISHeader>{header}</EPCISHeader><EPCISBody><EventList>{body}</EventList></EPCISBody></epcis:EPCISDocument>\n"
    ).encode()
