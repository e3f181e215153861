"""A DSCSA document received from a seller: ``POST /v1/shipments/received``.

The buyer posts the EPCIS document its seller sent it (the seller's ``GET /v1/shipments/{id}/epcis``
on another verinet network, or any GS1 US guideline document): EPCIS 1.2 or 2.0 XML, or 2.0
JSON. Its events are the seller's, at the seller's locations, so they are read by the capture
reader without the rule that locations be the caller's, and checked here instead:

- the document ships something (at least one shipping event), and every shipping event is
  addressed to the caller: one of its GLNs is among the destinations;
- every other event is the commissioning or packing of what those shipping events ship (a case
  or pallet counts with everything the document packed into it): no event about other units.

recall-status then receives the units hosted on this network into the caller's custody (only if
their shipment to the caller is recorded here) and keeps the document as the caller's inbound
record for the others (``verinet.recall_status.received_documents``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import ijson
from aiohttp import web

from verinet.epc import Gln, describe_container
from verinet.errors import Forbidden, InvalidInput, VerinetError
from verinet.gateway.api import json_response
from verinet.gateway.app_keys import BODY_LIMITS, CLIENTS
from verinet.gateway.epcis import Reader
from verinet.gateway.epcis_capture import JSON_TYPES, document_body, refused_response
from verinet.gateway.epcis_master_data import dscsa_notes, event_notes
from verinet.gateway.epcis_stream import CountingReader, json_events
from verinet.gateway.epcis_xml import XML_TYPES, XmlDocument, xml_events
from verinet.gateway.inputs import read_body
from verinet.gateway.jsonscan import JsonScanner
from verinet.gateway.lms import caller_message
from verinet.gateway.problems import problem, problem_from_error
from verinet.gateway.routing import RouteTable
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb

__all__ = ["record_received", "shipped_to"]

routes = RouteTable()

RECEIVING_ROLES = ("manufacturer", "wholesaler", "dispenser")
#: A document sent for one shipment: far more than any real one, small enough to hold whole.
MAX_RECEIVED_EVENTS = 20_000
MAX_RECEIVED_BYTES = 64 * 1024**2
RECORD_RPC_SECONDS = 60.0
HISTORY_STEPS = ("commissioning", "packing", "shipping")


class ReceivedReader(Reader):
    """Reads the seller's events: its locations and parties are not the caller's, and its
    commissioning is history, not the caller's commissioning."""

    def _own_location(self, value: str, where: str) -> Gln:
        return self._location(value, where)

    def _parties(self, raw: dict[str, Any], name: str, member: str, step: str) -> list[rs_pb.CustodyParty]:
        return super()._parties(raw, name, member, "")

    def _commissioning(self, raw: dict[str, Any], units: list[str]) -> tuple[str, str]:
        return self._lot_and_expiry(raw)


def _step(event: rs_pb.CustodyEvent) -> str:
    return "packing" if event.type == "AggregationEvent" and event.action == "ADD" else event.biz_step


def shipped_to(partner: Partner, events: list[rs_pb.CustodyEvent]) -> tuple[str, str, list[str]]:
    """(reference, receiver GLN, units) of the document's shipment to ``partner``; raises
    when the document is not addressed to it or holds events about anything else."""
    mine = set(partner.glns)
    shipping = [e for e in events if _step(e) == "shipping"]
    if not shipping:
        raise InvalidInput(
            "The document has no shipping event: a received document ships units to you.", code="received.no_shipping"
        )
    receiver = ""
    for event in shipping:
        addressed = [p.gln for p in event.destinations]
        if not mine.intersection(addressed):
            raise Forbidden(
                f"Shipping event {event.index} is addressed to {', '.join(dict.fromkeys(addressed)) or 'nobody (no destinationList)'}, "
                f"none of them one of your GLNs ({', '.join(partner.glns) or 'none'}): only the buyer a shipment is "
                "addressed to records it.",
                code="received.not_addressed",
                field=f"epcisBody.eventList[{event.index}].destinationList",
            )
        if not receiver:
            by_type = sorted((p.type != "location", p.gln) for p in event.destinations if p.gln in mine)
            receiver = by_type[0][1]
    units: dict[str, None] = {}
    containers: set[str] = set()
    for event in shipping:
        units.update(dict.fromkeys(event.units))
        containers.update(event.containers)
    inside: dict[str, list[rs_pb.CustodyEvent]] = {}
    for event in events:
        if _step(event) == "packing" and event.parent:
            inside.setdefault(event.parent, []).append(event)
    pending = list(containers)
    while pending:
        for packing in inside.pop(pending.pop(), []):
            units.update(dict.fromkeys(packing.units))
            fresh = set(packing.containers) - containers
            containers.update(fresh)
            pending.extend(fresh)
    for event in events:
        step = _step(event)
        if step not in HISTORY_STEPS:
            raise InvalidInput(
                f"Event {event.index} is {step or event.type!r}: a received document holds the commissioning, "
                "packing and shipping of what it ships, nothing else.",
                code="received.event",
                field=f"epcisBody.eventList[{event.index}]",
            )
        named = [*(_unit(u) for u in event.units if u not in units), *(describe_container(c) for c in event.containers if c not in containers)]
        if step == "packing" and event.parent not in containers:
            named.insert(0, describe_container(event.parent))
        if named:
            raise InvalidInput(
                f"Event {event.index} ({step}) is about {named[0]}, which no shipping event of the document "
                "ships to you: a received document holds only the history of what it ships.",
                code="received.not_shipped",
                field=f"epcisBody.eventList[{event.index}]",
            )
    return reference_of(shipping, events), receiver, list(units)


def _unit(key: str) -> str:
    return f"serial {key[14:]!r} of GTIN {key[:14]}"


def reference_of(shipping: list[rs_pb.CustodyEvent], events: list[rs_pb.CustodyEvent]) -> str:
    """The shipment's desadv, else its po, else a digest of the document's events."""
    for kind in ("desadv", "po"):
        for event in shipping:
            for transaction in event.biz_transactions:
                if transaction.startswith(kind + " "):
                    return transaction
    digest = hashlib.sha256(b"".join(e.event_hash for e in events)).hexdigest()
    return f"document {digest[:32]}"


@routes.route(
    "POST",
    "/v1/shipments/received",
    roles=RECEIVING_ROLES,
    tag="Custody",
    summary="Record the DSCSA document (EPCIS XML or JSON) a seller sent you: custody of units hosted here, your inbound record of the others",
    request_body=document_body(*XML_TYPES, "application/ld+json", "application/json"),
    responses={
        "200": "Recorded (or recorded before: duplicate): units, received into your custody, kept in your inbound record",
        "400": "Not a document of a shipment, or events about other units",
        "403": "A shipping event not addressed to one of your GLNs",
        "409": "Units hosted here whose shipment to you is not recorded here, or that differ from their commissioning here",
    },
)
async def record_received(request: web.Request, partner: Partner) -> web.StreamResponse:
    if request.content_type not in (*XML_TYPES, *JSON_TYPES):
        await read_body(request)  # scanned as any body is: a hostile one is refused for what it is
        return problem(
            415, "body.media_type", f"Expected application/xml, text/xml, application/ld+json or application/json, got {request.content_type!r}."
        )
    xml = XmlDocument() if request.content_type in XML_TYPES else None
    scanner = None if xml is not None else JsonScanner(request.app[BODY_LIMITS], unit_depth=4, max_bytes=MAX_RECEIVED_BYTES)
    body = CountingReader(request.content, scanner, max_bytes=MAX_RECEIVED_BYTES)
    reader = ReceivedReader(partner)
    events: list[rs_pb.CustodyEvent] = []
    try:
        source = xml_events(body, xml) if xml is not None else json_events(body, reader)
        async for index, raw in source:
            if index >= MAX_RECEIVED_EVENTS:
                raise InvalidInput(f"A received document may hold at most {MAX_RECEIVED_EVENTS:,} events.", code="received.too_many_events")
            event = reader.read(index, raw)
            if event is not None:
                if event.biz_step == "shipping":
                    event.notes.extend(event_notes(raw, dscsa_notes(xml)))
                events.append(event)
        if xml is None:
            reader.check_header()
    except VerinetError as error:
        return problem_from_error(error)
    except ijson.JSONError as error:
        return problem_from_error(InvalidInput(f"Failed to parse the body as JSON after {body.read_bytes} bytes: {error}.", code="body.json"))
    if reader.failed:
        return refused_response(reader, None)
    reference, receiver, units = shipped_to(partner, events)
    clients = request.app[CLIENTS]
    answer = await clients.ask(
        clients.recall_status.RecordReceivedDocument,
        rs_pb.RecordReceivedDocumentRequest(
            caller=caller_message(partner), reference=reference, receiver_gln=receiver, events=events, units=units,
            received_at=time.time(),
        ),
        timeout=RECORD_RPC_SECONDS,
    )  # fmt: skip
    return json_response(
        {
            "reference": reference,
            "duplicate": answer.duplicate,
            "units": answer.units,
            "received": answer.received,
            "recorded": answer.recorded,
            "events": answer.events,
        }
    )
